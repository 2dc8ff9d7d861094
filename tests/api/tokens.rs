//! Access tokens: every way a token can be bad answers HTTP 401 with
//! `WWW-Authenticate: Bearer error="invalid_token"` and `UNAUTHENTICATED` + a reason. The bad
//! tokens are built from a real token's claims, re-signed with the test secret.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Map, Value, json};

use crate::helpers::{JWT_SECRET, TestApp, assert_code, assert_no_leak, claims};

const ME: &str = "{ me { id email } }";

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

/// The whole request is refused: 401, the Bearer challenge, UNAUTHENTICATED with `reason`.
async fn assert_refused_on(app: &TestApp, token: &str, query: &str, reason: &str) {
    let response = app.request(query).token(token).send().await;
    let body = response.json();
    assert_eq!(
        response.status,
        StatusCode::UNAUTHORIZED,
        "token {token}: {body}"
    );
    assert_eq!(
        response.header("www-authenticate"),
        Some("Bearer error=\"invalid_token\""),
        "token {token}"
    );
    assert_eq!(body["data"], Value::Null, "no data on a 401: {body}");
    assert_eq!(body["errors"].as_array().map(Vec::len), Some(1), "{body}");
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
        let mut names: Vec<&str> = claims.keys().map(String::as_str).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            ["aud", "exp", "iat", "iss", "sid", "sub"],
            "{claims:?}"
        );
        assert_eq!(claims["iss"], "todo-graphql");
        assert_eq!(claims["aud"], "todo-graphql");
        let (exp, iat) = (&claims["exp"], &claims["iat"]);
        let lifetime = exp.as_i64().expect("exp") - iat.as_i64().expect("iat");
        assert_eq!(lifetime, 15 * 60, "--access-token-ttl 15m");
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
        let (real, mut claims) = real_token(app).await;
        claims.insert("sub".into(), unknown_sub(&claims["sub"]));
        let token = resign(&claims);
        let create = "mutation { createTodo(input: { title: \"ghost\" }) { id } }";
        // The signature and the session are good, so the request runs; the account it
        // names is not there, as for an account deleted after the token was issued, which
        // the server answers as the revoked session it is.
        for query in [ME, create] {
            let (status, body) = app.gql(Some(&token), query, json!({})).await;
            assert_no_leak(&body);
            assert_eq!(status, StatusCode::OK, "{query}: {body}");
            assert_eq!(
                body["data"],
                Value::Null,
                "nothing for an unknown user: {body}"
            );
            let error = assert_code(&body["errors"][0], "UNAUTHENTICATED");
            assert_eq!(error["extensions"]["reason"], "SESSION_REVOKED", "{body}");
        }
        assert_eq!(app.all_todos(&real).await, Vec::<Value>::new());
    }
);
