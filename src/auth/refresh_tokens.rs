//! Refresh-token secrets: 256 random bits, shown to the client once; only their SHA-256 is
//! stored (a fast hash is right for a random secret of that size, where argon2 is for
//! passwords people choose).

use argon2::password_hash::rand_core::{OsRng, RngCore as _};
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use sha2::{Digest as _, Sha256};

use super::Proof;

/// A new refresh token and its stored form.
pub(crate) fn generate() -> (String, String) {
    let mut bytes = [0_u8; 32];
    OsRng.fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash(&token);
    (token, hash)
}

/// The stored form of a refresh token: hex SHA-256.
pub(crate) fn hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The proof that `presented` is the token whose stored form is `stored`. (Comparing two
/// digests of a 256-bit secret in variable time tells a guesser nothing useful.)
pub(crate) fn matched(presented: &str, stored: &str) -> Option<Proof> {
    (hash(presented) == stored).then_some(Proof(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_tokens_are_random_256_bits_stored_as_hashes() {
        let (a, hash_a) = generate();
        let (b, _) = generate();
        assert_ne!(a, b);
        assert_eq!(
            URL_SAFE_NO_PAD.decode(&a).map(|bytes| bytes.len()).ok(),
            Some(32)
        );
        assert_eq!(hash_a, hash(&a));
        assert_eq!(hash_a.len(), 64);
        assert!(!hash_a.contains(&a));
        assert!(matched(&a, &hash_a).is_some());
        assert!(matched(&b, &hash_a).is_none());
    }
}
