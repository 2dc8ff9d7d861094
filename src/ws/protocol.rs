//! The two subprotocols' messages: what a client may send (parsed strictly: an unknown
//! type, a missing id or a malformed payload is a [`Malformed`] message, close 4400), what
//! the server sends, and the close codes.
//!
//! `graphql-transport-ws` (the graphql-ws library): `connection_init`, `subscribe`,
//! `complete`, `ping`, `pong` in; `connection_ack`, `next`, `error`, `complete`, `ping`,
//! `pong` out. The legacy `graphql-ws` (subscriptions-transport-ws): `connection_init`,
//! `start`, `stop`, `connection_terminate` in; `connection_ack`, `data`, `error`,
//! `complete`, `ka` out.

use serde_json::{Map, Value};

/// A subprotocol the server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    /// `graphql-transport-ws`.
    TransportWs,
    /// `graphql-ws`, the legacy subscriptions-transport-ws protocol.
    Legacy,
}

impl Protocol {
    /// The `Sec-WebSocket-Protocol` name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::TransportWs => "graphql-transport-ws",
            Self::Legacy => "graphql-ws",
        }
    }

    /// The protocol of a `Sec-WebSocket-Protocol` name.
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        [Self::TransportWs, Self::Legacy]
            .into_iter()
            .find(|p| p.name() == name)
    }
}

/// How and why the server closes a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Close {
    /// The close code.
    pub(crate) code: u16,
    /// The close reason, for people.
    pub(crate) reason: &'static str,
}

impl Close {
    /// 1000: the legacy client said `connection_terminate`.
    pub(crate) const NORMAL: Self = Self::new(1000, "normal closure");
    /// 1001: nothing arrived within the idle timeout.
    pub(crate) const IDLE: Self = Self::new(1001, "idle timeout: nothing received");
    /// 1008: more sockets than the session or user may hold.
    pub(crate) const SESSION_SOCKETS: Self =
        Self::new(1008, "too many open sockets for this session");
    /// 1008: more sockets than the user may hold.
    pub(crate) const USER_SOCKETS: Self = Self::new(1008, "too many open sockets for this user");
    /// 1009: a message or frame over the size cap.
    pub(crate) const TOO_BIG: Self = Self::new(1009, "message too big");
    /// 1012: the server is shutting down; reconnect elsewhere.
    pub(crate) const RESTART: Self = Self::new(1012, "server restarting");
    /// 1013: the client reads too slowly (its queue overflowed twice in a row).
    pub(crate) const SLOW: Self = Self::new(1013, "the client reads too slowly; reconnect");
    /// 4400: a malformed message.
    pub(crate) const MALFORMED: Self = Self::new(4400, "malformed message");
    /// 4401: `subscribe` before `connection_ack`.
    pub(crate) const UNAUTHORIZED: Self = Self::new(4401, "Unauthorized");
    /// 4403: bad, expired or revoked credentials.
    pub(crate) const FORBIDDEN: Self = Self::new(4403, "Forbidden");
    /// 4406: no subprotocol the server speaks was offered.
    pub(crate) const SUBPROTOCOL: Self = Self::new(4406, "Subprotocol not acceptable");
    /// 4408: no `connection_init` in time.
    pub(crate) const INIT_TIMEOUT: Self = Self::new(4408, "Connection initialisation timeout");
    /// 4409: a `subscribe` whose id is still running.
    pub(crate) const DUPLICATE_ID: Self = Self::new(4409, "Subscriber for this id already exists");
    /// 4429: a second `connection_init`.
    pub(crate) const DUPLICATE_INIT: Self = Self::new(4429, "Too many initialisation requests");

    const fn new(code: u16, reason: &'static str) -> Self {
        Self { code, reason }
    }
}

/// A message that breaks the protocol: the socket closes 4400.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Malformed;

/// A client message.
#[derive(Debug)]
pub(crate) enum Inbound {
    /// `connection_init`, with its payload (an object, or none).
    Init(Map<String, Value>),
    /// `subscribe` (`start`): run an operation under `id`.
    Subscribe {
        id: String,
        request: Box<async_graphql::Request>,
    },
    /// `complete` (`stop`): stop the operation `id`.
    Complete { id: String },
    /// `ping`: answer `pong`.
    Ping,
    /// `pong`: nothing to do (it counts as a sign of life).
    Pong,
    /// `connection_terminate` (legacy): close normally.
    Terminate,
}

impl Protocol {
    /// Parses one text message.
    pub(crate) fn parse(self, text: &str) -> Result<Inbound, Malformed> {
        let Ok(Value::Object(mut message)) = serde_json::from_str::<Value>(text) else {
            return Err(Malformed);
        };
        let kind = match message.get("type") {
            Some(Value::String(kind)) => kind.clone(),
            _ => return Err(Malformed),
        };
        let payload = message.remove("payload").unwrap_or(Value::Null);
        let id = || match message.get("id") {
            Some(Value::String(id)) if !id.is_empty() => Ok(id.clone()),
            _ => Err(Malformed),
        };
        let legacy = self == Self::Legacy;
        match (kind.as_str(), legacy) {
            ("connection_init", _) => match payload {
                Value::Null => Ok(Inbound::Init(Map::new())),
                Value::Object(payload) => Ok(Inbound::Init(payload)),
                _ => Err(Malformed),
            },
            ("subscribe", false) | ("start", true) => {
                // The same request object as over HTTP, but its `query` must be there,
                // unless a persisted-query hash names the document.
                let persisted = payload
                    .get("extensions")
                    .and_then(|extensions| extensions.get("persistedQuery"))
                    .is_some_and(Value::is_object);
                let sendable = match payload.get("query") {
                    Some(Value::String(_)) => true,
                    None => persisted,
                    Some(_) => false,
                };
                if !sendable {
                    return Err(Malformed);
                }
                let request: async_graphql::Request =
                    serde_json::from_value(payload).map_err(|_| Malformed)?;
                Ok(Inbound::Subscribe {
                    id: id()?,
                    request: Box::new(request),
                })
            }
            ("complete", false) | ("stop", true) => Ok(Inbound::Complete { id: id()? }),
            ("ping", false) => Ok(Inbound::Ping),
            ("pong", false) => Ok(Inbound::Pong),
            ("connection_terminate", true) => Ok(Inbound::Terminate),
            _ => Err(Malformed),
        }
    }

    /// `connection_ack`.
    pub(crate) fn ack(self) -> String {
        r#"{"type":"connection_ack"}"#.to_owned()
    }

    /// The keep-alive the server sends every ping interval: `ping` (the client answers
    /// `pong`), or the legacy `ka`.
    pub(crate) fn keep_alive(self) -> String {
        match self {
            Self::TransportWs => r#"{"type":"ping"}"#.to_owned(),
            Self::Legacy => r#"{"type":"ka"}"#.to_owned(),
        }
    }

    /// `pong`, the answer to a client's `ping`.
    pub(crate) fn pong(self) -> String {
        r#"{"type":"pong"}"#.to_owned()
    }

    /// `next` (`data`): one answer of operation `id`, already encoded as JSON.
    pub(crate) fn next(self, id: &str, answer: &[u8]) -> String {
        let kind = match self {
            Self::TransportWs => "next",
            Self::Legacy => "data",
        };
        framed(kind, id, answer)
    }

    /// `error`: operation `id` did not run; `answer` is its encoded response, whose
    /// `errors` become the payload.
    pub(crate) fn error(self, id: &str, answer: &[u8]) -> String {
        let errors = serde_json::from_slice::<Value>(answer)
            .ok()
            .and_then(|mut body| body.get_mut("errors").map(Value::take))
            .unwrap_or_else(|| Value::Array(Vec::new()));
        let payload = serde_json::to_vec(&errors).unwrap_or_else(|_| b"[]".to_vec());
        framed("error", id, &payload)
    }

    /// `complete`: operation `id` has ended.
    pub(crate) fn complete(self, id: &str) -> String {
        let id = serde_json::to_string(id).unwrap_or_else(|_| "\"\"".to_owned());
        format!(r#"{{"type":"complete","id":{id}}}"#)
    }
}

/// `{"type":kind,"id":id,"payload":payload}` with `payload` already encoded.
fn framed(kind: &str, id: &str, payload: &[u8]) -> String {
    let id = serde_json::to_string(id).unwrap_or_else(|_| "\"\"".to_owned());
    let payload = String::from_utf8_lossy(payload);
    format!(r#"{{"type":"{kind}","id":{id},"payload":{payload}}}"#)
}

/// The type of a message the server built, for the metrics.
pub(crate) fn kind_of(message: &str) -> &'static str {
    const KINDS: [&str; 8] = [
        "connection_ack",
        "next",
        "data",
        "error",
        "complete",
        "ping",
        "pong",
        "ka",
    ];
    let kind = message
        .strip_prefix(r#"{"type":""#)
        .and_then(|rest| rest.split('"').next());
    KINDS
        .into_iter()
        .find(|known| Some(*known) == kind)
        .unwrap_or("other")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_parse_strictly_per_protocol() {
        let modern = Protocol::TransportWs;
        assert!(matches!(
            modern.parse(r#"{"type":"connection_init"}"#),
            Ok(Inbound::Init(_))
        ));
        assert!(matches!(
            modern.parse(r#"{"type":"subscribe","id":"1","payload":{"query":"{ me { id } }"}}"#),
            Ok(Inbound::Subscribe { .. })
        ));
        let hashed = r#"{"type":"subscribe","id":"1","payload":{"extensions":{"persistedQuery":{"version":1,"sha256Hash":"00"}}}}"#;
        assert!(matches!(
            modern.parse(hashed),
            Ok(Inbound::Subscribe { .. })
        ));
        for bad in [
            "not json",
            "[]",
            r#"{"id":"1"}"#,
            r#"{"type":"start","id":"1","payload":{"query":"{ x }"}}"#,
            r#"{"type":"subscribe","payload":{"query":"{ x }"}}"#,
            r#"{"type":"subscribe","id":"","payload":{"query":"{ x }"}}"#,
            r#"{"type":"subscribe","id":"1","payload":{"variables":{}}}"#,
            r#"{"type":"complete"}"#,
            r#"{"type":"connection_init","payload":"token"}"#,
            r#"{"type":"connection_terminate"}"#,
        ] {
            assert_eq!(modern.parse(bad).err(), Some(Malformed), "{bad}");
        }
        let legacy = Protocol::Legacy;
        assert!(matches!(
            legacy.parse(r#"{"type":"start","id":"1","payload":{"query":"{ x }"}}"#),
            Ok(Inbound::Subscribe { .. })
        ));
        assert!(matches!(
            legacy.parse(r#"{"type":"connection_terminate"}"#),
            Ok(Inbound::Terminate)
        ));
        assert_eq!(legacy.parse(r#"{"type":"ping"}"#).err(), Some(Malformed));
    }

    #[test]
    fn server_messages_name_their_type_and_escape_the_id() {
        let answer = br#"{"data":{"a":1}}"#;
        let next = Protocol::TransportWs.next("a\"b", answer);
        assert_eq!(
            next,
            r#"{"type":"next","id":"a\"b","payload":{"data":{"a":1}}}"#
        );
        assert_eq!(kind_of(&next), "next");
        assert_eq!(kind_of(&Protocol::Legacy.next("1", answer)), "data");
        let error = Protocol::TransportWs.error("1", br#"{"errors":[{"message":"m"}]}"#);
        assert_eq!(
            error,
            r#"{"type":"error","id":"1","payload":[{"message":"m"}]}"#
        );
        assert_eq!(
            Protocol::TransportWs.complete("1"),
            r#"{"type":"complete","id":"1"}"#
        );
    }

    /// Frames as a client may send them: JSON of any shape (nested up to the socket's
    /// message cap), protocol-looking objects with wrong field types, and raw text.
    fn frames() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            "[a-z_]{0,12}".prop_map(Value::from),
        ];
        let json = leaf.prop_recursive(6, 64, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
                prop::collection::btree_map(
                    prop_oneof![
                        Just("type".to_owned()),
                        Just("id".to_owned()),
                        Just("payload".to_owned()),
                        Just("query".to_owned()),
                        Just("variables".to_owned()),
                        "[a-z]{1,6}",
                    ],
                    inner,
                    0..5,
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        });
        let kinds = prop_oneof![
            Just("connection_init"),
            Just("subscribe"),
            Just("start"),
            Just("complete"),
            Just("stop"),
            Just("ping"),
            Just("pong"),
            Just("connection_terminate"),
        ];
        prop_oneof![
            json.clone().prop_map(|v| v.to_string()),
            (kinds, json.clone(), json).prop_map(|(kind, id, payload)| {
                serde_json::json!({ "type": kind, "id": id, "payload": payload }).to_string()
            }),
            ".{0,64}",
            // Nesting far past what serde_json follows by default.
            (1_usize..2_000).prop_map(|n| format!("{}{}", "[".repeat(n), "]".repeat(n))),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(400))]

        /// Whatever a client sends, the parser answers (a message, or malformed: 4400)
        /// without panicking, and only what the protocol names becomes a message.
        #[test]
        fn any_frame_is_parsed_or_refused(text in frames()) {
            for protocol in [Protocol::TransportWs, Protocol::Legacy] {
                if let Ok(Inbound::Subscribe { id, .. } | Inbound::Complete { id }) =
                    protocol.parse(&text)
                {
                    proptest::prop_assert!(!id.is_empty());
                }
            }
        }
    }
}
