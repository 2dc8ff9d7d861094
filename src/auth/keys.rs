//! Signing keys, identified by `kid`: one key signs, every key of the set verifies.
//!
//! The rule: a token is checked only with the key its header's `kid` names, and only with
//! that key's algorithm, so an unknown `kid` or a mismatched `alg` is refused. A token
//! without a `kid` (issued before kids existed, or re-signed by hand) is checked with the
//! signing key. The key ids are derived from the key material, so every replica with the
//! same keys agrees on them without configuration: an HS256 secret's kid is a hash of it,
//! an Ed25519 key's kid its RFC 7638 thumbprint. Only public keys are ever published (the
//! JWKS document); HS256 secrets never are.

use std::collections::HashMap;

use anyhow::Context;
use jsonwebtoken::{
    Algorithm, DecodingKey, EncodingKey,
    jwk::{Jwk, JwkSet, KeyAlgorithm, PublicKeyUse, ThumbprintHash},
};
use sha2::{Digest, Sha256};

use crate::config::{JwtAlgorithm, Settings};

/// The shortest accepted HS256 secret, in bytes.
pub const MIN_SECRET_LEN: usize = 32;

/// The key that signs new tokens.
struct Signing {
    kid: String,
    algorithm: Algorithm,
    key: EncodingKey,
}

/// A key that verifies tokens carrying its `kid`.
pub(crate) struct Verifying {
    /// The only algorithm accepted with this key.
    pub(crate) algorithm: Algorithm,
    /// The secret or public key.
    pub(crate) key: DecodingKey,
}

/// The signing key and every verifying key, by `kid`.
pub struct KeySet {
    signing: Signing,
    verifying: HashMap<String, Verifying>,
    jwks: JwkSet,
}

impl KeySet {
    /// HS256: `secret` signs (and verifies); each of `previous` only verifies, until the
    /// tokens it signed have expired and it is removed from the configuration.
    pub fn hs256(secret: &[u8], previous: &[Vec<u8>]) -> anyhow::Result<Self> {
        let kid = hs256_kid(secret)?;
        let mut set = Self {
            signing: Signing {
                kid: kid.clone(),
                algorithm: Algorithm::HS256,
                key: EncodingKey::from_secret(secret),
            },
            verifying: HashMap::new(),
            jwks: JwkSet::default(),
        };
        set.add_verifying(kid, Algorithm::HS256, DecodingKey::from_secret(secret));
        set.add_hs256_previous(previous)?;
        Ok(set)
    }

    /// EdDSA: the Ed25519 private key in `private_pem` (PKCS#8) signs; the public keys in
    /// `previous_public_pems` and the HS256 secrets in `hs256_secrets` only verify (so a
    /// deployment can move from HS256 to EdDSA, or to a new Ed25519 key, without signing
    /// anyone out). Every Ed25519 public key is published in [`KeySet::jwks`].
    pub fn eddsa(
        private_pem: &[u8],
        previous_public_pems: &[Vec<u8>],
        hs256_secrets: &[Vec<u8>],
    ) -> anyhow::Result<Self> {
        let key = EncodingKey::from_ed_pem(private_pem).context(
            "the Ed25519 private key must be a PKCS#8 PEM (openssl genpkey -algorithm ed25519)",
        )?;
        let jwk = Jwk::from_encoding_key(&key, Algorithm::EdDSA)
            .context("deriving the Ed25519 public key")?;
        let (kid, jwk) = published(jwk)?;
        let public = DecodingKey::from_jwk(&jwk).context("the Ed25519 public key")?;
        let mut set = Self {
            signing: Signing {
                kid: kid.clone(),
                algorithm: Algorithm::EdDSA,
                key,
            },
            verifying: HashMap::new(),
            jwks: JwkSet { keys: vec![jwk] },
        };
        set.add_verifying(kid, Algorithm::EdDSA, public);
        for pem in previous_public_pems {
            let key = DecodingKey::from_ed_pem(pem)
                .context("a previous Ed25519 public key must be a PEM (openssl pkey -pubout)")?;
            let jwk = Jwk::from_decoding_key(&key, Some(Algorithm::EdDSA))
                .context("reading a previous Ed25519 public key")?;
            let (kid, jwk) = published(jwk)?;
            set.jwks.keys.push(jwk);
            set.add_verifying(kid, Algorithm::EdDSA, key);
        }
        set.add_hs256_previous(hs256_secrets)?;
        Ok(set)
    }

    /// The keys the settings describe: `secret` (`JWT_SECRET`, or the generated one) signs
    /// with HS256, or verifies only under EdDSA; `JWT_SECRET_PREVIOUS` verifies; with EdDSA
    /// the key files are read.
    pub fn from_settings(settings: &Settings, secret: &[u8]) -> anyhow::Result<Self> {
        let previous = settings.previous_jwt_secrets();
        match settings.jwt_algorithm {
            JwtAlgorithm::Hs256 => Self::hs256(secret, &previous),
            JwtAlgorithm::EdDsa => {
                let path = settings
                    .jwt_ed25519_private_key_file
                    .as_ref()
                    .context("JWT_ALGORITHM=EdDSA needs JWT_ED25519_PRIVATE_KEY_FILE")?;
                let private =
                    std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
                let public = settings
                    .jwt_ed25519_previous_public_key_files
                    .iter()
                    .map(|path| {
                        std::fs::read(path).with_context(|| format!("reading {}", path.display()))
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?;
                let mut secrets = vec![secret.to_vec()];
                secrets.extend(previous);
                Self::eddsa(&private, &public, &secrets)
            }
        }
    }

    fn add_hs256_previous(&mut self, secrets: &[Vec<u8>]) -> anyhow::Result<()> {
        for secret in secrets {
            let kid = hs256_kid(secret)?;
            self.add_verifying(kid, Algorithm::HS256, DecodingKey::from_secret(secret));
        }
        Ok(())
    }

    fn add_verifying(&mut self, kid: String, algorithm: Algorithm, key: DecodingKey) {
        // The first key under a kid wins: the signing key is added first.
        self.verifying
            .entry(kid)
            .or_insert(Verifying { algorithm, key });
    }

    /// The signing key's id, algorithm and key.
    pub(crate) fn signing(&self) -> (&str, Algorithm, &EncodingKey) {
        (&self.signing.kid, self.signing.algorithm, &self.signing.key)
    }

    /// The key that verifies a token whose header names `kid`; the signing key's when the
    /// header names none; `None` for an unknown kid.
    pub(crate) fn verifying(&self, kid: Option<&str>) -> Option<&Verifying> {
        self.verifying.get(kid.unwrap_or(&self.signing.kid))
    }

    /// The public keys, as a JWKS document (empty with HS256 only).
    pub fn jwks(&self) -> &JwkSet {
        &self.jwks
    }
}

/// A public key's JWK with its kid (its thumbprint), use and algorithm filled in.
fn published(mut jwk: Jwk) -> anyhow::Result<(String, Jwk)> {
    let kid = jwk
        .thumbprint(ThumbprintHash::SHA256)
        .context("the key's thumbprint")?;
    jwk.common.key_id = Some(kid.clone());
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    jwk.common.key_algorithm = Some(KeyAlgorithm::EdDSA);
    Ok((kid, jwk))
}

/// The kid of an HS256 secret: a hash of it (which reveals no more than a token signed with
/// it already does), so replicas sharing the secret share the kid.
fn hs256_kid(secret: &[u8]) -> anyhow::Result<String> {
    if secret.len() < MIN_SECRET_LEN {
        anyhow::bail!("every JWT secret must be at least {MIN_SECRET_LEN} bytes");
    }
    let digest = Sha256::new()
        .chain_update(b"todo-graphql hs256 kid\0")
        .chain_update(secret)
        .finalize();
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    Ok(format!("hs256-{hex}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &[u8] = b"0123456789abcdef0123456789abcdef-old";
    const NEW: &[u8] = b"0123456789abcdef0123456789abcdef-new";
    /// A throwaway key made for this test with `openssl genpkey -algorithm ed25519`.
    const ED_PEM: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIDsVVG7Wpsxn+RxR6k5T//I5bricLOTCesaDj9NyAZKj\n-----END PRIVATE KEY-----\n";

    #[test]
    fn kids_are_stable_and_distinct() -> anyhow::Result<()> {
        assert_eq!(hs256_kid(OLD)?, hs256_kid(OLD)?);
        assert_ne!(hs256_kid(OLD)?, hs256_kid(NEW)?);
        assert!(hs256_kid(b"short").is_err());
        let set = KeySet::hs256(NEW, &[OLD.to_vec()])?;
        assert_eq!(set.signing().0, hs256_kid(NEW)?);
        assert!(set.verifying(Some(&hs256_kid(OLD)?)).is_some());
        assert!(set.verifying(None).is_some());
        assert!(set.verifying(Some("unknown")).is_none());
        assert!(set.jwks().keys.is_empty(), "secrets are never published");
        Ok(())
    }

    #[test]
    fn eddsa_publishes_its_public_key() -> anyhow::Result<()> {
        let set = KeySet::eddsa(ED_PEM.as_bytes(), &[], &[OLD.to_vec()])?;
        let (kid, algorithm, _) = set.signing();
        assert_eq!(algorithm, Algorithm::EdDSA);
        assert_eq!(set.jwks().keys.len(), 1);
        assert_eq!(set.jwks().keys[0].common.key_id.as_deref(), Some(kid));
        assert!(!serde_json::to_string(set.jwks())?.contains("\"d\""));
        assert!(set.verifying(Some(&hs256_kid(OLD)?)).is_some());
        Ok(())
    }
}
