//! The `DateTime` scalar: RFC 3339 in, RFC 3339 UTC with a `Z` out.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::{SecondsFormat, SubsecRound, Utc};

/// An instant, read as RFC 3339 with any offset and written in UTC. Kept to microseconds,
/// the precision the databases store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTime(pub chrono::DateTime<Utc>);

#[Scalar(name = "DateTime")]
/// An RFC 3339 date-time such as `2026-01-31T09:00:00Z`; any offset is accepted on input, and
/// output is always UTC. Precision is one microsecond.
impl ScalarType for DateTime {
    fn parse(value: Value) -> InputValueResult<Self> {
        let Value::String(text) = &value else {
            return Err(InputValueError::expected_type(value));
        };
        chrono::DateTime::parse_from_rfc3339(text)
            .map(|t| Self(t.with_timezone(&Utc).trunc_subsecs(6)))
            .map_err(|_| {
                InputValueError::custom(
                    "expected an RFC 3339 date-time such as 2026-01-31T09:00:00Z",
                )
            })
    }

    fn to_value(&self) -> Value {
        Value::String(self.text())
    }
}

impl DateTime {
    /// The instant as the schema writes it.
    pub(crate) fn text(&self) -> String {
        self.0.to_rfc3339_opts(SecondsFormat::AutoSi, true)
    }
}

impl From<chrono::DateTime<Utc>> for DateTime {
    fn from(value: chrono::DateTime<Utc>) -> Self {
        Self(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_become_utc() {
        let parsed = DateTime::parse(Value::String("2026-01-31T10:00:00.1234567+01:00".into()))
            .unwrap_or_else(|e| panic!("{}", e.into_server_error(Default::default()).message));
        assert_eq!(
            parsed.to_value(),
            Value::String("2026-01-31T09:00:00.123456Z".into())
        );
    }

    #[test]
    fn garbage_is_refused() {
        assert!(DateTime::parse(Value::String("tomorrow".into())).is_err());
        assert!(DateTime::parse(Value::Number(5.into())).is_err());
    }
}
