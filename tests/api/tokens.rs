//! Access tokens: every way a token can be bad answers HTTP 401 with
//! `WWW-Authenticate: Bearer error="invalid_token"` and `UNAUTHENTICATED` + a reason. The bad
//! tokens are built from a real token's claims, re-signed with the test secret.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Map, Value, json};

use crate::helpers::{JWT_SECRET, TestApp, assert_code, assert_no_leak};

const ME: &str = "{ me { id email } }";

/// A real token's claims.
fn claims(token: &str) -> Map<String, Value> {
    jsonwebtoken::dangerous::insecure_decode_claims(token).expect("the app's token decodes")
}

fn sign(claims: &Map<String, Value>, algorithm: Algorithm, secret: &[u8]) -> String {
    jsonwebtoken::encode(
        &Header::new(algorithm),
        claims,
        &EncodingKey::from_secret(secret),
    )
    .expect("claims sign")
}

/// Claims signed the way the app signs: HS256 with the test secret.
fn resign(claims: &Map<String, Value>) -> String {
    sign(claims, Algorithm::HS256, JWT_SECRET.as_bytes())
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A user's token and its claims.
async fn real_token(app: &TestApp) -> (String, Map<String, Value>) {
    let token = app.user("holder").await;
    let claims = claims(&token);
    (token, claims)
}

/// POSTs `query` with `Authorization: Bearer {token}`; returns status, header and body.
async fn send(app: &TestApp, token: &str, query: &str) -> (StatusCode, Option<String>, Value) {
    let response = app
        .client
        .post(app.url("/graphql"))
        .header("Content-Type", "application/json")
        .header("Authorization", format!("Bearer {token}"))
        .json(&json!({ "query": query }))
        .send()
        .await
        .expect("the server answers");
    let status = response.status();
    let challenge = response
        .headers()
        .get("WWW-Authenticate")
        .map(|v| v.to_str().expect("an ASCII header").to_owned());
    let text = response.text().await.expect("a body");
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|err| panic!("a GraphQL-shaped JSON body ({err}), got {status}: {text}"));
    (status, challenge, body)
}

/// The whole request is refused: 401, the Bearer challenge, UNAUTHENTICATED with `reason`.
async fn assert_refused_on(app: &TestApp, token: &str, query: &str, reason: &str) {
    let (status, challenge, body) = send(app, token, query).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "token {token}: {body}");
    let challenge = challenge.unwrap_or_else(|| panic!("no WWW-Authenticate for {token}"));
    assert!(
        challenge.starts_with("Bearer") && challenge.contains("error=\"invalid_token\""),
        "WWW-Authenticate: {challenge}"
    );
    assert!(
        body.get("data").is_none_or(Value::is_null),
        "no data on a 401: {body}"
    );
    let error = assert_code(&body["errors"][0], "UNAUTHENTICATED");
    assert_eq!(
        error["extensions"]["reason"], reason,
        "token {token}: {body}"
    );
    assert_no_leak(&body);
}

async fn assert_refused(app: &TestApp, token: &str, reason: &str) {
    assert_refused_on(app, token, ME, reason).await;
}

/// A claim value that names no user but has the shape of a real `sub`.
fn unknown_sub(sub: &Value) -> Value {
    match sub {
        Value::Number(_) => json!(999_999_999),
        Value::String(s) if uuid::Uuid::parse_str(s).is_ok() => {
            json!(uuid::Uuid::new_v4().to_string())
        }
        Value::String(s) if s.parse::<i64>().is_ok() => json!("999999999"),
        Value::String(s) => {
            let mut chars: Vec<char> = s.chars().collect();
            let last = chars.last_mut().expect("a non-empty sub");
            *last = if *last == 'A' { 'B' } else { 'A' };
            json!(chars.into_iter().collect::<String>())
        }
        other => panic!("an unexpected sub claim: {other}"),
    }
}

backend_tests!(
    the_real_token_and_a_faithful_resigning_are_accepted,
    |app| {
        let (token, claims) = real_token(app).await;
        for claim in ["sub", "exp", "iss", "aud"] {
            assert!(
                claims.contains_key(claim),
                "the token carries {claim}: {claims:?}"
            );
        }
        assert_eq!(claims["iss"], "todo-graphql");
        let aud = &claims["aud"];
        let ours = json!("todo-graphql");
        assert!(
            *aud == ours || aud.as_array().is_some_and(|a| a.contains(&ours)),
            "aud: {aud}"
        );
        let expected = app.gql_ok(Some(&token), ME, json!({})).await;
        // The negative tests below are only meaningful if this re-signing is accepted.
        let data = app.gql_ok(Some(&resign(&claims)), ME, json!({})).await;
        assert_eq!(data, expected);
    }
);

backend_tests!(no_token_is_anonymous_not_refused, |app| {
    let (status, body) = app.gql(None, ME, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_code(&body["errors"][0], "UNAUTHENTICATED");
    let data = app.gql_ok(None, "{ __typename }", json!({})).await;
    assert_eq!(data["__typename"], "Query");
});

backend_tests!(garbage_tokens_are_refused_for_any_operation, |app| {
    let (token, _) = real_token(app).await;
    let truncated = &token[..token.len() - 3];
    for bad in ["garbage", "not.a.token", "a.b.c", "e30.e30.e30", truncated] {
        assert_refused(app, bad, "TOKEN_INVALID").await;
    }
    // Refused before GraphQL runs: even anonymous operations.
    assert_refused_on(app, "garbage", "{ __typename }", "TOKEN_INVALID").await;
    let signup = "mutation { signup(input: { email: \"x@example.com\", \
                  password: \"long enough password\" }) { accessToken } }";
    assert_refused_on(app, "garbage", signup, "TOKEN_INVALID").await;
});

backend_tests!(a_tampered_payload_is_refused, |app| {
    let (token, mut claims) = real_token(app).await;
    let parts: Vec<&str> = token.split('.').collect();
    claims.insert("sub".into(), unknown_sub(&claims["sub"]));
    let tampered = format!("{}.{}.{}", parts[0], b64(&Value::Object(claims)), parts[2]);
    assert_refused(app, &tampered, "TOKEN_INVALID").await;
});

backend_tests!(a_token_signed_with_another_secret_is_refused, |app| {
    let (_, claims) = real_token(app).await;
    let forged = sign(
        &claims,
        Algorithm::HS256,
        b"another-secret-that-is-also-long-enough",
    );
    assert_refused(app, &forged, "TOKEN_INVALID").await;
});

backend_tests!(alg_none_is_refused, |app| {
    let (token, claims) = real_token(app).await;
    let payload = b64(&Value::Object(claims));
    for header in [
        json!({ "alg": "none", "typ": "JWT" }),
        json!({ "alg": "None" }),
    ] {
        let unsigned = format!("{}.{payload}.", b64(&header));
        assert_refused(app, &unsigned, "TOKEN_INVALID").await;
        let signature = token.rsplit('.').next().expect("a signature");
        let relabelled = format!("{}.{payload}.{signature}", b64(&header));
        assert_refused(app, &relabelled, "TOKEN_INVALID").await;
    }
});

backend_tests!(
    another_hmac_algorithm_with_the_right_secret_is_refused,
    |app| {
        let (_, claims) = real_token(app).await;
        for algorithm in [Algorithm::HS512, Algorithm::HS384] {
            let token = sign(&claims, algorithm, JWT_SECRET.as_bytes());
            assert_refused(app, &token, "TOKEN_INVALID").await;
        }
    }
);

backend_tests!(an_expired_token_says_token_expired, |app| {
    let (_, mut claims) = real_token(app).await;
    for ago in [3600, 120] {
        claims.insert("exp".into(), json!(now() - ago));
        claims.insert("iat".into(), json!(now() - ago - 900));
        if claims.contains_key("nbf") {
            claims.insert("nbf".into(), json!(now() - ago - 900));
        }
        assert_refused(app, &resign(&claims), "TOKEN_EXPIRED").await;
    }
});

backend_tests!(a_token_not_yet_valid_is_refused, |app| {
    let (_, mut claims) = real_token(app).await;
    claims.insert("nbf".into(), json!(now() + 3600));
    assert_refused(app, &resign(&claims), "TOKEN_INVALID").await;
});

backend_tests!(another_audience_or_issuer_is_refused, |app| {
    let (_, claims) = real_token(app).await;
    for (claim, value) in [
        ("aud", json!("another-app")),
        ("aud", json!(["another-app"])),
        ("iss", json!("another-issuer")),
        ("iss", json!("")),
    ] {
        let mut changed = claims.clone();
        changed.insert(claim.into(), value);
        assert_refused(app, &resign(&changed), "TOKEN_INVALID").await;
    }
});

backend_tests!(a_token_missing_a_required_claim_is_refused, |app| {
    let (_, claims) = real_token(app).await;
    for claim in ["exp", "sub", "iss", "aud"] {
        let mut changed = claims.clone();
        changed.remove(claim);
        assert_refused(app, &resign(&changed), "TOKEN_INVALID").await;
    }
});

backend_tests!(
    a_valid_signature_for_an_unknown_user_reveals_nothing,
    |app| {
        let (_, mut claims) = real_token(app).await;
        claims.insert("sub".into(), unknown_sub(&claims["sub"]));
        let token = resign(&claims);
        let create = "mutation { createTodo(input: { title: \"ghost\" }) { id } }";
        for query in [ME, create] {
            let (status, _, body) = send(app, &token, query).await;
            assert_no_leak(&body);
            assert!(
                body.get("data").is_none_or(Value::is_null),
                "nothing for an unknown user: {body}"
            );
            if status != StatusCode::UNAUTHORIZED {
                assert_eq!(status, StatusCode::OK, "{body}");
                assert_code(&body["errors"][0], "UNAUTHENTICATED");
            }
        }
    }
);
