//! Signing keys: rotation by `kid` (the new key signs, the old one still verifies, an
//! unknown kid is refused) and EdDSA with its public keys at `/.well-known/jwks.json`.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, jwk::JwkSet};
use reqwest::StatusCode;
use serde_json::{Map, Value, json};

use crate::helpers::{JWT_SECRET, headers};
use crate::sessions::{assert_works, me_status, signup};

const NEW_SECRET: &str = "the-rotated-in-secret-0123456789-abcdefghijklmnop";
/// A throwaway Ed25519 key, made for these tests with `openssl genpkey -algorithm ed25519`.
const ED25519_PEM: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIHXT76NGDWLd7t/07scfF/n6HWEuxTIYIgBeG/vWMEl7
-----END PRIVATE KEY-----
";

fn access(payload: &Value) -> String {
    payload["accessToken"].as_str().expect("a token").to_owned()
}

fn kid(token: &str) -> String {
    jsonwebtoken::decode_header(token)
        .expect("a JWT header")
        .kid
        .expect("a kid")
}

fn claims(token: &str) -> Map<String, Value> {
    jsonwebtoken::dangerous::insecure_decode_claims(token).expect("the app's token decodes")
}

fn invalid() -> (StatusCode, Option<String>) {
    (StatusCode::UNAUTHORIZED, Some("TOKEN_INVALID".to_owned()))
}

backend_tests!(a_rotated_secret_still_verifies_until_removed, |app| {
    let old_token = access(&signup(app, "ann@example.com").await);
    let rotated = app
        .sibling(&[
            "--jwt-secret",
            NEW_SECRET,
            "--jwt-secret-previous",
            JWT_SECRET,
        ])
        .await;
    // The old key's token still works on the rotated instance.
    assert_works(&rotated, &old_token).await;
    let new_token = access(&signup(&rotated, "bob@example.com").await);
    assert_ne!(
        kid(&new_token),
        kid(&old_token),
        "the new key signs, under its own kid"
    );
    assert_works(&rotated, &new_token).await;
    // An instance that does not know the new key refuses its tokens.
    assert_eq!(me_status(app, &new_token).await, invalid());

    // A kid nobody knows is refused, even with a signature the old key would accept.
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("no-such-key".to_owned());
    let key = EncodingKey::from_secret(JWT_SECRET.as_bytes());
    let unknown = jsonwebtoken::encode(&header, &claims(&old_token), &key).expect("signs");
    assert_eq!(me_status(&rotated, &unknown).await, invalid());
    assert_eq!(me_status(app, &unknown).await, invalid());

    // Once the old secret is removed, its tokens stop working.
    let retired = app.sibling(&["--jwt-secret", NEW_SECRET]).await;
    assert_eq!(me_status(&retired, &old_token).await, invalid());
    assert_works(&retired, &new_token).await;
    retired.shutdown().await;
    rotated.shutdown().await;
});

backend_tests!(eddsa_tokens_verify_with_the_published_jwks, |app| {
    let dir = tempfile::tempdir().expect("a temp dir");
    let pem = dir.path().join("ed25519.pem");
    std::fs::write(&pem, ED25519_PEM).expect("the key file is written");
    let pem = pem.to_str().expect("a UTF-8 path");
    let hs_token = access(&signup(app, "ann@example.com").await);
    let ed = app
        .sibling(&[
            "--jwt-algorithm",
            "EdDSA",
            "--jwt-ed25519-private-key-file",
            pem,
        ])
        .await;
    let payload = signup(&ed, "bob@example.com").await;
    let token = access(&payload);
    assert_eq!(
        jsonwebtoken::decode_header(&token).expect("a header").alg,
        Algorithm::EdDSA
    );
    assert_works(&ed, &token).await;
    // Moving to EdDSA signs nobody out: the HS256 secret still verifies.
    assert_works(&ed, &hs_token).await;

    // Another service verifies the token with nothing but the JWKS document.
    let response = ed.get("/.well-known/jwks.json", headers(&[])).await;
    assert_eq!(response.status(), StatusCode::OK);
    let jwks: JwkSet = response.json().await.expect("a JWKS document");
    assert_eq!(jwks.keys.len(), 1);
    let jwk = jwks
        .find(&kid(&token))
        .expect("the token's kid is published");
    let text = serde_json::to_value(jwk).expect("a JSON key");
    assert_eq!(text["kty"], "OKP");
    assert_eq!(text["crv"], "Ed25519");
    assert!(text.get("d").is_none(), "no private part is published");
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_issuer(&["todo-graphql"]);
    validation.set_audience(&["todo-graphql"]);
    let key = DecodingKey::from_jwk(jwk).expect("a key from the JWK");
    let verified = jsonwebtoken::decode::<Map<String, Value>>(&token, &key, &validation)
        .expect("the JWKS verifies the token");
    assert_eq!(verified.claims["sid"], claims(&token)["sid"]);

    // The Ed25519 kid with an HMAC signature (alg confusion) is refused.
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(kid(&token));
    let confused = jsonwebtoken::encode(
        &header,
        &claims(&token),
        &EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .expect("signs");
    assert_eq!(me_status(&ed, &confused).await, invalid());

    // With HS256 alone nothing is published: the secret is not a public key.
    let response = app.get("/.well-known/jwks.json", headers(&[])).await;
    assert_eq!(
        response.json::<Value>().await.expect("JSON"),
        json!({ "keys": [] })
    );
    ed.shutdown().await;
});
