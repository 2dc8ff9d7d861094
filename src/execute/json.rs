//! Answers written as JSON text: the same bytes serde_json writes for a `Response`, in one
//! pass into one buffer that never grows past the response limit. serde_json's own path
//! went through a generic `io::Write` call per fragment and a byte-at-a-time escape loop:
//! a quarter of a list request's instructions.
//!
//! Parts of an answer that a resolver wrote itself (the planned selections of
//! `graphql::plain`) travel through the engine as a [`pre_written`] value and are copied
//! here as they are. The schema has no scalar of its own in binary form, and async-graphql
//! makes `Value::Binary` only from uploads, which are input: a binary value in an answer is
//! always one of these.

use async_graphql::{Response, ServerError, Value};

/// JSON text under construction, at most `max` bytes; past that it stops growing and
/// [`Json::finish`] gives nothing.
pub(crate) struct Json {
    bytes: Vec<u8>,
    max: usize,
    over: bool,
}

/// A value whose JSON text is `json`, which the engine carries without reading.
pub(crate) fn pre_written(json: Json) -> Value {
    Value::Binary(json.bytes.into())
}

/// `response` as JSON (`data`, then `extensions` and `errors` when there are any), or
/// `None` when that is more than `max` bytes.
pub(crate) fn response(response: &Response, max: usize) -> Option<Vec<u8>> {
    let mut out = Json::new(max);
    out.push(b"{\"data\":");
    out.value(&response.data);
    if !response.extensions.is_empty() {
        out.push(b",\"extensions\":");
        out.serde(&response.extensions);
    }
    if !response.errors.is_empty() {
        out.push(b",\"errors\":");
        out.serde(&response.errors);
    }
    out.push(b"}");
    out.finish()
}

/// An answer of errors alone, for an operation that never ran: no `data` entry at all, not
/// even null (GraphQL's "Response Format"); `None` when that is more than `max` bytes.
pub(crate) fn errors(errors: &[ServerError], max: usize) -> Option<Vec<u8>> {
    let mut out = Json::new(max);
    out.push(b"{\"errors\":");
    out.serde(&errors);
    out.push(b"}");
    out.finish()
}

impl Json {
    /// An empty text of at most `max` bytes.
    pub(crate) fn new(max: usize) -> Self {
        // Most answers fit in a few KiB: one allocation instead of a dozen regrowths.
        Self {
            bytes: Vec::with_capacity(max.min(8 * 1024)),
            max,
            over: false,
        }
    }

    /// An empty text bounded only by what is written into it: a part of an answer, which
    /// the whole answer's limit bounds when it is copied there.
    pub(crate) fn part() -> Self {
        Self {
            bytes: Vec::with_capacity(1024),
            max: usize::MAX,
            over: false,
        }
    }

    /// The text, or `None` if it outgrew its limit.
    pub(crate) fn finish(self) -> Option<Vec<u8>> {
        (!self.over).then_some(self.bytes)
    }

    #[inline]
    fn push(&mut self, bytes: &[u8]) {
        if self.over || self.bytes.len().saturating_add(bytes.len()) > self.max {
            self.over = true;
            return;
        }
        self.bytes.extend_from_slice(bytes);
    }

    #[inline]
    fn push_byte(&mut self, byte: u8) {
        self.push(&[byte]);
    }

    /// Opens an object.
    pub(crate) fn begin_object(&mut self) {
        self.push_byte(b'{');
    }

    /// Closes an object.
    pub(crate) fn end_object(&mut self) {
        self.push_byte(b'}');
    }

    /// Opens a list.
    pub(crate) fn begin_list(&mut self) {
        self.push_byte(b'[');
    }

    /// Closes a list.
    pub(crate) fn end_list(&mut self) {
        self.push_byte(b']');
    }

    /// The separator before every item of a list or object but its first.
    pub(crate) fn comma(&mut self) {
        self.push_byte(b',');
    }

    /// `"key":`, after a comma unless it is the object's first key.
    pub(crate) fn key(&mut self, first: bool, key: &str) {
        if !first {
            self.comma();
        }
        self.str(key);
        self.push_byte(b':');
    }

    /// `null`.
    pub(crate) fn null(&mut self) {
        self.push(b"null");
    }

    /// `true` or `false`.
    pub(crate) fn bool(&mut self, value: bool) {
        self.push(if value { b"true" } else { b"false" });
    }

    /// An integer.
    pub(crate) fn int(&mut self, value: i64) {
        self.push(itoa::Buffer::new().format(value).as_bytes());
    }

    /// A string, quoted and escaped as serde_json escapes it: `"`, `\` and the control
    /// characters, nothing else.
    pub(crate) fn str(&mut self, text: &str) {
        let bytes = text.as_bytes();
        // Nearly every string has nothing to escape: one check of the room, one copy.
        if !needs_escaping(bytes) {
            if self.over
                || self
                    .bytes
                    .len()
                    .saturating_add(bytes.len())
                    .saturating_add(2)
                    > self.max
            {
                self.over = true;
                return;
            }
            self.bytes.push(b'"');
            self.bytes.extend_from_slice(bytes);
            self.bytes.push(b'"');
            return;
        }
        self.escaped(bytes);
    }

    #[cold]
    fn escaped(&mut self, bytes: &[u8]) {
        self.push_byte(b'"');
        let mut start = 0;
        for (i, &byte) in bytes.iter().enumerate() {
            let escape = ESCAPE[usize::from(byte)];
            if escape == 0 {
                continue;
            }
            self.push(&bytes[start..i]);
            start = i + 1;
            if escape == b'u' {
                let hex = b"0123456789abcdef";
                let high = hex[usize::from(byte >> 4)];
                let low = hex[usize::from(byte & 0xf)];
                self.push(&[b'\\', b'u', b'0', b'0', high, low]);
            } else {
                self.push(&[b'\\', escape]);
            }
        }
        self.push(&bytes[start..]);
        self.push_byte(b'"');
    }

    /// Any value the engine built, pre-written parts copied as they are.
    pub(crate) fn value(&mut self, value: &Value) {
        match value {
            Value::Null => self.null(),
            Value::Boolean(b) => self.bool(*b),
            Value::String(s) => self.str(s),
            Value::Enum(name) => self.str(name),
            Value::Number(n) => self.serde(n),
            Value::Binary(json) => self.push(json),
            Value::List(items) => {
                self.begin_list();
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.comma();
                    }
                    self.value(item);
                }
                self.end_list();
            }
            Value::Object(fields) => {
                self.begin_object();
                for (i, (key, field)) in fields.iter().enumerate() {
                    self.key(i == 0, key);
                    self.value(field);
                }
                self.end_object();
            }
        }
    }

    /// A rare part (numbers, errors, extensions) through serde_json itself.
    fn serde(&mut self, value: &impl serde::Serialize) {
        if serde_json::to_writer(&mut *self, value).is_err() {
            self.over = true;
        }
    }
}

impl std::io::Write for Json {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.push(buf);
        if self.over {
            return Err(std::io::Error::other("over the response limit"));
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Whether any byte of `bytes` is escaped in JSON, eight bytes at a time: a byte below
/// 0x20, a quote or a backslash.
fn needs_escaping(bytes: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    // Sets the high bit of each byte of `word` that is zero (and may set it in bytes above
    // a zero one, which only matters when there is a zero byte already).
    let zero_in = |word: u64| word.wrapping_sub(ONES) & !word & HIGH;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_ne_bytes(word);
        let below_space = word.wrapping_sub(ONES * 0x20) & !word & HIGH;
        let quote = zero_in(word ^ (ONES * u64::from(b'"')));
        let backslash = zero_in(word ^ (ONES * u64::from(b'\\')));
        if below_space | quote | backslash != 0 {
            return true;
        }
    }
    chunks
        .remainder()
        .iter()
        .any(|&byte| ESCAPE[usize::from(byte)] != 0)
}

/// For each byte: 0 when it stands for itself, the letter after the backslash when it has
/// a short escape, `u` when it is written `\u00XX`.
const ESCAPE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut byte = 0;
    while byte < 0x20 {
        table[byte] = b'u';
        byte += 1;
    }
    table[0x08] = b'b';
    table[0x09] = b't';
    table[0x0a] = b'n';
    table[0x0c] = b'f';
    table[0x0d] = b'r';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

#[cfg(test)]
mod tests {
    use async_graphql::{Name, Number, indexmap::IndexMap};
    use proptest::prelude::*;

    use super::*;

    fn text(max: usize, write: impl FnOnce(&mut Json)) -> Option<Vec<u8>> {
        let mut out = Json::new(max);
        write(&mut out);
        out.finish()
    }

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Boolean),
            any::<i64>().prop_map(|n| Value::Number(n.into())),
            any::<f64>().prop_filter_map("finite", |f| Number::from_f64(f).map(Value::Number)),
            any::<String>().prop_map(Value::String),
            "[\\x00-\\x7f]{0,12}".prop_map(Value::String),
            "[A-Z_]{1,8}".prop_map(|s| Value::Enum(Name::new(s))),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::List),
                prop::collection::vec(("[a-z\"\\\\\\n]{0,6}", inner), 0..6).prop_map(|fields| {
                    Value::Object(
                        fields
                            .into_iter()
                            .map(|(k, v)| (Name::new(k), v))
                            .collect::<IndexMap<_, _>>(),
                    )
                }),
            ]
        })
    }

    proptest! {
        #[test]
        fn a_response_is_what_serde_json_writes(
            data in value(),
            errors in 0..3usize,
            extension in prop::option::of(value()),
        ) {
            let mut response = Response::new(data);
            response.errors = (0..errors).map(|i| ServerError::new(format!("e{i}\n\""), None)).collect();
            if let Some(extension) = extension {
                response.extensions.insert("x".to_owned(), extension);
            }
            let ours = super::response(&response, usize::MAX);
            let theirs = serde_json::to_vec(&response).ok();
            prop_assert_eq!(ours, theirs);
        }

        #[test]
        fn a_string_is_escaped_as_serde_json_escapes_it(s in any::<String>(), ascii in "[\\x00-\\x7f]{0,40}") {
            for s in [s, ascii] {
                let ours = text(usize::MAX, |out| out.str(&s));
                prop_assert_eq!(ours, serde_json::to_vec(&s).ok());
            }
        }

        #[test]
        fn nothing_is_given_past_the_limit(data in value(), max in 0..200usize) {
            let response = Response::new(data);
            let full = serde_json::to_vec(&response).unwrap_or_default();
            let ours = super::response(&response, max);
            prop_assert_eq!(ours.is_some(), full.len() <= max);
        }
    }

    #[test]
    fn every_byte_that_is_escaped_is_found_anywhere_in_a_word() {
        for byte in 0..=255u8 {
            for at in 0..17 {
                let mut bytes = vec![b'a'; 17];
                bytes[at] = byte;
                let escaped = ESCAPE[usize::from(byte)] != 0;
                assert_eq!(needs_escaping(&bytes), escaped, "byte {byte:#x} at {at}");
            }
        }
    }

    #[test]
    fn a_pre_written_part_is_copied_as_it_is() {
        let mut part = Json::part();
        part.begin_object();
        part.key(true, "a");
        part.int(-7);
        part.key(false, "b");
        part.str("x\u{1}");
        part.end_object();
        let data = Value::List(vec![pre_written(part), Value::Null]);
        let ours = super::response(&Response::new(data), usize::MAX);
        assert_eq!(
            ours.as_deref(),
            Some(&br#"{"data":[{"a":-7,"b":"x\u0001"},null]}"#[..])
        );
    }
}
