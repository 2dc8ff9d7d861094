//! Opaque cursors: `base64url(JSON)` of a row's [`Position`] plus a fingerprint of the filter
//! and order of its list, so a cursor reused with another filter or order is refused instead
//! of silently skipping rows.
//!
//! The JSON is `{"f": fingerprint, "p": {"key": {"<kind>": key}, "id": id}}`; a cursor is
//! read back only into the [`Position`] variant of the list's own order, so a key of another
//! kind is refused as a cursor of another list. A cursor is only base64: its strings are as
//! untrusted as any argument.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::sync::{Arc, OnceLock};

use crate::{
    error::AppError,
    graphql::text,
    store::todos::{Filter, Order, OrderField, Position},
};

/// How the cursors of one list (one filter and order) are made and read.
#[derive(Debug, Clone)]
pub(super) struct Cursors {
    fingerprint: Arc<str>,
    field: OrderField,
}

/// A cursor as it is sent.
#[derive(Serialize, Deserialize)]
struct Wire<S> {
    /// Fingerprint of filter and order.
    f: S,
    /// The position.
    p: WirePosition<S>,
}

#[derive(Serialize, Deserialize)]
struct WirePosition<S> {
    key: WireKey<S>,
    id: S,
}

/// A sort key, tagged by its kind rather than by its order.
#[derive(Serialize, Deserialize)]
enum WireKey<S> {
    /// CREATED_AT or UPDATED_AT.
    Time(NaiveDateTime),
    /// DUE_AT.
    MaybeTime(Option<NaiveDateTime>),
    /// PRIORITY.
    Int(i32),
    /// TITLE.
    Text(S),
}

/// What a cursor carries of the list it was made for.
fn fingerprint(filter: &Filter, order: Order) -> Arc<str> {
    let canonical = serde_json::to_vec(&(filter, order)).unwrap_or_default();
    let digest = Sha256::digest(&canonical);
    URL_SAFE_NO_PAD.encode(&digest[..9]).into()
}

impl Cursors {
    /// The cursors of the list of `filter` in `order`.
    pub(super) fn new(filter: &Filter, order: Order) -> Self {
        // Most lists are unfiltered: their fingerprints, one per order, are made once.
        static UNFILTERED: [OnceLock<Arc<str>>; 10] = [const { OnceLock::new() }; 10];
        let slot = (order.field as usize) * 2 + order.direction as usize;
        let fingerprint = match UNFILTERED.get(slot) {
            Some(cached) if *filter == Filter::default() => {
                Arc::clone(cached.get_or_init(|| fingerprint(filter, order)))
            }
            _ => fingerprint(filter, order),
        };
        Self {
            fingerprint,
            field: order.field,
        }
    }

    /// The cursor of `position`.
    pub(super) fn encode(&self, position: &Position) -> String {
        let (key, id) = match position {
            Position::CreatedAt { key, id } | Position::UpdatedAt { key, id } => {
                (WireKey::Time(*key), id)
            }
            Position::DueAt { key, id } => (WireKey::MaybeTime(*key), id),
            Position::Priority { key, id } => (WireKey::Int(*key), id),
            Position::Title { key, id } => (WireKey::Text(key.as_str()), id),
        };
        let wire = Wire {
            f: &*self.fingerprint,
            p: WirePosition { key, id },
        };
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&wire).unwrap_or_default())
    }

    /// The position `cursor` names in this list; `BAD_USER_INPUT` on `arg` when it is
    /// malformed, belongs to another list or holds a control character.
    pub(super) fn decode(&self, cursor: &str, arg: &str) -> Result<Position, AppError> {
        let bad =
            |why: &str| AppError::bad_input(arg, format!("{arg} is not a valid cursor: {why}"));
        let bytes = URL_SAFE_NO_PAD
            .decode(cursor)
            .map_err(|_| bad("malformed"))?;
        let wire: Wire<String> = serde_json::from_slice(&bytes).map_err(|_| bad("malformed"))?;
        let position = (wire.f == *self.fingerprint)
            .then(|| self.position(wire.p))
            .flatten()
            .ok_or_else(|| bad("it was made for another filter or orderBy"))?;
        text::line(position.id(), arg)?;
        if let Position::Title { key, .. } = &position {
            text::line(key, arg)?;
        }
        Ok(position)
    }

    /// `wire` as a position of this list's order; `None` when its key is of another kind.
    fn position(&self, wire: WirePosition<String>) -> Option<Position> {
        let WirePosition { key, id } = wire;
        let position = match (self.field, key) {
            (OrderField::CreatedAt, WireKey::Time(key)) => Position::CreatedAt { key, id },
            (OrderField::UpdatedAt, WireKey::Time(key)) => Position::UpdatedAt { key, id },
            (OrderField::DueAt, WireKey::MaybeTime(key)) => Position::DueAt { key, id },
            (OrderField::Priority, WireKey::Int(key)) => Position::Priority { key, id },
            (OrderField::Title, WireKey::Text(key)) => Position::Title { key, id },
            _ => return None,
        };
        Some(position)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::todos::{Direction, Priority};
    use serde_json::{Value, json};

    fn cursors(field: OrderField) -> Cursors {
        let order = Order {
            field,
            direction: Direction::Asc,
        };
        Cursors::new(&Filter::default(), order)
    }

    fn time(s: &str) -> NaiveDateTime {
        s.parse().unwrap_or_default()
    }

    #[test]
    fn each_unfiltered_order_keeps_its_own_fingerprint() {
        use OrderField::*;
        let mut seen = std::collections::HashSet::new();
        for field in [CreatedAt, UpdatedAt, DueAt, Priority, Title] {
            for direction in [Direction::Asc, Direction::Desc] {
                let order = Order { field, direction };
                let made = Cursors::new(&Filter::default(), order).fingerprint;
                let again = Cursors::new(&Filter::default(), order).fingerprint;
                assert_eq!(made, fingerprint(&Filter::default(), order));
                assert_eq!(made, again);
                assert!(
                    seen.insert(made),
                    "{field:?} {direction:?} shares a fingerprint"
                );
            }
        }
        let filtered = Filter {
            completed: Some(true),
            ..Filter::default()
        };
        let order = Order::default();
        let made = Cursors::new(&filtered, order).fingerprint;
        assert_eq!(made, fingerprint(&filtered, order));
        assert!(!seen.contains(&made));
    }

    fn json_of(cursor: &str) -> Value {
        let bytes = URL_SAFE_NO_PAD.decode(cursor).unwrap_or_default();
        serde_json::from_slice(&bytes).unwrap_or_default()
    }

    fn cursor_of(value: &Value) -> String {
        URL_SAFE_NO_PAD.encode(value.to_string())
    }

    fn field_of(position: &Position) -> OrderField {
        match position {
            Position::CreatedAt { .. } => OrderField::CreatedAt,
            Position::UpdatedAt { .. } => OrderField::UpdatedAt,
            Position::DueAt { .. } => OrderField::DueAt,
            Position::Priority { .. } => OrderField::Priority,
            Position::Title { .. } => OrderField::Title,
        }
    }

    fn every_kind() -> [(Position, Value); 6] {
        let at = time("2026-01-31T09:00:00.123456");
        let id = || "3f2b".to_owned();
        [
            (
                Position::CreatedAt { key: at, id: id() },
                json!({ "Time": "2026-01-31T09:00:00.123456" }),
            ),
            (
                Position::UpdatedAt { key: at, id: id() },
                json!({ "Time": "2026-01-31T09:00:00.123456" }),
            ),
            (
                Position::DueAt {
                    key: Some(at),
                    id: id(),
                },
                json!({ "MaybeTime": "2026-01-31T09:00:00.123456" }),
            ),
            (
                Position::DueAt {
                    key: None,
                    id: id(),
                },
                json!({ "MaybeTime": null }),
            ),
            (Position::Priority { key: 3, id: id() }, json!({ "Int": 3 })),
            (
                Position::Title {
                    key: "milk".into(),
                    id: id(),
                },
                json!({ "Text": "milk" }),
            ),
        ]
    }

    #[test]
    fn every_kind_of_position_round_trips_in_the_wire_format() {
        for (position, key) in every_kind() {
            let cursors = cursors(field_of(&position));
            let cursor = cursors.encode(&position);
            let wire = json_of(&cursor);
            assert_eq!(wire["p"], json!({ "key": key, "id": "3f2b" }), "{wire}");
            assert_eq!(wire["f"], *cursors.fingerprint);
            let decoded = cursors.decode(&cursor, "after");
            assert_eq!(decoded.ok(), Some(position));
        }
    }

    #[test]
    fn a_cursor_of_another_order_or_filter_is_refused() {
        let fields = [
            OrderField::CreatedAt,
            OrderField::UpdatedAt,
            OrderField::DueAt,
            OrderField::Priority,
            OrderField::Title,
        ];
        for (position, _) in every_kind() {
            let cursor = cursors(field_of(&position)).encode(&position);
            for field in fields.into_iter().filter(|f| *f != field_of(&position)) {
                assert!(cursors(field).decode(&cursor, "after").is_err());
            }
            let other = Filter {
                priority_in: Some(vec![Priority::High]),
                ..Filter::default()
            };
            let order = Order {
                field: field_of(&position),
                direction: Direction::Asc,
            };
            assert!(
                Cursors::new(&other, order)
                    .decode(&cursor, "after")
                    .is_err()
            );
            let desc = Order {
                direction: Direction::Desc,
                ..order
            };
            let decoded = Cursors::new(&Filter::default(), desc).decode(&cursor, "after");
            assert!(decoded.is_err());
        }
    }

    #[test]
    fn a_key_of_another_kind_is_refused_even_with_the_right_fingerprint() {
        // The fingerprint is no secret: a client can copy it into a cursor of its own.
        let title = cursors(OrderField::Title);
        let position = Position::Title {
            key: "milk".into(),
            id: "x".into(),
        };
        let mut wire = json_of(&title.encode(&position));
        wire["p"]["key"] = json!({ "Int": 2 });
        let error = title.decode(&cursor_of(&wire), "before").err();
        let message = error.map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("another filter or orderBy"), "{message}");
    }

    #[test]
    fn tampered_cursors_are_refused_with_the_argument() {
        let title = cursors(OrderField::Title);
        let position = Position::Title {
            key: "milk".into(),
            id: "x".into(),
        };
        let cursor = title.encode(&position);
        let wire = json_of(&cursor);
        let mut tampered = Vec::new();
        for (pointer, value) in [
            ("/f", json!("AAAAAAAAAAAA")),
            ("/p/key/Text", json!("mi\u{0}lk")),
            ("/p/key/Text", json!(7)),
            ("/p/id", json!("\u{1b}[31m")),
            ("/p/id", json!(null)),
        ] {
            let mut forged = wire.clone();
            if let Some(slot) = forged.pointer_mut(pointer) {
                *slot = value;
            }
            tampered.push(cursor_of(&forged));
        }
        tampered.push(cursor[..cursor.len() - 3].to_owned());
        tampered.extend(["", "garbage!", "eyJ4IjoxfQ", "\u{0}"].map(String::from));
        for cursor in tampered {
            match title.decode(&cursor, "before") {
                Err(AppError::BadUserInput { field, .. }) => assert_eq!(field, "before"),
                other => panic!("{cursor} gave {other:?}"),
            }
        }
    }

    #[test]
    fn fingerprints_are_stable_across_releases() {
        // Cursors handed out before an upgrade keep working after it.
        let default = Cursors::new(&Filter::default(), Order::default());
        assert_eq!(&*default.fingerprint, "kMpwSbTdA4iQ");
        let filter = Filter {
            completed: Some(true),
            search: Some("a".into()),
            priority_in: Some(vec![Priority::None, Priority::High]),
            ..Filter::default()
        };
        let order = Order {
            field: OrderField::Title,
            direction: Direction::Asc,
        };
        assert_eq!(&*Cursors::new(&filter, order).fingerprint, "Thd4BLduDS_Z");
    }
}
