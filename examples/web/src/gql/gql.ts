/* eslint-disable */
import * as types from './graphql';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  fragment TodoFields on Todo {\n    id\n    title\n    completed\n    createdAt\n    version\n    clientId\n  }\n": typeof types.TodoFieldsFragmentDoc,
    "\n  mutation Login($email: String!, $password: String!) {\n    login(input: { email: $email, password: $password, refreshTokenCookie: true }) {\n      accessToken\n      expiresAt\n      user {\n        id\n        email\n      }\n    }\n  }\n": typeof types.LoginDocument,
    "\n  mutation Signup($email: String!, $password: String!) {\n    signup(input: { email: $email, password: $password, refreshTokenCookie: true }) {\n      accessToken\n      expiresAt\n      user {\n        id\n        email\n      }\n    }\n  }\n": typeof types.SignupDocument,
    "\n  mutation Refresh {\n    refreshSession {\n      accessToken\n      expiresAt\n      user {\n        id\n        email\n      }\n    }\n  }\n": typeof types.RefreshDocument,
    "\n  mutation Logout($scope: LogoutScope!) {\n    logout(scope: $scope)\n  }\n": typeof types.LogoutDocument,
    "\n  query Sessions {\n    me {\n      id\n      sessions {\n        id\n        createdAt\n        lastUsedAt\n        userAgent\n        ip\n        current\n      }\n    }\n  }\n": typeof types.SessionsDocument,
    "\n  mutation RevokeSession($id: ID!) {\n    revokeSession(id: $id)\n  }\n": typeof types.RevokeSessionDocument,
    "\n  query Changes($since: String) {\n    changes(since: $since, first: 500) {\n      upserted {\n        ...TodoFields\n      }\n      deletedIds\n      cursor\n      hasMore\n      fullResync\n    }\n  }\n": typeof types.ChangesDocument,
    "\n  subscription TodoEvents($since: String) {\n    todoEvents(since: $since) {\n      kind\n      todoId\n      cursor\n      todo {\n        ...TodoFields\n      }\n    }\n  }\n": typeof types.TodoEventsDocument,
    "\n  query TodoById($id: ID!) {\n    todo(id: $id) {\n      ...TodoFields\n    }\n  }\n": typeof types.TodoByIdDocument,
    "\n  mutation CreateTodo($input: CreateTodoInput!) {\n    createTodo(input: $input) {\n      ...TodoFields\n    }\n  }\n": typeof types.CreateTodoDocument,
    "\n  mutation UpdateTodo($id: ID!, $input: UpdateTodoInput!, $expectedVersion: Int) {\n    updateTodo(id: $id, input: $input, expectedVersion: $expectedVersion) {\n      ...TodoFields\n    }\n  }\n": typeof types.UpdateTodoDocument,
    "\n  mutation DeleteTodo($id: ID!) {\n    deleteTodo(id: $id)\n  }\n": typeof types.DeleteTodoDocument,
    "\n  mutation SetAllCompleted($completed: Boolean!) {\n    setAllTodosCompleted(completed: $completed) {\n      todos {\n        ...TodoFields\n      }\n    }\n  }\n": typeof types.SetAllCompletedDocument,
    "\n  mutation ClearCompleted {\n    clearCompletedTodos {\n      deletedIds\n    }\n  }\n": typeof types.ClearCompletedDocument,
};
const documents: Documents = {
    "\n  fragment TodoFields on Todo {\n    id\n    title\n    completed\n    createdAt\n    version\n    clientId\n  }\n": types.TodoFieldsFragmentDoc,
    "\n  mutation Login($email: String!, $password: String!) {\n    login(input: { email: $email, password: $password, refreshTokenCookie: true }) {\n      accessToken\n      expiresAt\n      user {\n        id\n        email\n      }\n    }\n  }\n": types.LoginDocument,
    "\n  mutation Signup($email: String!, $password: String!) {\n    signup(input: { email: $email, password: $password, refreshTokenCookie: true }) {\n      accessToken\n      expiresAt\n      user {\n        id\n        email\n      }\n    }\n  }\n": types.SignupDocument,
    "\n  mutation Refresh {\n    refreshSession {\n      accessToken\n      expiresAt\n      user {\n        id\n        email\n      }\n    }\n  }\n": types.RefreshDocument,
    "\n  mutation Logout($scope: LogoutScope!) {\n    logout(scope: $scope)\n  }\n": types.LogoutDocument,
    "\n  query Sessions {\n    me {\n      id\n      sessions {\n        id\n        createdAt\n        lastUsedAt\n        userAgent\n        ip\n        current\n      }\n    }\n  }\n": types.SessionsDocument,
    "\n  mutation RevokeSession($id: ID!) {\n    revokeSession(id: $id)\n  }\n": types.RevokeSessionDocument,
    "\n  query Changes($since: String) {\n    changes(since: $since, first: 500) {\n      upserted {\n        ...TodoFields\n      }\n      deletedIds\n      cursor\n      hasMore\n      fullResync\n    }\n  }\n": types.ChangesDocument,
    "\n  subscription TodoEvents($since: String) {\n    todoEvents(since: $since) {\n      kind\n      todoId\n      cursor\n      todo {\n        ...TodoFields\n      }\n    }\n  }\n": types.TodoEventsDocument,
    "\n  query TodoById($id: ID!) {\n    todo(id: $id) {\n      ...TodoFields\n    }\n  }\n": types.TodoByIdDocument,
    "\n  mutation CreateTodo($input: CreateTodoInput!) {\n    createTodo(input: $input) {\n      ...TodoFields\n    }\n  }\n": types.CreateTodoDocument,
    "\n  mutation UpdateTodo($id: ID!, $input: UpdateTodoInput!, $expectedVersion: Int) {\n    updateTodo(id: $id, input: $input, expectedVersion: $expectedVersion) {\n      ...TodoFields\n    }\n  }\n": types.UpdateTodoDocument,
    "\n  mutation DeleteTodo($id: ID!) {\n    deleteTodo(id: $id)\n  }\n": types.DeleteTodoDocument,
    "\n  mutation SetAllCompleted($completed: Boolean!) {\n    setAllTodosCompleted(completed: $completed) {\n      todos {\n        ...TodoFields\n      }\n    }\n  }\n": types.SetAllCompletedDocument,
    "\n  mutation ClearCompleted {\n    clearCompletedTodos {\n      deletedIds\n    }\n  }\n": types.ClearCompletedDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment TodoFields on Todo {\n    id\n    title\n    completed\n    createdAt\n    version\n    clientId\n  }\n"): (typeof documents)["\n  fragment TodoFields on Todo {\n    id\n    title\n    completed\n    createdAt\n    version\n    clientId\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation Login($email: String!, $password: String!) {\n    login(input: { email: $email, password: $password, refreshTokenCookie: true }) {\n      accessToken\n      expiresAt\n      user {\n        id\n        email\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation Login($email: String!, $password: String!) {\n    login(input: { email: $email, password: $password, refreshTokenCookie: true }) {\n      accessToken\n      expiresAt\n      user {\n        id\n        email\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation Signup($email: String!, $password: String!) {\n    signup(input: { email: $email, password: $password, refreshTokenCookie: true }) {\n      accessToken\n      expiresAt\n      user {\n        id\n        email\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation Signup($email: String!, $password: String!) {\n    signup(input: { email: $email, password: $password, refreshTokenCookie: true }) {\n      accessToken\n      expiresAt\n      user {\n        id\n        email\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation Refresh {\n    refreshSession {\n      accessToken\n      expiresAt\n      user {\n        id\n        email\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation Refresh {\n    refreshSession {\n      accessToken\n      expiresAt\n      user {\n        id\n        email\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation Logout($scope: LogoutScope!) {\n    logout(scope: $scope)\n  }\n"): (typeof documents)["\n  mutation Logout($scope: LogoutScope!) {\n    logout(scope: $scope)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Sessions {\n    me {\n      id\n      sessions {\n        id\n        createdAt\n        lastUsedAt\n        userAgent\n        ip\n        current\n      }\n    }\n  }\n"): (typeof documents)["\n  query Sessions {\n    me {\n      id\n      sessions {\n        id\n        createdAt\n        lastUsedAt\n        userAgent\n        ip\n        current\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RevokeSession($id: ID!) {\n    revokeSession(id: $id)\n  }\n"): (typeof documents)["\n  mutation RevokeSession($id: ID!) {\n    revokeSession(id: $id)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Changes($since: String) {\n    changes(since: $since, first: 500) {\n      upserted {\n        ...TodoFields\n      }\n      deletedIds\n      cursor\n      hasMore\n      fullResync\n    }\n  }\n"): (typeof documents)["\n  query Changes($since: String) {\n    changes(since: $since, first: 500) {\n      upserted {\n        ...TodoFields\n      }\n      deletedIds\n      cursor\n      hasMore\n      fullResync\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription TodoEvents($since: String) {\n    todoEvents(since: $since) {\n      kind\n      todoId\n      cursor\n      todo {\n        ...TodoFields\n      }\n    }\n  }\n"): (typeof documents)["\n  subscription TodoEvents($since: String) {\n    todoEvents(since: $since) {\n      kind\n      todoId\n      cursor\n      todo {\n        ...TodoFields\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query TodoById($id: ID!) {\n    todo(id: $id) {\n      ...TodoFields\n    }\n  }\n"): (typeof documents)["\n  query TodoById($id: ID!) {\n    todo(id: $id) {\n      ...TodoFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateTodo($input: CreateTodoInput!) {\n    createTodo(input: $input) {\n      ...TodoFields\n    }\n  }\n"): (typeof documents)["\n  mutation CreateTodo($input: CreateTodoInput!) {\n    createTodo(input: $input) {\n      ...TodoFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UpdateTodo($id: ID!, $input: UpdateTodoInput!, $expectedVersion: Int) {\n    updateTodo(id: $id, input: $input, expectedVersion: $expectedVersion) {\n      ...TodoFields\n    }\n  }\n"): (typeof documents)["\n  mutation UpdateTodo($id: ID!, $input: UpdateTodoInput!, $expectedVersion: Int) {\n    updateTodo(id: $id, input: $input, expectedVersion: $expectedVersion) {\n      ...TodoFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation DeleteTodo($id: ID!) {\n    deleteTodo(id: $id)\n  }\n"): (typeof documents)["\n  mutation DeleteTodo($id: ID!) {\n    deleteTodo(id: $id)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SetAllCompleted($completed: Boolean!) {\n    setAllTodosCompleted(completed: $completed) {\n      todos {\n        ...TodoFields\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation SetAllCompleted($completed: Boolean!) {\n    setAllTodosCompleted(completed: $completed) {\n      todos {\n        ...TodoFields\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ClearCompleted {\n    clearCompletedTodos {\n      deletedIds\n    }\n  }\n"): (typeof documents)["\n  mutation ClearCompleted {\n    clearCompletedTodos {\n      deletedIds\n    }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;