//! Access tokens: HS256 JWTs carrying `sub`, `iat`, `exp`, `iss` and `aud`.
//!
//! Verification pins HS256, requires `exp`, `iss`, `aud` and `sub` (jsonwebtoken compares
//! `iss` and `aud` only when a token carries them unless they are required), checks `nbf`
//! when present, and allows a small leeway for clock skew.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use jsonwebtoken::{
    Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode, errors::ErrorKind,
};
use serde::{Deserialize, Serialize};

use super::{UserId, Viewer};
use crate::error::{AppError, AuthFailure};

/// Clock skew tolerated on `exp` and `nbf`.
const LEEWAY_SECS: u64 = 10;

/// The shortest accepted HS256 secret, in bytes.
pub const MIN_SECRET_LEN: usize = 32;

/// The claims of an access token.
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    iat: i64,
    exp: i64,
    iss: String,
    aud: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    nbf: Option<i64>,
}

/// Issues and verifies access tokens.
#[derive(Clone)]
pub struct Tokens {
    inner: Arc<Inner>,
}

struct Inner {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    ttl: Duration,
}

/// A freshly issued access token.
pub struct Issued {
    /// The JWT.
    pub token: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

impl Tokens {
    /// A token service over `secret`, which must be at least 32 bytes.
    pub fn new(secret: &[u8], issuer: &str, audience: &str, ttl: Duration) -> anyhow::Result<Self> {
        if secret.len() < MIN_SECRET_LEN {
            anyhow::bail!("JWT_SECRET must be at least {MIN_SECRET_LEN} bytes");
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECS;
        Ok(Self {
            inner: Arc::new(Inner {
                encoding: EncodingKey::from_secret(secret),
                decoding: DecodingKey::from_secret(secret),
                validation,
                issuer: issuer.to_owned(),
                audience: audience.to_owned(),
                ttl,
            }),
        })
    }

    /// Signs an access token for `user`.
    pub fn issue(&self, user: &UserId) -> Result<Issued, AppError> {
        let now = crate::store::now();
        let ttl = chrono::Duration::from_std(self.inner.ttl)
            .map_err(|e| anyhow::anyhow!("ACCESS_TOKEN_TTL out of range: {e}"))?;
        let expires_at = now + ttl;
        let claims = Claims {
            sub: user.0.clone(),
            iat: now.timestamp(),
            exp: expires_at.timestamp(),
            iss: self.inner.issuer.clone(),
            aud: self.inner.audience.clone(),
            nbf: None,
        };
        let token = encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.inner.encoding,
        )
        .map_err(|e| anyhow::anyhow!("signing a token: {e}"))?;
        let expires_at = DateTime::from_timestamp(claims.exp, 0).unwrap_or(expires_at);
        Ok(Issued { token, expires_at })
    }

    /// The viewer a token names, or why it is refused.
    pub fn verify(&self, token: &str) -> Result<Viewer, AuthFailure> {
        let data =
            decode::<Claims>(token, &self.inner.decoding, &self.inner.validation).map_err(|e| {
                match e.kind() {
                    ErrorKind::ExpiredSignature => AuthFailure::TokenExpired,
                    _ => AuthFailure::TokenInvalid,
                }
            })?;
        if data.claims.sub.is_empty() {
            return Err(AuthFailure::TokenInvalid);
        }
        Ok(Viewer {
            user_id: UserId(data.claims.sub),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn tokens() -> Tokens {
        Tokens::new(SECRET, "iss", "aud", Duration::from_secs(60)).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn round_trip_names_the_user() {
        let tokens = tokens();
        let issued = tokens
            .issue(&UserId("u1".into()))
            .unwrap_or_else(|e| panic!("{e}"));
        let viewer = tokens
            .verify(&issued.token)
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(viewer.user_id().as_str(), "u1");
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(Tokens::new(b"short", "iss", "aud", Duration::from_secs(60)).is_err());
    }

    #[test]
    fn other_issuer_or_secret_is_invalid() {
        let issued = tokens()
            .issue(&UserId("u1".into()))
            .unwrap_or_else(|e| panic!("{e}"));
        let other_iss = Tokens::new(SECRET, "other", "aud", Duration::from_secs(60))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            other_iss.verify(&issued.token).err(),
            Some(AuthFailure::TokenInvalid)
        );
        let other_key = Tokens::new(&[7; 32], "iss", "aud", Duration::from_secs(60))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            other_key.verify(&issued.token).err(),
            Some(AuthFailure::TokenInvalid)
        );
    }
}
