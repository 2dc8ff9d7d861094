//! Untrusted text: a NUL or another C0 control in any string argument is `BAD_USER_INPUT`
//! naming the argument, on both backends, and nothing is written; passwords made of the
//! account's own email or name are refused.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, assert_bad_input, assert_code, id};

const CREATE: &str = "mutation($input: CreateTodoInput!) { createTodo(input: $input) { id } }";
const UPDATE: &str = "mutation($id: ID!, $input: UpdateTodoInput!) { \
                      updateTodo(id: $id, input: $input) { id } }";
const SIGNUP: &str =
    "mutation($input: SignupInput!) { signup(input: $input) { accessToken refreshToken } }";
const LOGIN: &str = "mutation($input: LoginInput!) { login(input: $input) { accessToken } }";
const CHANGE: &str = "mutation($current: String!, $new: String!) { \
                      changePassword(currentPassword: $current, newPassword: $new) { accessToken } }";
const DELETE_ACCOUNT: &str = "mutation($password: String!) { deleteAccount(password: $password) }";
const REFRESH: &str =
    "mutation($token: String!) { refreshSession(refreshToken: $token) { accessToken } }";

/// The controls every test sends: NUL, and ESC as one of the others.
const CONTROLS: [&str; 2] = ["\u{0}", "\u{1b}"];

async fn refused(app: &TestApp, token: Option<&str>, query: &str, vars: Value, field: &str) {
    let error = app.gql_err(token, query, vars).await;
    assert_bad_input(&error, field);
}

backend_tests!(controls_in_todo_text_are_refused, |app| {
    let ann = app.user("ann").await;
    let token = Some(ann.as_str());
    for c in CONTROLS {
        let title = format!("milk{c}");
        refused(
            app,
            token,
            CREATE,
            json!({ "input": { "title": title } }),
            "input.title",
        )
        .await;
        let input = json!({ "title": "milk", "notes": format!("a{c}b") });
        refused(app, token, CREATE, json!({ "input": input }), "input.notes").await;
    }
    for white in ["\t", "\n", "\r"] {
        let input = json!({ "title": format!("a{white}b") });
        refused(app, token, CREATE, json!({ "input": input }), "input.title").await;
    }
    let input = json!({ "title": "milk", "notes": "a\r\nb" });
    refused(app, token, CREATE, json!({ "input": input }), "input.notes").await;
    assert!(app.all_todos(&ann).await.is_empty());

    let input = json!({ "title": "milk", "notes": "one\n\ttwo" });
    let data = app.gql_ok(token, CREATE, json!({ "input": input })).await;
    let id = id(&data["createTodo"]).to_owned();
    for c in CONTROLS {
        let vars = json!({ "id": id, "input": { "title": format!("x{c}") } });
        refused(app, token, UPDATE, vars, "input.title").await;
        let vars = json!({ "id": id, "input": { "notes": format!("x{c}") } });
        refused(app, token, UPDATE, vars, "input.notes").await;
    }
    let stored = app.all_todos(&ann).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["title"], "milk");
    assert_eq!(stored[0]["notes"], "one\n\ttwo");
    assert_eq!(stored[0]["version"], 1);
});

backend_tests!(controls_in_queries_ids_and_cursors_are_refused, |app| {
    let token = app.user("ann").await;
    let token = Some(token.as_str());
    app.gql_ok(token, CREATE, json!({ "input": { "title": "milk" } }))
        .await;
    let search = "query($s: String) { todos(filter: { search: $s }) { totalCount } }";
    for c in CONTROLS {
        refused(
            app,
            token,
            search,
            json!({ "s": format!("mi{c}") }),
            "filter.search",
        )
        .await;
    }
    let by_id = "query($id: ID!) { todo(id: $id) { id } }";
    refused(app, token, by_id, json!({ "id": "VG9kbzo\u{0}" }), "id").await;
    let node = "query($id: ID!) { node(id: $id) { id } }";
    refused(app, token, node, json!({ "id": "\u{0}" }), "id").await;
    let delete = "mutation($id: ID!) { deleteTodo(id: $id) }";
    refused(app, token, delete, json!({ "id": "\u{0}" }), "id").await;
    let revoke = "mutation($id: ID!) { revokeSession(id: $id) }";
    refused(app, token, revoke, json!({ "id": "\u{0}" }), "id").await;

    // A cursor is base64 of JSON, so a client can put a NUL inside one.
    let page = "query($after: String) { todos(first: 1, after: $after, \
                orderBy: { field: TITLE, direction: ASC }) { pageInfo { endCursor } } }";
    let data = app.gql_ok(token, page, json!({})).await;
    let cursor = data["todos"]["pageInfo"]["endCursor"]
        .as_str()
        .expect("a cursor");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).expect("a base64url cursor");
    let decoded: Value = serde_json::from_slice(&bytes).expect("a JSON cursor");
    assert!(decoded["p"]["key"]["Text"].is_string(), "{decoded}");
    for (pointer, value) in [("/p/key/Text", "mi\u{0}"), ("/p/id", "\u{0}")] {
        let mut forged = decoded.clone();
        let slot = forged.pointer_mut(pointer);
        *slot.unwrap_or_else(|| panic!("{pointer} in {decoded}")) = json!(value);
        let forged = URL_SAFE_NO_PAD.encode(forged.to_string());
        refused(app, token, page, json!({ "after": forged }), "after").await;
    }
    refused(app, token, page, json!({ "after": "\u{0}" }), "after").await;
});

backend_tests!(controls_in_account_text_are_refused, |app| {
    for c in CONTROLS {
        let tries = [
            (
                json!({ "email": format!("ann{c}@example.com"), "password": PASSWORD }),
                "input.email",
            ),
            (
                json!({ "email": "ann@example.com", "password": format!("{PASSWORD}{c}") }),
                "input.password",
            ),
            (
                json!({ "email": "ann@example.com", "password": PASSWORD, "displayName": format!("Ann{c}") }),
                "input.displayName",
            ),
        ];
        for (input, field) in tries {
            refused(app, None, SIGNUP, json!({ "input": input }), field).await;
        }
    }
    // No account was created by any of them.
    let login = json!({ "input": { "email": "ann@example.com", "password": PASSWORD } });
    assert_code(
        &app.gql_err(None, LOGIN, login.clone()).await,
        "INVALID_CREDENTIALS",
    );

    let data = app
        .gql_ok(
            None,
            SIGNUP,
            json!({ "input": { "email": "ann@example.com", "password": PASSWORD } }),
        )
        .await;
    let token = data["signup"]["accessToken"].as_str();
    let token = Some(token.expect("an access token"));
    for c in CONTROLS {
        let input = json!({ "email": format!("ann@example.com{c}"), "password": PASSWORD });
        refused(app, None, LOGIN, json!({ "input": input }), "input.email").await;
        let input = json!({ "email": "ann@example.com", "password": format!("{c}{PASSWORD}") });
        refused(
            app,
            None,
            LOGIN,
            json!({ "input": input }),
            "input.password",
        )
        .await;
        let vars =
            json!({ "current": format!("{PASSWORD}{c}"), "new": "purple elephants dance at noon" });
        refused(app, token, CHANGE, vars, "currentPassword").await;
        let vars =
            json!({ "current": PASSWORD, "new": format!("purple elephants{c} dance at noon") });
        refused(app, token, CHANGE, vars, "newPassword").await;
        refused(
            app,
            token,
            DELETE_ACCOUNT,
            json!({ "password": format!("{PASSWORD}{c}") }),
            "password",
        )
        .await;
        refused(
            app,
            None,
            REFRESH,
            json!({ "token": format!("abc{c}") }),
            "refreshToken",
        )
        .await;
    }
    // The password is unchanged and the account is still there.
    app.gql_ok(None, LOGIN, login).await;
    app.gql_ok(token, "{ me { id } }", json!({})).await;
});

backend_tests!(passwords_made_of_the_account_are_refused, |app| {
    let tries = [
        (
            "annabelle1987@example.io",
            "1987annabelle",
            "your email address",
        ),
        (
            "ann@example.com",
            "ann@example.comann@example.com",
            "your email address",
        ),
        ("lee@example.com", "Anna Maria Lindqvist", "your name"),
        ("lee@example.com", "lindqvistannamaria", "your name"),
    ];
    for (email, password, why) in tries {
        let input =
            json!({ "email": email, "password": password, "displayName": "Anna Maria Lindqvist" });
        let error = app.gql_err(None, SIGNUP, json!({ "input": input })).await;
        assert_bad_input(&error, "input.password");
        assert!(
            error["message"].as_str().is_some_and(|m| m.contains(why)),
            "{error}"
        );
    }
    let input = json!({ "email": "ann@example.com", "password": PASSWORD, "displayName": "Ann" });
    let data = app.gql_ok(None, SIGNUP, json!({ "input": input })).await;
    let token = data["signup"]["accessToken"]
        .as_str()
        .expect("an access token")
        .to_owned();
    let vars = json!({ "current": PASSWORD, "new": "example staple horse battery" });
    let error = app.gql_err(Some(&token), CHANGE, vars).await;
    assert_bad_input(&error, "newPassword");
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("email")),
        "{error}"
    );
});
