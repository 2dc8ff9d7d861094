//! Signing keys: rotation by `kid` (the new key signs, the old one still verifies, an
//! unknown kid is refused) and EdDSA with its public keys at `/.well-known/jwks.json`.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, jwk::JwkSet};
use reqwest::StatusCode;
use serde_json::{Map, Value, json};

use crate::helpers::{JWT_SECRET, PASSWORD, claims};

const NEW_SECRET: &str = "the-rotated-in-secret-0123456789-abcdefghijklmnop";
/// A throwaway Ed25519 key, made for these tests with `openssl genpkey -algorithm ed25519`.
const ED25519_PEM: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIHXT76NGDWLd7t/07scfF/n6HWEuxTIYIgBeG/vWMEl7
-----END PRIVATE KEY-----
";

fn kid(token: &str) -> String {
    jsonwebtoken::decode_header(token)
        .expect("a JWT header")
        .kid
        .expect("a kid")
}

fn invalid() -> (StatusCode, Option<String>) {
    (StatusCode::UNAUTHORIZED, Some("TOKEN_INVALID".to_owned()))
}

backend_tests!(a_rotated_secret_still_verifies_until_removed, |app| {
    let old_token = app.signup("ann@example.com", PASSWORD).await.access;
    let rotated = app
        .sibling(&[
            "--jwt-secret",
            NEW_SECRET,
            "--jwt-secret-previous",
            JWT_SECRET,
        ])
        .await;
    // The old key's token still works on the rotated instance.
    rotated.assert_works(&old_token).await;
    let new_token = rotated.signup("bob@example.com", PASSWORD).await.access;
    assert_ne!(
        kid(&new_token),
        kid(&old_token),
        "the new key signs, under its own kid"
    );
    rotated.assert_works(&new_token).await;
    // An instance that does not know the new key refuses its tokens.
    assert_eq!(app.me_status(&new_token).await, invalid());

    // A kid nobody knows is refused, even with a signature the old key would accept.
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("no-such-key".to_owned());
    let key = EncodingKey::from_secret(JWT_SECRET.as_bytes());
    let unknown = jsonwebtoken::encode(&header, &claims(&old_token), &key).expect("signs");
    assert_eq!(rotated.me_status(&unknown).await, invalid());
    assert_eq!(app.me_status(&unknown).await, invalid());

    // Once the old secret is removed, its tokens stop working.
    let retired = app.sibling(&["--jwt-secret", NEW_SECRET]).await;
    assert_eq!(retired.me_status(&old_token).await, invalid());
    retired.assert_works(&new_token).await;
    retired.shutdown().await;
    rotated.shutdown().await;
});

backend_tests!(eddsa_tokens_verify_with_the_published_jwks, |app| {
    let dir = tempfile::tempdir().expect("a temp dir");
    let pem = dir.path().join("ed25519.pem");
    std::fs::write(&pem, ED25519_PEM).expect("the key file is written");
    let pem = pem.to_str().expect("a UTF-8 path");
    let hs_token = app.signup("ann@example.com", PASSWORD).await.access;
    let ed = app
        .sibling(&[
            "--jwt-algorithm",
            "EdDSA",
            "--jwt-ed25519-private-key-file",
            pem,
        ])
        .await;
    let token = ed.signup("bob@example.com", PASSWORD).await.access;
    assert_eq!(
        jsonwebtoken::decode_header(&token).expect("a header").alg,
        Algorithm::EdDSA
    );
    ed.assert_works(&token).await;
    // Moving to EdDSA signs nobody out: the HS256 secret still verifies.
    ed.assert_works(&hs_token).await;

    // Another service verifies the token with nothing but the JWKS document.
    let response = ed.at("/.well-known/jwks.json").get().await;
    assert_eq!(response.status, StatusCode::OK);
    let jwks: JwkSet = serde_json::from_str(&response.text).expect("a JWKS document");
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
    assert_eq!(ed.me_status(&confused).await, invalid());

    // With HS256 alone nothing is published: the secret is not a public key.
    let response = app.at("/.well-known/jwks.json").get().await;
    assert_eq!(response.json(), json!({ "keys": [] }));
    ed.shutdown().await;
});
