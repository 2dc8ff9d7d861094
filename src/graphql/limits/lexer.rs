//! A first look at a document before it is parsed: its lexical tokens and how deeply its
//! brackets nest. The parser recurses once per bracket, so nesting is bounded here, where
//! a loop and two counters cost nothing, before any recursion can see the document.

/// What the scan found, each count stopping once past its bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Scan {
    /// Lexical tokens (names, numbers, strings, punctuators), up to one past the bound.
    pub(super) tokens: usize,
    /// The deepest nesting of `{`, `[` and `(`.
    pub(super) nesting: usize,
}

/// Scans `query`, stopping once it has seen more than `max_tokens` tokens or brackets
/// nested deeper than `max_nesting`, so a huge document costs no more than the limits.
pub(super) fn scan(query: &str, max_tokens: usize, max_nesting: usize) -> Scan {
    let bytes = query.as_bytes();
    let (mut i, mut tokens, mut open, mut nesting) = (0, 0, 0_usize, 0);
    while i < bytes.len() && tokens <= max_tokens && nesting <= max_nesting {
        match bytes[i] {
            b' ' | b'\t' | b'\n' | b'\r' | b',' => i += 1,
            0xEF if bytes[i..].starts_with("\u{feff}".as_bytes()) => i += 3,
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                tokens += 1;
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    i += if bytes[i..].starts_with(b"\\\"\"\"") {
                        4
                    } else {
                        1
                    };
                }
                i += 3;
            }
            b'"' => {
                tokens += 1;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'.' if bytes[i..].starts_with(b"...") => {
                tokens += 1;
                i += 3;
            }
            c if c.is_ascii_alphanumeric() || c == b'_' || c == b'-' => {
                tokens += 1;
                i += 1;
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric()
                        || matches!(bytes[i], b'_' | b'.' | b'+' | b'-'))
                {
                    i += 1;
                }
            }
            c => {
                match c {
                    b'{' | b'[' | b'(' => {
                        open += 1;
                        nesting = nesting.max(open);
                    }
                    b'}' | b']' | b')' => open = open.saturating_sub(1),
                    _ => {}
                }
                tokens += 1;
                i += 1;
            }
        }
    }
    Scan { tokens, nesting }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(query: &str) -> usize {
        scan(query, 100, 100).tokens
    }

    #[test]
    fn tokens_are_counted_like_a_lexer_would() {
        assert_eq!(tokens("{ a(x: \"s, t\") { b } }"), 11);
        assert_eq!(tokens("# comment\n{ ...F }"), 4);
        assert_eq!(tokens("{ a(n: -1.5e3) }"), 8);
        assert_eq!(tokens("{ a(s: \"\"\"x { [ \"\"\") }"), 8);
    }

    #[test]
    fn nesting_counts_every_bracket_outside_strings() {
        assert_eq!(scan("{ a { b(x: [{ y: 1 }]) } }", 100, 100).nesting, 5);
        assert_eq!(scan("{ a(s: \"{{{{\") }", 100, 100).nesting, 2);
        assert_eq!(scan("}}}} { a }", 100, 100).nesting, 1);
    }

    #[test]
    fn the_scan_stops_past_either_bound() {
        let deep = "[".repeat(100_000);
        let found = scan(&deep, 1_000_000, 64);
        assert_eq!(found.nesting, 65);
        assert!(found.tokens <= 66);
        let long = "a ".repeat(100_000);
        assert_eq!(scan(&long, 10, 64).tokens, 11);
    }
}
