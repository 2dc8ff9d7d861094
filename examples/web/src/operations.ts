// Every GraphQL document the app sends; `npm run codegen` types them into `src/gql/`.
import { graphql } from "./gql";

export const TodoFields = graphql(`
  fragment TodoFields on Todo {
    id
    title
    completed
    createdAt
    version
    clientId
  }
`);

export const Login = graphql(`
  mutation Login($email: String!, $password: String!) {
    login(input: { email: $email, password: $password, refreshTokenCookie: true }) {
      accessToken
      expiresAt
      user {
        id
        email
      }
    }
  }
`);

export const Signup = graphql(`
  mutation Signup($email: String!, $password: String!) {
    signup(input: { email: $email, password: $password, refreshTokenCookie: true }) {
      accessToken
      expiresAt
      user {
        id
        email
      }
    }
  }
`);

export const Refresh = graphql(`
  mutation Refresh {
    refreshSession {
      accessToken
      expiresAt
      user {
        id
        email
      }
    }
  }
`);

export const Logout = graphql(`
  mutation Logout($scope: LogoutScope!) {
    logout(scope: $scope)
  }
`);

export const Sessions = graphql(`
  query Sessions {
    me {
      id
      sessions {
        id
        createdAt
        lastUsedAt
        userAgent
        ip
        current
      }
    }
  }
`);

export const RevokeSession = graphql(`
  mutation RevokeSession($id: ID!) {
    revokeSession(id: $id)
  }
`);

export const Changes = graphql(`
  query Changes($since: String) {
    changes(since: $since, first: 500) {
      upserted {
        ...TodoFields
      }
      deletedIds
      cursor
      hasMore
      fullResync
    }
  }
`);

export const TodoEvents = graphql(`
  subscription TodoEvents($since: String) {
    todoEvents(since: $since) {
      kind
      todoId
      cursor
      todo {
        ...TodoFields
      }
    }
  }
`);

export const TodoById = graphql(`
  query TodoById($id: ID!) {
    todo(id: $id) {
      ...TodoFields
    }
  }
`);

export const CreateTodo = graphql(`
  mutation CreateTodo($input: CreateTodoInput!) {
    createTodo(input: $input) {
      ...TodoFields
    }
  }
`);

export const UpdateTodo = graphql(`
  mutation UpdateTodo($id: ID!, $input: UpdateTodoInput!, $expectedVersion: Int) {
    updateTodo(id: $id, input: $input, expectedVersion: $expectedVersion) {
      ...TodoFields
    }
  }
`);

export const DeleteTodo = graphql(`
  mutation DeleteTodo($id: ID!) {
    deleteTodo(id: $id)
  }
`);

export const SetAllCompleted = graphql(`
  mutation SetAllCompleted($completed: Boolean!) {
    setAllTodosCompleted(completed: $completed) {
      todos {
        ...TodoFields
      }
    }
  }
`);

export const ClearCompleted = graphql(`
  mutation ClearCompleted {
    clearCompletedTodos {
      deletedIds
    }
  }
`);
