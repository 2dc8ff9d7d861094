//! Opaque global ids: `base64url("Kind:uuid")`. They name a kind for `node`, and reveal no
//! row number or count.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use crate::error::AppError;

/// The kinds of object a global id can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A `User`.
    User,
    /// A `Todo`.
    Todo,
    /// A `Session`.
    Session,
}

impl Kind {
    fn prefix(self) -> &'static str {
        match self {
            Self::User => "User",
            Self::Todo => "Todo",
            Self::Session => "Session",
        }
    }
}

/// The global id of a row.
pub fn encode(kind: Kind, raw: &str) -> async_graphql::ID {
    // Into one buffer of the final size: a page of todos encodes one id per row.
    let prefix = kind.prefix();
    let mut plain = Vec::with_capacity(prefix.len() + 1 + raw.len());
    plain.extend_from_slice(prefix.as_bytes());
    plain.push(b':');
    plain.extend_from_slice(raw.as_bytes());
    // Into a slice: base64's fast path (`encode_string` goes through its chunked writer).
    let mut id = vec![0; plain.len().div_ceil(3) * 4];
    let written = URL_SAFE_NO_PAD.encode_slice(&plain, &mut id).unwrap_or(0);
    id.truncate(written);
    async_graphql::ID(String::from_utf8(id).unwrap_or_default())
}

/// The kind and row id a global id names; `BAD_USER_INPUT` on `field` when it is not one.
pub fn decode(id: &str, field: &str) -> Result<(Kind, String), AppError> {
    let bad = || AppError::bad_input(field, "not a valid id");
    let bytes = URL_SAFE_NO_PAD.decode(id).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let (prefix, raw) = text.split_once(':').ok_or_else(bad)?;
    let kind = [Kind::User, Kind::Todo, Kind::Session]
        .into_iter()
        .find(|k| k.prefix() == prefix)
        .ok_or_else(bad)?;
    let uuid = uuid::Uuid::parse_str(raw).map_err(|_| bad())?;
    Ok((kind, uuid.hyphenated().to_string()))
}

/// The row id of a todo's global id: `None` when the id is well formed but names another
/// kind, which callers treat as "not found".
pub fn decode_todo(id: &str, field: &str) -> Result<Option<String>, AppError> {
    let (kind, raw) = decode(id, field)?;
    Ok((kind == Kind::Todo).then_some(raw))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let raw = uuid::Uuid::new_v4().to_string();
        let id = encode(Kind::Todo, &raw);
        assert!(!id.contains(&raw));
        assert_eq!(decode(&id, "id").ok(), Some((Kind::Todo, raw.clone())));
        assert_eq!(
            decode_todo(&encode(Kind::User, &raw), "id").ok(),
            Some(None)
        );
        for bad in ["", "!!", "VG9kbzox", "Zm9v"] {
            assert!(
                matches!(decode(bad, "id"), Err(AppError::BadUserInput { .. })),
                "{bad}"
            );
        }
    }
}
