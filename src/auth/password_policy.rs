//! The password rules, after NIST SP 800-63B and OWASP ASVS: a length range counted in
//! characters after NFKC normalisation, no composition rules, no truncation, and no
//! passwords that are common or easy to guess from the account's own details.

use unicode_normalization::UnicodeNormalization as _;
use zxcvbn::{Score, zxcvbn};

/// The longest password accepted, in characters.
pub const MAX_LENGTH: usize = 128;

/// The lowest zxcvbn score accepted: "somewhat guessable", safe against throttled online
/// guessing; below it are dictionary words, common passwords and simple patterns.
const MIN_SCORE: Score = Score::Two;

/// A password normalised for hashing: the same bytes at signup and at every login.
pub fn normalize(raw: &str) -> String {
    raw.nfkc().collect()
}

/// Checks a new password; `Err` says why it is refused, for people. `hints` are words a
/// guesser would try first (the email's local part, the display name).
pub fn check(raw: &str, min_length: usize, hints: &[&str]) -> Result<String, String> {
    let password = normalize(raw);
    let length = password.chars().count();
    if length < min_length {
        return Err(format!("password must be at least {min_length} characters"));
    }
    if length > MAX_LENGTH {
        return Err(format!("password must be at most {MAX_LENGTH} characters"));
    }
    let hints: Vec<&str> = hints.iter().copied().filter(|h| !h.is_empty()).collect();
    let estimate = zxcvbn(&password, &hints);
    if estimate.score() < MIN_SCORE {
        let why = estimate
            .feedback()
            .and_then(|f| f.warning())
            .map(|w| w.to_string())
            .unwrap_or_else(|| "It is too easy to guess.".to_owned());
        return Err(format!(
            "password is too easy to guess: {why} Try a few unrelated words or a longer phrase."
        ));
    }
    Ok(password)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_counts_characters_after_normalisation() {
        assert!(check("ﬃ", 1, &[]).is_err());
        assert_eq!(normalize("ﬃ"), "ffi");
        assert!(check("ldkfj3@", 8, &[]).is_err());
        assert!(check(&"kq".repeat(65), 8, &[]).is_err());
    }

    #[test]
    fn common_and_personal_passwords_are_refused() {
        for weak in [
            "password",
            "password123",
            "12345678",
            "qwertyuiop",
            "iloveyou1",
        ] {
            let why = check(weak, 8, &[]).err();
            assert!(
                why.is_some_and(|w| w.contains("too easy to guess")),
                "{weak}"
            );
        }
        assert!(check("annabelle1987", 8, &["annabelle"]).is_err());
        assert!(check("correct horse battery staple", 8, &[]).is_ok());
    }
}
