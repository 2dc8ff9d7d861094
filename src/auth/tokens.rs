//! Access tokens: JWTs carrying `sub`, `sid` (the session), `iat`, `exp`, `iss` and `aud`,
//! signed by the [`KeySet`]'s signing key (HS256 or EdDSA) with its `kid` in the header.
//!
//! Verification picks the key the header's `kid` names and pins that key's algorithm,
//! requires `exp`, `iss`, `aud`, `sub` and `sid` (jsonwebtoken compares `iss` and `aud`
//! only when a token carries them unless they are required), checks `nbf` when present,
//! and allows a small leeway for clock skew. Last, a token of a revoked session is refused:
//! the [`Revocations`] set is in memory, so this costs a hash lookup, not a query.
//! [`Tokens::verify_exact`] is the same without the leeway, for connections that live
//! until the token's `exp`: the server issued the token, so the expiry is its own clock's.
//!
//! A client sends the same token with every request until it expires, and decoding it
//! (base64, two JSON documents, the signature) is a twentieth of a small query's CPU, so
//! [`Tokens::verify`] remembers the tokens it verified, by their whole text, in a bounded
//! cache. A remembered token is taken as verified only while it is certain to pass again:
//! the keys never change while the process runs, its `nbf` has already passed, and it is
//! not yet at its `exp` (nearer to it, the full check decides). Revocation is checked on
//! every request, remembered or not.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use jsonwebtoken::{
    Algorithm, Header, Validation, decode, decode_header, encode, errors::ErrorKind, jwk::JwkSet,
};
use quick_cache::sync::Cache;
use serde::{Deserialize, Serialize};

use super::{Revocations, SessionId, UserId, Viewer, keys::KeySet};
use crate::error::{AppError, AuthFailure};

/// Clock skew tolerated on `exp` and `nbf`.
pub const LEEWAY_SECS: u64 = 10;

/// How many verified tokens [`Tokens::verify`] remembers (each a few hundred bytes).
const REMEMBERED_TOKENS: usize = 4096;

/// The claims of an access token.
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    sid: String,
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
    keys: KeySet,
    revocations: Revocations,
    /// One validation per algorithm a key may use, built once: each pins its algorithm.
    validations: Vec<(Algorithm, Validation)>,
    /// The same without leeway.
    exact: Vec<(Algorithm, Validation)>,
    issuer: String,
    audience: String,
    ttl: Duration,
    /// Tokens that passed [`Tokens::verify`]: their viewer and `exp`.
    verified: Cache<String, (Viewer, i64)>,
}

/// A freshly issued access token.
pub struct Issued {
    /// The JWT.
    pub token: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

impl Tokens {
    /// An HS256 token service over `secret`, which must be at least 32 bytes.
    #[cfg(test)]
    pub fn new(secret: &[u8], issuer: &str, audience: &str, ttl: Duration) -> anyhow::Result<Self> {
        let keys = KeySet::hs256(secret, &[])?;
        Self::with_keys(keys, issuer, audience, ttl, Revocations::default())
    }

    /// A token service signing with `keys`' signing key, verifying with all of them, and
    /// refusing the tokens of the sessions in `revocations`.
    pub fn with_keys(
        keys: KeySet,
        issuer: &str,
        audience: &str,
        ttl: Duration,
        revocations: Revocations,
    ) -> anyhow::Result<Self> {
        let validations = |leeway| {
            [Algorithm::HS256, Algorithm::EdDSA]
                .into_iter()
                .map(|algorithm| {
                    let mut validation = Validation::new(algorithm);
                    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
                    validation.set_issuer(&[issuer]);
                    validation.set_audience(&[audience]);
                    validation.validate_nbf = true;
                    validation.leeway = leeway;
                    (algorithm, validation)
                })
                .collect()
        };
        Ok(Self {
            inner: Arc::new(Inner {
                keys,
                revocations,
                validations: validations(LEEWAY_SECS),
                exact: validations(0),
                issuer: issuer.to_owned(),
                audience: audience.to_owned(),
                ttl,
                verified: Cache::new(REMEMBERED_TOKENS),
            }),
        })
    }

    /// How long an access token lives.
    pub fn ttl(&self) -> Duration {
        self.inner.ttl
    }

    /// The public verification keys, for `/.well-known/jwks.json`.
    pub fn jwks(&self) -> &JwkSet {
        self.inner.keys.jwks()
    }

    /// Signs an access token for `user`'s `session`.
    pub fn issue(&self, user: &UserId, session: &SessionId) -> Result<Issued, AppError> {
        let now = crate::store::now();
        let ttl = chrono::Duration::from_std(self.inner.ttl)
            .map_err(|e| anyhow::anyhow!("ACCESS_TOKEN_TTL out of range: {e}"))?;
        let expires_at = now + ttl;
        let claims = Claims {
            sub: user.0.clone(),
            sid: session.0.clone(),
            iat: now.timestamp(),
            exp: expires_at.timestamp(),
            iss: self.inner.issuer.clone(),
            aud: self.inner.audience.clone(),
            nbf: None,
        };
        let (kid, algorithm, key) = self.inner.keys.signing();
        let mut header = Header::new(algorithm);
        header.kid = Some(kid.to_owned());
        let token =
            encode(&header, &claims, key).map_err(|e| anyhow::anyhow!("signing a token: {e}"))?;
        let expires_at = DateTime::from_timestamp(claims.exp, 0).unwrap_or(expires_at);
        Ok(Issued { token, expires_at })
    }

    /// The viewer a token names, or why it is refused.
    pub fn verify(&self, token: &str) -> Result<Viewer, AuthFailure> {
        if let Some((viewer, exp)) = self.inner.verified.get(token)
            && exp > Utc::now().timestamp()
        {
            if self.inner.revocations.is_revoked(&viewer.session_id) {
                return Err(AuthFailure::SessionRevoked);
            }
            return Ok(viewer);
        }
        let (viewer, exp) = self.decode(token, &self.inner.validations)?;
        self.inner
            .verified
            .insert(token.to_owned(), (viewer.clone(), exp));
        Ok(viewer)
    }

    /// The viewer a token names and the moment the token expires, or why it is refused;
    /// unlike [`Tokens::verify`], with no leeway: a token is refused from its `exp` on.
    pub fn verify_exact(&self, token: &str) -> Result<(Viewer, DateTime<Utc>), AuthFailure> {
        let (viewer, exp) = self.decode(token, &self.inner.exact)?;
        let expires_at = DateTime::from_timestamp(exp, 0).ok_or(AuthFailure::TokenInvalid)?;
        if expires_at <= Utc::now() {
            return Err(AuthFailure::TokenExpired);
        }
        Ok((viewer, expires_at))
    }

    fn decode(
        &self,
        token: &str,
        validations: &[(Algorithm, Validation)],
    ) -> Result<(Viewer, i64), AuthFailure> {
        let header = decode_header(token).map_err(|_| AuthFailure::TokenInvalid)?;
        let key = self
            .inner
            .keys
            .verifying(header.kid.as_deref())
            .ok_or(AuthFailure::TokenInvalid)?;
        let validation = validations
            .iter()
            .find(|(algorithm, _)| *algorithm == key.algorithm)
            .map(|(_, validation)| validation)
            .ok_or(AuthFailure::TokenInvalid)?;
        let data = decode::<Claims>(token, &key.key, validation).map_err(|e| match e.kind() {
            ErrorKind::ExpiredSignature => AuthFailure::TokenExpired,
            _ => AuthFailure::TokenInvalid,
        })?;
        if data.claims.sub.is_empty() || data.claims.sid.is_empty() {
            return Err(AuthFailure::TokenInvalid);
        }
        let session_id = SessionId(data.claims.sid);
        if self.inner.revocations.is_revoked(&session_id) {
            return Err(AuthFailure::SessionRevoked);
        }
        let viewer = Viewer {
            user_id: UserId(data.claims.sub),
            session_id,
        };
        Ok((viewer, data.claims.exp))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn tokens() -> Tokens {
        Tokens::new(SECRET, "iss", "aud", Duration::from_secs(60)).unwrap_or_else(|e| panic!("{e}"))
    }

    fn issue(tokens: &Tokens) -> Issued {
        tokens
            .issue(&UserId("u1".into()), &SessionId("s1".into()))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn round_trip_names_the_user_and_session() {
        let tokens = tokens();
        let viewer = tokens
            .verify(&issue(&tokens).token)
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(viewer.user_id().as_str(), "u1");
        assert_eq!(viewer.session_id().as_str(), "s1");
    }

    #[test]
    fn an_old_key_verifies_and_an_unknown_kid_is_refused() -> anyhow::Result<()> {
        let ttl = Duration::from_secs(60);
        let old = tokens();
        let old_token = issue(&old).token;
        let new_secret = b"a-brand-new-secret-of-enough-length";
        let rotated = Tokens::with_keys(
            KeySet::hs256(new_secret, &[SECRET.to_vec()])?,
            "iss",
            "aud",
            ttl,
            Revocations::default(),
        )?;
        assert!(
            rotated.verify(&old_token).is_ok(),
            "the old key still verifies"
        );
        assert!(rotated.verify(&issue(&rotated).token).is_ok());
        assert_eq!(
            old.verify(&issue(&rotated).token).err(),
            Some(AuthFailure::TokenInvalid)
        );
        // The same signature under a kid nobody knows.
        let without_old = Tokens::new(new_secret, "iss", "aud", ttl)?;
        assert_eq!(
            without_old.verify(&old_token).err(),
            Some(AuthFailure::TokenInvalid)
        );
        Ok(())
    }

    #[test]
    fn a_revoked_session_is_refused() -> anyhow::Result<()> {
        let revocations = Revocations::default();
        let keys = KeySet::hs256(SECRET, &[])?;
        let tokens = Tokens::with_keys(
            keys,
            "iss",
            "aud",
            Duration::from_secs(60),
            revocations.clone(),
        )?;
        let token = issue(&tokens).token;
        assert!(tokens.verify(&token).is_ok());
        revocations.add(
            [&"s1".to_owned()],
            chrono::Utc::now() + chrono::Duration::seconds(60),
        );
        assert_eq!(
            tokens.verify(&token).err(),
            Some(AuthFailure::SessionRevoked)
        );
        Ok(())
    }

    #[test]
    fn a_remembered_token_vouches_only_for_its_exact_text() {
        let tokens = tokens();
        let token = issue(&tokens).token;
        for _ in 0..2 {
            let viewer = tokens.verify(&token).unwrap_or_else(|e| panic!("{e:?}"));
            assert_eq!(viewer.session_id().as_str(), "s1");
        }
        let (body, signature) = token.rsplit_once('.').unwrap_or_default();
        let flipped = if signature.starts_with('A') { 'B' } else { 'A' };
        let forged = format!("{body}.{flipped}{}", &signature[1..]);
        assert_eq!(
            tokens.verify(&forged).err(),
            Some(AuthFailure::TokenInvalid)
        );
        assert_eq!(
            tokens.verify(&format!("{token} ")).err(),
            Some(AuthFailure::TokenInvalid)
        );
    }

    #[test]
    fn exact_verification_has_no_leeway() -> anyhow::Result<()> {
        let tokens = tokens();
        let (_, expires_at) = tokens
            .verify_exact(&issue(&tokens).token)
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        assert!(expires_at > Utc::now() + chrono::Duration::seconds(50));
        let expired = Tokens::new(SECRET, "iss", "aud", Duration::ZERO)?;
        let token = issue(&expired).token;
        assert!(expired.verify(&token).is_ok(), "within the leeway");
        assert_eq!(
            expired.verify_exact(&token).err(),
            Some(AuthFailure::TokenExpired)
        );
        Ok(())
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(Tokens::new(b"short", "iss", "aud", Duration::from_secs(60)).is_err());
    }

    #[test]
    fn other_issuer_or_secret_is_invalid() {
        let issued = issue(&tokens());
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
