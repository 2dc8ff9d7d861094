//! The rule every string argument follows: no C0 control character (U+0000 to U+001F),
//! except tab and newline in free text (`notes`).
//!
//! PostgreSQL cannot store a NUL and SQLite would store it, and the other controls only
//! hide text in logs and terminals; so resolvers check each string here before it reaches
//! the store or the password hasher, and the refusal names the field. A field that is
//! trimmed (title, email, display name) is checked after trimming: what is checked is what
//! would be kept.

use crate::error::AppError;

/// Refuses a one-line string (a title, an email, a token) holding any C0 control.
pub(crate) fn line(value: &str, field: &str) -> Result<(), AppError> {
    refuse_if(value.chars().any(is_c0), field)
}

/// Refuses free text holding a C0 control other than tab and newline.
pub(crate) fn multiline(value: &str, field: &str) -> Result<(), AppError> {
    refuse_if(
        value.chars().any(|c| is_c0(c) && !matches!(c, '\t' | '\n')),
        field,
    )
}

/// [`line`] over an optional string.
pub(crate) fn line_opt(value: Option<&str>, field: &str) -> Result<(), AppError> {
    value.map_or(Ok(()), |v| line(v, field))
}

fn is_c0(c: char) -> bool {
    c < '\u{20}'
}

fn refuse_if(bad: bool, field: &str) -> Result<(), AppError> {
    if bad {
        return Err(AppError::bad_input(
            field,
            format!("{field} must not contain control characters"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c0_controls_are_refused_with_the_field() {
        for bad in [
            "a\0b",
            "\u{1}",
            "tab\there",
            "new\nline",
            "\r",
            "\u{1f}",
            "\u{1b}[31m",
        ] {
            let error = line(bad, "input.title").err();
            assert!(
                matches!(&error, Some(AppError::BadUserInput { field, .. }) if field == "input.title"),
                "{bad:?}"
            );
        }
        for good in [
            "",
            "plain",
            "ünïcödé ✓",
            "del\u{7f}",
            "nbsp\u{a0}",
            "c1\u{85}",
        ] {
            assert!(line(good, "f").is_ok(), "{good:?}");
        }
    }

    #[test]
    fn free_text_keeps_tabs_and_newlines() {
        assert!(multiline("one\n\ttwo", "input.notes").is_ok());
        for bad in ["a\0b", "crlf\r\n", "\u{b}", "\u{c}"] {
            assert!(multiline(bad, "input.notes").is_err(), "{bad:?}");
        }
        assert!(line_opt(None, "f").is_ok());
        assert!(line_opt(Some("\0"), "f").is_err());
    }
}
