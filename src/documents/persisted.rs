//! Apollo's automatic persisted queries, as Apollo Client and urql send them: a request's
//! `extensions.persistedQuery = { version: 1, sha256Hash }` names its document by the
//! SHA-256 of its text (64 hexadecimal digits), with or without the text itself. Read here
//! with serde; what the hash then means is the document cache's business.

use async_graphql::{Extensions, ServerError, Value};
use serde::Deserialize;

use super::Hash;
use crate::error::AppError;

/// The only version of the protocol there is.
const VERSION: i64 = 1;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PersistedQuery {
    version: i64,
    sha256_hash: String,
}

/// The hash a request names its document by: `None` without `extensions.persistedQuery`
/// (or with a null one), a `BAD_USER_INPUT` refusal for one that is malformed or of a
/// version other than 1.
pub(super) fn requested(extensions: &Extensions) -> Result<Option<Hash>, ServerError> {
    let refuse = |message: String| {
        AppError::bad_input("extensions.persistedQuery", message).to_server_error("-")
    };
    let value = match extensions.0.get("persistedQuery") {
        None | Some(Value::Null) => return Ok(None),
        Some(value) => value,
    };
    // Only an object: serde would also read the struct from an array.
    let persisted = match value {
        Value::Object(_) => async_graphql::from_value::<PersistedQuery>(value.clone()).ok(),
        _ => None,
    };
    let Some(persisted) = persisted else {
        return Err(refuse(
            "persistedQuery must be an object { version: 1, sha256Hash: \"<64 hexadecimal \
             digits>\" }"
                .to_owned(),
        ));
    };
    if persisted.version != VERSION {
        return Err(refuse(format!(
            "persisted query version {} is not supported; only version {VERSION} is",
            persisted.version
        )));
    }
    decode(&persisted.sha256_hash)
        .map(Some)
        .ok_or_else(|| refuse("sha256Hash must be 64 hexadecimal digits".to_owned()))
}

/// 64 hexadecimal digits (either case) as the 32 bytes they spell.
fn decode(hex: &str) -> Option<Hash> {
    let digits = hex.as_bytes();
    if digits.len() != 64 {
        return None;
    }
    let mut hash = [0_u8; 32];
    for (byte, pair) in hash.iter_mut().zip(digits.chunks_exact(2)) {
        let high = char::from(pair[0]).to_digit(16)?;
        let low = char::from(pair[1]).to_digit(16)?;
        *byte = u8::try_from(high << 4 | low).ok()?;
    }
    Some(hash)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    fn extensions(persisted: serde_json::Value) -> Extensions {
        let value = json!({ "persistedQuery": persisted });
        serde_json::from_value(value).unwrap_or_default()
    }

    fn lower_hex(hash: &Hash) -> String {
        hash.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn reason(result: Result<Option<Hash>, ServerError>) -> Option<String> {
        let error = result.err()?;
        Some(error.message)
    }

    #[test]
    fn apollo_requests_are_read() {
        let hash = "ecf4edb46db40b5132295c0291d62fb65d6759a9eedfa4d5d612dd5ec54a6b38";
        let sent = extensions(json!({ "version": 1, "sha256Hash": hash }));
        let read = requested(&sent).ok().flatten().map(|h| lower_hex(&h));
        assert_eq!(read.as_deref(), Some(hash));
        assert_eq!(requested(&Extensions::default()).ok(), Some(None));
        assert_eq!(requested(&extensions(json!(null))).ok(), Some(None));
    }

    #[test]
    fn other_versions_and_shapes_are_refused() {
        let hash = "0".repeat(64);
        let version = reason(requested(&extensions(
            json!({ "version": 2, "sha256Hash": hash }),
        )));
        assert!(version.is_some_and(|m| m.contains("version 2 is not supported")));
        for broken in [
            json!({ "sha256Hash": hash }),
            json!({ "version": "1", "sha256Hash": hash }),
            json!({ "version": 1 }),
            json!({ "version": 1, "sha256Hash": 7 }),
            json!("hash"),
            json!([1, hash]),
        ] {
            assert!(requested(&extensions(broken.clone())).is_err(), "{broken}");
        }
    }

    /// Any JSON, close to a persistedQuery object or not.
    fn any_json() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<f64>().prop_map(|f| json!(f)),
            "[0-9a-fA-FxyZ\u{e9}]{0,70}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                prop::collection::btree_map(
                    prop_oneof![
                        Just("version".to_owned()),
                        Just("sha256Hash".to_owned()),
                        "[a-z]{1,6}"
                    ],
                    inner,
                    0..4
                )
                .prop_map(|map| serde_json::Value::Object(map.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn anything_is_read_or_refused_never_a_panic(value in any_json()) {
            let _ = requested(&extensions(value));
        }

        #[test]
        fn exactly_version_1_with_64_hex_digits_is_accepted(
            version in prop_oneof![Just(1_i64), any::<i64>()],
            hash in prop_oneof!["[0-9a-f]{64}", "[0-9A-F]{64}", "[0-9a-fg]{62,66}"],
        ) {
            let read = requested(&extensions(json!({ "version": version, "sha256Hash": hash })));
            let valid = version == 1
                && hash.len() == 64
                && hash.bytes().all(|b| b.is_ascii_hexdigit());
            match read {
                Ok(Some(decoded)) => {
                    prop_assert!(valid);
                    prop_assert_eq!(lower_hex(&decoded), hash.to_ascii_lowercase());
                }
                Ok(None) => prop_assert!(false, "a persistedQuery read as absent"),
                Err(error) => {
                    prop_assert!(!valid, "refused: {}", error.message);
                    let code = error.extensions.and_then(|e| e.get("code").cloned());
                    prop_assert_eq!(code, Some(Value::from("BAD_USER_INPUT")));
                }
            }
        }
    }
}
