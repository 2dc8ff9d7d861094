//! Browser sessions: the refresh token in the HttpOnly `__Host-refresh_token` cookie. Its
//! attributes, its rotation and reuse detection, when it is cleared and renewed, that it is
//! never an access token, the CSRF rules for requests carrying it (origin, JSON bodies,
//! CORS credentials), its absence over WebSocket, and batches setting it more than once.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{
    AUTH_FIELDS, PASSWORD, assert_bad_input, assert_code, assert_reason, claims,
    cookies::{COOKIE, refresh_query},
};

const EMAIL: &str = "ann@example.com";

backend_tests!(
    a_cookie_session_keeps_the_refresh_token_out_of_the_body,
    ["--refresh-token-ttl", "2h"],
    |app| {
        for signup in [true, false] {
            let response = app.cookie_login(EMAIL, PASSWORD, signup).await;
            let field = if signup { "signup" } else { "login" };
            let payload = response.data()[field].clone();
            assert_eq!(payload["refreshToken"], Value::Null, "{payload}");
            assert!(payload["refreshTokenExpiresAt"].is_string(), "{payload}");
            let cookies = response.set_cookies();
            assert_eq!(cookies.len(), 1, "{cookies:?}");
            assert_eq!(cookies[0].name, COOKIE);
            assert!(cookies[0].value.len() >= 32, "an unguessable value");
            assert_eq!(
                cookies[0].attributes,
                [
                    "HttpOnly",
                    "Max-Age=7200",
                    "Path=/",
                    "SameSite=Strict",
                    "Secure"
                ],
                "exactly these attributes: no Domain, the refresh token's lifetime"
            );
            let access = payload["accessToken"].as_str().expect("an access token");
            app.assert_works(access).await;
        }
        // Without the flag (or with false), the token is in the body and no cookie is set.
        let query = format!("mutation($i: LoginInput!) {{ login(input: $i) {{ {AUTH_FIELDS} }} }}");
        for input in [
            json!({ "email": EMAIL, "password": PASSWORD }),
            json!({ "email": EMAIL, "password": PASSWORD, "refreshTokenCookie": false }),
        ] {
            let response = app
                .request(&query)
                .variables(json!({ "i": input }))
                .send()
                .await;
            assert!(response.data()["login"]["refreshToken"].is_string());
            response.assert_no_cookie();
        }
    }
);

backend_tests!(
    refresh_without_an_argument_rotates_the_cookie_and_reuse_revokes,
    ["--refresh-reuse-grace", "0s"],
    |app| {
        let (first_access, first) = app.cookie_signup(EMAIL, PASSWORD).await;
        let rotated = app.cookie_refresh(Some(&first)).await;
        let payload = rotated.data()["refreshSession"].clone();
        assert_eq!(payload["refreshToken"], Value::Null, "{payload}");
        assert_eq!(payload["user"]["email"], EMAIL);
        let second = rotated.new_cookie();
        assert_ne!(second, first);
        let second_access = payload["accessToken"].as_str().expect("an access token");
        assert_eq!(claims(second_access)["sid"], claims(&first_access)["sid"]);
        app.assert_works(second_access).await;

        // The first cookie again: theft. The session ends, and the cookie is cleared.
        let reused = app.cookie_refresh(Some(&first)).await;
        assert_reason(&reused.error(), "UNAUTHENTICATED", "REFRESH_TOKEN_REUSED");
        reused.assert_clears_cookie();
        app.assert_revoked(&first_access).await;
        app.assert_revoked(second_access).await;
        let after = app.cookie_refresh(Some(&second)).await;
        assert_reason(&after.error(), "UNAUTHENTICATED", "SESSION_REVOKED");
        after.assert_clears_cookie();
    }
);

backend_tests!(
    within_the_grace_window_an_old_cookie_still_refreshes,
    |app| {
        let (_, first) = app.cookie_signup(EMAIL, PASSWORD).await;
        let second = app.cookie_refresh(Some(&first)).await.new_cookie();
        // Two tabs refreshing at once: the slower one presents the cookie the other rotated.
        let again = app.cookie_refresh(Some(&first)).await;
        let access = again.data()["refreshSession"]["accessToken"].clone();
        let third = again.new_cookie();
        assert_ne!(third, second);
        app.assert_works(access.as_str().expect("an access token"))
            .await;
        app.cookie_refresh(Some(&third)).await.new_cookie();
    }
);

backend_tests!(refresh_needs_a_cookie_or_an_argument, |app| {
    let nothing = app.cookie_refresh(None).await;
    assert_reason(&nothing.error(), "UNAUTHENTICATED", "REFRESH_TOKEN_INVALID");
    nothing.assert_no_cookie();
    let other_cookies = app
        .request(&refresh_query())
        .header("cookie", "theme=dark; lang=en")
        .send()
        .await;
    assert_reason(
        &other_cookies.error(),
        "UNAUTHENTICATED",
        "REFRESH_TOKEN_INVALID",
    );
    other_cookies.assert_no_cookie();

    // A cookie the server never issued is refused and cleared.
    let forged = app.cookie_refresh(Some("not-a-token-we-issued")).await;
    assert_reason(&forged.error(), "UNAUTHENTICATED", "REFRESH_TOKEN_INVALID");
    forged.assert_clears_cookie();

    // An argument wins over the cookie, and is answered in the body as before.
    let body_session = app.signup("bob@example.com", PASSWORD).await;
    let (_, cookie) = app.cookie_signup(EMAIL, PASSWORD).await;
    let query =
        format!("mutation($t: String!) {{ refreshSession(refreshToken: $t) {{ {AUTH_FIELDS} }} }}");
    let by_argument = app
        .request(&query)
        .variables(json!({ "t": body_session.refresh }))
        .cookie(&cookie)
        .send()
        .await;
    let payload = by_argument.data()["refreshSession"].clone();
    assert_eq!(payload["user"]["email"], "bob@example.com");
    assert!(payload["refreshToken"].is_string());
    by_argument.assert_no_cookie();
    app.cookie_refresh(Some(&cookie)).await.new_cookie();
});

backend_tests!(logout_and_account_deletion_clear_the_cookie, |app| {
    let logout = |access: String, cookie: Option<String>, scope: &'static str| async move {
        let request = app
            .request(&format!("mutation {{ logout(scope: {scope}) }}"))
            .token(&access);
        match cookie {
            Some(cookie) => request.cookie(&cookie).send().await,
            None => request.send().await,
        }
    };
    let (access, cookie) = app.cookie_signup(EMAIL, PASSWORD).await;
    let others = logout(access.clone(), Some(cookie.clone()), "OTHERS").await;
    assert_eq!(others.data()["logout"], 0);
    others.assert_no_cookie();
    let current = logout(access.clone(), Some(cookie.clone()), "CURRENT").await;
    assert_eq!(current.data()["logout"], 1);
    current.assert_clears_cookie();
    app.assert_revoked(&access).await;
    let refused = app.cookie_refresh(Some(&cookie)).await;
    assert_reason(&refused.error(), "UNAUTHENTICATED", "SESSION_REVOKED");

    let response = app.cookie_login(EMAIL, PASSWORD, false).await;
    let access = response.data()["login"]["accessToken"]
        .as_str()
        .map(str::to_owned);
    let all = logout(access.expect("a token"), Some(response.new_cookie()), "ALL").await;
    assert_eq!(all.data()["logout"], 1);
    all.assert_clears_cookie();

    // A bearer-only client gets no cookie header.
    let bearer = app.login(EMAIL, PASSWORD).await;
    logout(bearer.access, None, "CURRENT")
        .await
        .assert_no_cookie();

    let response = app.cookie_login(EMAIL, PASSWORD, false).await;
    let access = response.data()["login"]["accessToken"].clone();
    let cookie = response.new_cookie();
    let deleted = app
        .request("mutation($p: String!) { deleteAccount(password: $p) }")
        .variables(json!({ "p": PASSWORD }))
        .token(access.as_str().expect("a token"))
        .cookie(&cookie)
        .send()
        .await;
    assert_eq!(deleted.data()["deleteAccount"], true);
    deleted.assert_clears_cookie();
    let refused = app.cookie_refresh(Some(&cookie)).await;
    assert_code(&refused.error(), "UNAUTHENTICATED");
});

backend_tests!(a_password_change_renews_the_cookie, |app| {
    let (access, cookie) = app.cookie_signup(EMAIL, PASSWORD).await;
    let query = format!(
        "mutation($c: String!, $n: String!) {{ changePassword(currentPassword: $c, newPassword: $n) {{ {AUTH_FIELDS} }} }}"
    );
    let new_password = "another horse battery staple";
    let changed = app
        .request(&query)
        .variables(json!({ "c": PASSWORD, "n": new_password }))
        .token(&access)
        .cookie(&cookie)
        .send()
        .await;
    let payload = changed.data()["changePassword"].clone();
    assert_eq!(payload["refreshToken"], Value::Null, "{payload}");
    let renewed = changed.new_cookie();
    assert_ne!(renewed, cookie);
    let old = app.cookie_refresh(Some(&cookie)).await;
    assert_reason(&old.error(), "UNAUTHENTICATED", "REFRESH_TOKEN_INVALID");
    app.cookie_refresh(Some(&renewed)).await.new_cookie();

    // Outside a cookie session the new refresh token is in the body, as before.
    let bearer = app.login(EMAIL, new_password).await;
    let changed = app
        .request(&query)
        .variables(json!({ "c": new_password, "n": PASSWORD }))
        .token(&bearer.access)
        .send()
        .await;
    assert!(changed.data()["changePassword"]["refreshToken"].is_string());
    changed.assert_no_cookie();
});

backend_tests!(the_cookie_is_not_an_access_token, |app| {
    let (_, cookie) = app.cookie_signup(EMAIL, PASSWORD).await;
    for query in ["{ me { id } }", "{ todos { totalCount } }"] {
        let post = app.request(query).cookie(&cookie).send().await;
        assert_eq!(
            assert_code(&post.error(), "UNAUTHENTICATED")["extensions"].get("reason"),
            None
        );
        let get = app.request(query).cookie(&cookie).get().await;
        assert_code(&get.error(), "UNAUTHENTICATED");
    }
    let create = app
        .request("mutation { createTodo(input: { title: \"x\" }) { id } }")
        .cookie(&cookie)
        .send()
        .await;
    assert_code(&create.error(), "UNAUTHENTICATED");
    app.cookie_refresh(Some(&cookie)).await.new_cookie();
});

backend_tests!(
    requests_carrying_the_cookie_must_come_from_an_allowed_origin,
    ["--cors-allowed-origins", "https://app.example"],
    |app| {
        let (_, cookie) = app.cookie_signup(EMAIL, PASSWORD).await;
        let from = |origin: &str| {
            app.request(&refresh_query())
                .cookie(&cookie)
                .header("origin", origin)
        };
        for foreign in [
            "https://evil.example",
            "null",
            "https://app.example.evil.example",
        ] {
            let refused = from(foreign).send().await;
            assert_eq!(refused.status, StatusCode::FORBIDDEN, "{foreign}");
            let body = refused.json();
            assert_bad_input(&body["errors"][0], "request");
            assert_eq!(body.get("data"), None, "GraphQL never ran: {body}");
            refused.assert_no_cookie();
            let get = app
                .request("{ __typename }")
                .cookie(&cookie)
                .header("origin", foreign)
                .get()
                .await;
            assert_eq!(get.status, StatusCode::FORBIDDEN, "{foreign}");
        }
        // Nothing was spent: the cookie still refreshes, from the allowlisted origin, with
        // the CORS headers a `credentials: 'include'` fetch needs.
        let listed = from("https://app.example").send().await;
        assert_eq!(
            listed.header("access-control-allow-origin"),
            Some("https://app.example")
        );
        assert_eq!(
            listed.header("access-control-allow-credentials"),
            Some("true")
        );
        let cookie = listed.new_cookie();
        // The server's own origin (the Host it was sent to), and no Origin at all.
        let own = format!("http://{}", app.addr);
        let same_origin = app
            .request(&refresh_query())
            .cookie(&cookie)
            .header("origin", &own)
            .send()
            .await;
        let cookie = same_origin.new_cookie();
        app.cookie_refresh(Some(&cookie)).await.new_cookie();
        // Without the cookie, a foreign origin is CORS's business, not refused here.
        let anonymous = app
            .request("{ __typename }")
            .header("origin", "https://evil.example")
            .send()
            .await;
        assert_eq!(anonymous.data()["__typename"], "Query");
        assert_eq!(anonymous.header("access-control-allow-origin"), None);
    }
);

backend_tests!(
    a_wildcard_allowlist_does_not_admit_cookie_requests,
    ["--cors-allowed-origins", "*"],
    |app| {
        let (_, cookie) = app.cookie_signup(EMAIL, PASSWORD).await;
        let refused = app
            .request(&refresh_query())
            .cookie(&cookie)
            .header("origin", "https://evil.example")
            .send()
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        let anonymous = app
            .request("{ __typename }")
            .header("origin", "https://evil.example")
            .send()
            .await;
        assert_eq!(anonymous.header("access-control-allow-origin"), Some("*"));
        assert_eq!(anonymous.header("access-control-allow-credentials"), None);
    }
);

backend_tests!(
    credentials_can_be_turned_off_for_listed_origins,
    [
        "--cors-allowed-origins",
        "https://app.example",
        "--cors-allow-credentials",
        "false"
    ],
    |app| {
        let listed = app
            .request("{ __typename }")
            .header("origin", "https://app.example")
            .send()
            .await;
        assert_eq!(
            listed.header("access-control-allow-origin"),
            Some("https://app.example")
        );
        assert_eq!(listed.header("access-control-allow-credentials"), None);
    }
);

backend_tests!(non_json_bodies_carrying_the_cookie_are_refused, |app| {
    let (_, cookie) = app.cookie_signup(EMAIL, PASSWORD).await;
    let body = json!({ "query": refresh_query() }).to_string();
    let form = format!("query={}", "mutation%7BrefreshSession%7BaccessToken%7D%7D");
    for (content_type, body) in [
        ("text/plain", body.clone()),
        ("text/plain;charset=UTF-8", body.clone()),
        ("application/x-www-form-urlencoded", form),
        ("multipart/form-data; boundary=x", body),
    ] {
        let refused = app
            .at("/graphql")
            .header("content-type", content_type)
            .cookie(&cookie)
            .body(body)
            .send()
            .await;
        assert_eq!(
            refused.status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{content_type}"
        );
        refused.assert_no_cookie();
    }
    // Nothing ran: the cookie is still the live one.
    app.cookie_refresh(Some(&cookie)).await.new_cookie();
});

backend_tests!(the_cookie_mode_is_refused_over_a_websocket, |app| {
    let (access, cookie) = app.cookie_signup(EMAIL, PASSWORD).await;
    let header = format!("{COOKIE}={cookie}");
    let mut ws = app
        .ws_with(&["graphql-transport-ws"], &[("cookie", &header)])
        .await
        .expect("the upgrade succeeds");
    ws.init_ok(Some(&access)).await;
    let login = format!("mutation($i: LoginInput!) {{ login(input: $i) {{ {AUTH_FIELDS} }} }}");
    let input =
        json!({ "i": { "email": EMAIL, "password": PASSWORD, "refreshTokenCookie": true } });
    let refused = ws.request("1", &login, input).await;
    assert_bad_input(&refused["errors"][0], "input.refreshTokenCookie");
    let signup = "mutation($i: SignupInput!) { signup(input: $i) { accessToken } }";
    let input = json!({ "i": { "email": "bob@example.com", "password": PASSWORD, "refreshTokenCookie": true } });
    let refused = ws.request("2", signup, input).await;
    assert_bad_input(&refused["errors"][0], "input.refreshTokenCookie");
    let refused = ws.request("3", &refresh_query(), json!({})).await;
    assert_bad_input(&refused["errors"][0], "refreshToken");
    // No account was made by the refused signup, and the cookie was not spent.
    let bob = app
        .request("mutation($i: LoginInput!) { login(input: $i) { accessToken } }")
        .variables(json!({ "i": { "email": "bob@example.com", "password": PASSWORD } }))
        .send()
        .await;
    assert_code(&bob.error(), "INVALID_CREDENTIALS");
    app.cookie_refresh(Some(&cookie)).await.new_cookie();
});

backend_tests!(
    a_batch_sends_every_cookie_it_sets_in_order,
    ["--graphql-batch-max", "3"],
    |app| {
        let (_, first) = app.cookie_signup(EMAIL, PASSWORD).await;
        let login = "mutation($i: LoginInput!) { login(input: $i) { refreshToken } }";
        let input =
            json!({ "i": { "email": EMAIL, "password": PASSWORD, "refreshTokenCookie": true } });
        let batch = json!([
            { "query": refresh_query() },
            { "query": login, "variables": input },
            { "query": "mutation { logout }" },
        ]);
        let response = app.raw_json(batch.to_string()).cookie(&first).send().await;
        assert_eq!(response.status, StatusCode::OK);
        let answers = response.json();
        assert_eq!(
            answers[0]["data"]["refreshSession"]["refreshToken"],
            Value::Null
        );
        assert_eq!(answers[1]["data"]["login"]["refreshToken"], Value::Null);
        // The logout has no access token (the cookie is not one): it clears nothing.
        assert_code(&answers[2]["errors"][0], "UNAUTHENTICATED");
        let cookies = response.set_cookies();
        assert_eq!(cookies.len(), 2, "{cookies:?}");
        assert!(cookies.iter().all(|c| c.name == COOKIE && !c.clears()));
        assert_ne!(cookies[0].value, cookies[1].value);
        // Both are live sessions' tokens; a browser keeps the last.
        for cookie in &cookies {
            app.cookie_refresh(Some(&cookie.value)).await.new_cookie();
        }
    }
);
