//! Signup, login and `me`: what a user gets back, and every input rule.

use chrono::Utc;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, assert_bad_input, assert_code, assert_no_leak, time};

const SIGNUP: &str = "mutation($input: SignupInput!) { signup(input: $input) { \
    accessToken tokenType expiresAt user { id email displayName createdAt } } }";
const LOGIN: &str = "mutation($input: LoginInput!) { login(input: $input) { \
    accessToken tokenType expiresAt user { id email displayName } } }";
const ME: &str = "{ me { id email displayName todoCounts { all active completed } } }";

async fn signup_err(app: &TestApp, input: Value) -> Value {
    app.gql_err(None, SIGNUP, json!({ "input": input })).await
}

async fn login(app: &TestApp, email: &str, password: &str) -> (StatusCode, Value) {
    let input = json!({ "input": { "email": email, "password": password } });
    app.gql(None, LOGIN, input).await
}

async fn login_ok(app: &TestApp, email: &str, password: &str) -> Value {
    let input = json!({ "input": { "email": email, "password": password } });
    app.gql_ok(None, LOGIN, input).await["login"].clone()
}

async fn login_err(app: &TestApp, email: &str, password: &str) -> Value {
    let input = json!({ "input": { "email": email, "password": password } });
    app.gql_err(None, LOGIN, input).await
}

backend_tests!(
    signup_returns_a_bearer_token_and_the_normalised_user,
    |app| {
        let input = json!({ "email": "  Alice.Smith@Example.COM ", "password": PASSWORD,
                        "displayName": "Alice" });
        let data = app.gql_ok(None, SIGNUP, json!({ "input": input })).await;
        let payload = &data["signup"];
        assert_eq!(payload["tokenType"], "Bearer");
        let token = payload["accessToken"].as_str().expect("an access token");
        assert_eq!(token.split('.').count(), 3, "a JWT: {token}");
        let left = time(&payload["expiresAt"]) - Utc::now();
        assert!(
            left > chrono::Duration::minutes(14) && left <= chrono::Duration::minutes(16),
            "the default access-token TTL is 15m, expiresAt is {left} away"
        );
        let user = &payload["user"];
        assert_eq!(user["email"], "alice.smith@example.com");
        assert_eq!(user["displayName"], "Alice");
        let id = user["id"].as_str().expect("a user id");
        assert!(
            !id.is_empty() && id.parse::<i64>().is_err(),
            "an opaque id: {id}"
        );
        time(&user["createdAt"]);

        let me = app.gql_ok(Some(token), ME, json!({})).await;
        assert_eq!(me["me"]["id"], id);
        assert_eq!(me["me"]["email"], "alice.smith@example.com");
        assert_eq!(me["me"]["displayName"], "Alice");
        assert_eq!(
            me["me"]["todoCounts"],
            json!({ "all": 0, "active": 0, "completed": 0 })
        );
    }
);

backend_tests!(display_name_is_optional, |app| {
    let input = json!({ "email": "nodisplay@example.com", "password": PASSWORD });
    let data = app.gql_ok(None, SIGNUP, json!({ "input": input })).await;
    assert_eq!(data["signup"]["user"]["displayName"], Value::Null);
});

backend_tests!(email_taken_is_case_and_space_insensitive, |app| {
    app.signup("bob@example.com", PASSWORD).await;
    for email in ["bob@example.com", "BOB@Example.com", "  Bob@example.COM  "] {
        let input = json!({ "email": email, "password": "another password" });
        assert_code(&signup_err(app, input).await, "EMAIL_TAKEN");
    }
});

backend_tests!(login_accepts_the_right_password_in_any_email_case, |app| {
    let id = app.signup("carol@example.com", PASSWORD).await.user_id;
    for email in ["carol@example.com", "  CAROL@Example.Com "] {
        let payload = login_ok(app, email, PASSWORD).await;
        assert_eq!(payload["tokenType"], "Bearer");
        assert_eq!(payload["user"]["id"], id.as_str());
        assert_eq!(payload["user"]["email"], "carol@example.com");
        let token = payload["accessToken"].as_str().expect("an access token");
        let me = app.gql_ok(Some(token), ME, json!({})).await;
        assert_eq!(me["me"]["id"], id.as_str());
    }
});

backend_tests!(
    wrong_password_and_unknown_email_are_indistinguishable,
    |app| {
        app.signup("dave@example.com", PASSWORD).await;
        let (wrong_status, wrong) = login(app, "dave@example.com", "not the password").await;
        let (unknown_status, unknown) = login(app, "nobody@example.com", PASSWORD).await;
        assert_no_leak(&wrong);
        assert_eq!(wrong_status, StatusCode::OK, "{wrong}");
        assert_eq!(wrong["data"], Value::Null, "{wrong}");
        assert_code(&wrong["errors"][0], "INVALID_CREDENTIALS");
        assert_eq!(wrong_status, unknown_status);
        assert_eq!(wrong, unknown, "the two failures must look the same");
    }
);

backend_tests!(me_without_a_token_is_unauthenticated_in_a_200, |app| {
    let (status, body) = app.gql(None, ME, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"], Value::Null, "{body}");
    assert_code(&body["errors"][0], "UNAUTHENTICATED");
    assert_no_leak(&body);
});

backend_tests!(me_counts_the_viewers_todos, |app| {
    let token = app.user("erin").await;
    for (title, completed) in [("a", false), ("b", true), ("c", false)] {
        app.create_todo(&token, json!({ "title": title, "completed": completed }))
            .await;
    }
    assert_eq!(app.counts(&token).await, (3, 2, 1));
});

backend_tests!(bad_email_syntax_is_refused, |app| {
    for email in [
        "",
        "   ",
        "not-an-email",
        "a@",
        "@example.com",
        "a b@example.com",
        "a@@b.com",
    ] {
        let input = json!({ "email": email, "password": PASSWORD });
        assert_bad_input(&signup_err(app, input).await, "input.email");
    }
});

/// A password of `len` characters drawn pseudo-randomly from `alphabet`: strong enough for
/// any strength rule, so only the length rule decides.
fn random_password(len: usize, alphabet: &[char]) -> String {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            alphabet[(state >> 33) as usize % alphabet.len()]
        })
        .collect()
}

fn ascii() -> Vec<char> {
    ('!'..='~').collect()
}

/// Two-byte UTF-8 characters: `à` to `ÿ`.
fn accented() -> Vec<char> {
    ('\u{e0}'..='\u{ff}').collect()
}

backend_tests!(password_length_limits, |app| {
    let input = json!({ "email": "short@example.com", "password": random_password(7, &ascii()) });
    assert_bad_input(&signup_err(app, input).await, "input.password");
    let input = json!({ "email": "long@example.com", "password": random_password(129, &ascii()) });
    assert_bad_input(&signup_err(app, input).await, "input.password");

    let eight = random_password(8, &ascii());
    app.signup("eight@example.com", &eight).await;
    login_ok(app, "eight@example.com", &eight).await;
});

backend_tests!(password_of_128_chars_is_kept_whole, |app| {
    let password = random_password(128, &ascii());
    app.signup("max@example.com", &password).await;
    login_ok(app, "max@example.com", &password).await;
    for prefix in [127, 72, 64] {
        let error = login_err(app, "max@example.com", &password[..prefix]).await;
        assert_code(&error, "INVALID_CREDENTIALS");
    }
});

backend_tests!(password_length_counts_characters_not_bytes, |app| {
    // 128 two-byte characters (256 bytes) are within the rule; 7 of them are not.
    let password = random_password(128, &accented());
    assert_eq!(password.len(), 256);
    app.signup("accents@example.com", &password).await;
    login_ok(app, "accents@example.com", &password).await;
    let input = json!({ "email": "few@example.com", "password": random_password(7, &accented()) });
    assert_bad_input(&signup_err(app, input).await, "input.password");
});

backend_tests!(display_name_at_most_100_chars, |app| {
    let input = json!({ "email": "n101@example.com", "password": PASSWORD,
                        "displayName": "n".repeat(101) });
    assert_bad_input(&signup_err(app, input).await, "input.displayName");
    let input = json!({ "email": "n100@example.com", "password": PASSWORD,
                        "displayName": "ñ".repeat(100) });
    let data = app.gql_ok(None, SIGNUP, json!({ "input": input })).await;
    assert_eq!(data["signup"]["user"]["displayName"], "ñ".repeat(100));
});

backend_tests!(refused_signups_create_no_account, |app| {
    let input = json!({ "email": "refused@example.com", "password": "short" });
    assert_bad_input(&signup_err(app, input).await, "input.password");
    // The email is still free: no account was made.
    assert_code(
        &login_err(app, "refused@example.com", PASSWORD).await,
        "INVALID_CREDENTIALS",
    );
    app.signup("refused@example.com", PASSWORD).await;
});
