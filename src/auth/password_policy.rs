//! The password rules, after NIST SP 800-63B and OWASP ASVS: a length range counted in
//! characters after NFKC normalisation, no composition rules, no truncation, and no
//! passwords that are common or easy to guess from the account's own details.
//!
//! The account's details are compared after folding: NFKC, lower case, and only letters
//! and digits kept, so `Ann.Lee@Example.com` and `annleeexamplecom` meet. A password may not
//! contain the email's local part (4+ characters, also without its digits) or a label of
//! its domain (4+ characters, the TLD excepted), nor be made only of the display name's
//! words. zxcvbn judges the rest.

use unicode_normalization::UnicodeNormalization as _;
use zxcvbn::{Score, zxcvbn};

/// The longest password accepted, in characters.
pub const MAX_LENGTH: usize = 128;

/// The lowest zxcvbn score accepted: "somewhat guessable", safe against throttled online
/// guessing; below it are dictionary words, common passwords and simple patterns.
const MIN_SCORE: Score = Score::Two;

/// The shortest email part a password may not contain: shorter ones (`ann`, `io`) turn up
/// in ordinary words.
const MIN_HINT: usize = 4;

/// What a guesser knows about the account: its email (normalised) and display name.
#[derive(Debug, Clone, Copy, Default)]
pub struct Hints<'a> {
    /// The account's email, trimmed and lower-cased.
    pub email: &'a str,
    /// The display name, if any.
    pub display_name: Option<&'a str>,
}

/// A password normalised for hashing: the same bytes at signup and at every login.
pub fn normalize(raw: &str) -> String {
    raw.nfkc().collect()
}

/// NFKC, lower case, letters and digits only: the form in which hints are compared.
fn fold(text: &str) -> String {
    text.nfkc()
        .flat_map(char::to_lowercase)
        .filter(|c| c.is_alphanumeric())
        .collect()
}

/// Checks a new password; `Err` says why it is refused, for people.
pub fn check(raw: &str, min_length: usize, hints: Hints<'_>) -> Result<String, String> {
    let password = normalize(raw);
    let length = password.chars().count();
    if length < min_length {
        return Err(format!("password must be at least {min_length} characters"));
    }
    if length > MAX_LENGTH {
        return Err(format!("password must be at most {MAX_LENGTH} characters"));
    }
    let folded = fold(&password);
    let email_parts = email_parts(hints.email);
    if email_parts
        .iter()
        .any(|part| folded.contains(part.as_str()))
    {
        return Err("password must not contain your email address".to_owned());
    }
    let name_words: Vec<String> = hints
        .display_name
        .unwrap_or_default()
        .split(|c: char| !c.is_alphanumeric())
        .map(fold)
        .filter(|w| !w.is_empty())
        .collect();
    if built_from(&folded, &name_words) {
        return Err("password must not contain your name".to_owned());
    }
    let mut words: Vec<&str> = email_parts.iter().map(String::as_str).collect();
    words.extend(name_words.iter().map(String::as_str));
    if let Some((local, _)) = hints.email.split_once('@') {
        words.push(local);
    }
    let estimate = zxcvbn(&password, &words);
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

/// The folded parts of `email` a password may not contain: the local part and its
/// letters-only form, and the domain's labels but the last, each of 4+ characters.
fn email_parts(email: &str) -> Vec<String> {
    let Some((local, domain)) = email.rsplit_once('@') else {
        return Vec::new();
    };
    let local = fold(local);
    let letters: String = local.chars().filter(|c| c.is_alphabetic()).collect();
    let mut labels: Vec<&str> = domain.split('.').collect();
    labels.pop();
    let mut parts = vec![local, letters];
    parts.extend(labels.into_iter().map(fold));
    parts.retain(|p| p.chars().count() >= MIN_HINT);
    parts.dedup();
    parts
}

/// Whether `password` is nothing but `words`, in any order and number.
fn built_from(password: &str, words: &[String]) -> bool {
    if password.is_empty() || words.is_empty() {
        return false;
    }
    // reachable[i]: the first i bytes are a sequence of words.
    let mut reachable = vec![false; password.len() + 1];
    reachable[0] = true;
    for start in 0..password.len() {
        if !reachable[start] {
            continue;
        }
        for word in words {
            if password[start..].starts_with(word.as_str()) {
                reachable[start + word.len()] = true;
            }
        }
    }
    reachable[password.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hints<'a>(email: &'a str, display_name: Option<&'a str>) -> Hints<'a> {
        Hints {
            email,
            display_name,
        }
    }

    fn refusal(password: &str, hints: Hints<'_>) -> String {
        check(password, 8, hints).err().unwrap_or_default()
    }

    #[test]
    fn length_counts_characters_after_normalisation() {
        let none = Hints::default();
        assert!(check("ﬃ", 1, none).is_err());
        assert_eq!(normalize("ﬃ"), "ffi");
        assert!(check("ldkfj3@", 8, none).is_err());
        assert!(check(&"kq".repeat(65), 8, none).is_err());
    }

    #[test]
    fn common_passwords_are_refused() {
        for weak in [
            "password",
            "password123",
            "12345678",
            "qwertyuiop",
            "iloveyou1",
        ] {
            let why = check(weak, 8, Hints::default()).err();
            assert!(
                why.is_some_and(|w| w.contains("too easy to guess")),
                "{weak}"
            );
        }
    }

    #[test]
    fn the_email_in_any_form_is_refused() {
        let email = "annabelle1987@x.io";
        for password in [
            "annabelle1987@x.io",
            "annabelle1987@x.ioannabelle1987@x.io",
            "1987annabelle",
            "ANNABELLE-1987 staple",
            "ａｎｎａｂｅｌｌｅ1987",
        ] {
            assert_eq!(
                refusal(password, hints(email, None)),
                "password must not contain your email address",
                "{password}"
            );
        }
        let email = "ann@example.com";
        for password in ["ann@example.com", "ann@example.comann@example.com"] {
            assert_eq!(
                refusal(password, hints(email, None)),
                "password must not contain your email address",
                "{password}"
            );
        }
        assert!(refusal("correct horse example staple", hints(email, None)).contains("email"));
    }

    #[test]
    fn passwords_made_of_the_display_name_are_refused() {
        let name = Some("Anna Maria Lindqvist");
        for password in [
            "Anna Maria Lindqvist",
            "annamarialindqvist",
            "Lindqvist Anna Maria",
            "maria-maria-lindqvist",
            "ANNA.LINDQVIST.ANNA",
        ] {
            assert_eq!(
                refusal(password, hints("al@example.com", name)),
                "password must not contain your name",
                "{password}"
            );
        }
    }

    #[test]
    fn unrelated_passwords_still_pass() {
        let ann = hints("ann@example.com", Some("Ann"));
        assert!(check("correct horse battery staple", 8, ann).is_ok());
        // A short local part may appear: "ann" is in "annual".
        assert!(check("annual horse battery staple", 8, ann).is_ok());
        let anna = hints("annabelle1987@x.io", Some("Anna Maria Lindqvist"));
        assert!(check("correct horse battery staple", 8, anna).is_ok());
        assert!(check("anna rode a quiet tandem bicycle", 8, anna).is_ok());
    }
}
