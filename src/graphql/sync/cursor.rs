//! Sync cursors: where a client's copy of its todos stands in its change log, sealed so
//! that the client can neither read nor forge one.
//!
//! A cursor is `base64url(version · key id · body · mac)`. The MAC is HMAC-SHA256 (cut to
//! 16 bytes) over the viewer's id and everything before it, under a key derived from the
//! JWT secret: a cursor survives restarts and works on every replica, is refused for
//! another viewer, and any changed or cut byte is caught. The key id (4 bytes) tells a
//! cursor of another deployment (or of a JWT secret since retired), which the client can
//! only recover from by a full resync, from a damaged one, which is a client bug.
//!
//! The body is one of two shapes ([`Since`]): an incremental place (the todos' and the
//! tombstones' positions, equal except just after a full resync), or a place inside a full
//! resync pass (the last todo sent and the log's head when the pass began).

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::{auth::UserId, error::AppError, store::changes::Position};

type HmacSha256 = Hmac<Sha256>;

const VERSION: u8 = 1;
const KEY_ID_LEN: usize = 4;
const MAC_LEN: usize = 16;
const CHANGES: u8 = 1;
const FULL_PASS: u8 = 2;

/// Where a sync stands, as its cursor says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Since {
    /// Incremental: todos changed after `todos`, tombstones after `tombstones`.
    Changes {
        /// The last change of a live todo the client has.
        todos: Position,
        /// The last deletion the client has heard of (at most `todos`).
        tombstones: Position,
    },
    /// Inside a full resync pass.
    FullPass {
        /// The last todo sent; `None` before the first page.
        after: Option<Position>,
        /// The log's head when the pass began: deletions above it are still to be told.
        head: i64,
    },
    /// Made under a key this deployment does not hold: the client must resync.
    Foreign,
}

impl Since {
    /// The incremental place just after the change at `position`: what a live event's
    /// cursor says.
    pub(crate) fn at(position: &Position) -> Self {
        Self::Changes {
            todos: position.clone(),
            tombstones: position.clone(),
        }
    }

    /// The start of a full resync pass.
    pub(crate) fn start() -> Self {
        Self::FullPass {
            after: None,
            head: 0,
        }
    }
}

/// The keys that seal sync cursors: one that seals (from the JWT secret) and any that only
/// open (from the previous JWT secrets), each with its id.
#[derive(Clone)]
pub(crate) struct CursorKeys {
    keys: Vec<([u8; KEY_ID_LEN], HmacSha256)>,
}

impl CursorKeys {
    /// The keys derived from the JWT secret and the previous ones.
    pub(crate) fn derive(secret: &[u8], previous: &[Vec<u8>]) -> anyhow::Result<Self> {
        let mut keys = Vec::new();
        for secret in std::iter::once(secret).chain(previous.iter().map(Vec::as_slice)) {
            // Domain-separated, so a cursor MAC can never be mistaken for a token signature.
            let key = mac(secret, b"todo-graphql sync cursor key v1")?;
            let id = mac(&key, b"key id")?;
            let mut key_id = [0_u8; KEY_ID_LEN];
            key_id.copy_from_slice(&id[..KEY_ID_LEN]);
            keys.push((key_id, HmacSha256::new_from_slice(&key)?));
        }
        Ok(Self { keys })
    }
}

fn mac(key: &[u8], message: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut mac = HmacSha256::new_from_slice(key)?;
    mac.update(message);
    Ok(mac.finalize().into_bytes().to_vec())
}

/// `owner`'s cursor for `since`, sealed with the current key.
pub(crate) fn encode(keys: &CursorKeys, owner: &UserId, since: &Since) -> String {
    let mut bytes = vec![VERSION];
    let Some((key_id, key)) = keys.keys.first() else {
        return String::new();
    };
    bytes.extend_from_slice(key_id);
    match since {
        Since::Changes { todos, tombstones } => {
            bytes.push(CHANGES);
            put_position(&mut bytes, todos);
            put_position(&mut bytes, tombstones);
        }
        Since::FullPass { after, head } => {
            bytes.push(FULL_PASS);
            match after {
                Some(after) => {
                    bytes.push(1);
                    put_position(&mut bytes, after);
                }
                None => bytes.push(0),
            }
            bytes.extend_from_slice(&head.to_be_bytes());
        }
        // Nothing to seal: a foreign cursor is never made, only recognised.
        Since::Foreign => return encode(keys, owner, &Since::start()),
    }
    let tag = seal(key, owner, &bytes);
    bytes.extend_from_slice(&tag[..MAC_LEN]);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The place `cursor` names for `owner`: [`Since::Foreign`] when another deployment's key
/// sealed it; `BAD_USER_INPUT` on `field` when it is malformed, cut, altered or another
/// viewer's.
pub(crate) fn decode(
    keys: &CursorKeys,
    owner: &UserId,
    cursor: &str,
    field: &str,
) -> Result<Since, AppError> {
    let bad = |why: &str| {
        AppError::bad_input(field, format!("{field} is not a valid sync cursor: {why}"))
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| bad("malformed"))?;
    if bytes.len() < 1 + KEY_ID_LEN + 1 + MAC_LEN || bytes[0] != VERSION {
        return Err(bad("malformed"));
    }
    let (sealed, tag) = bytes.split_at(bytes.len() - MAC_LEN);
    let key_id = &sealed[1..=KEY_ID_LEN];
    let Some((_, key)) = keys.keys.iter().find(|(id, _)| id == key_id) else {
        return Ok(Since::Foreign);
    };
    let mut mac = key.clone();
    mac.update(owner.as_str().as_bytes());
    mac.update(&[0]);
    mac.update(sealed);
    mac.verify_truncated_left(tag)
        .map_err(|_| bad("it was altered, cut, or made for another viewer"))?;
    parse(&sealed[1 + KEY_ID_LEN..]).ok_or_else(|| bad("malformed"))
}

fn seal(key: &HmacSha256, owner: &UserId, bytes: &[u8]) -> Vec<u8> {
    let mut mac = key.clone();
    mac.update(owner.as_str().as_bytes());
    // The owner id is text without NULs: the separator keeps the two parts apart.
    mac.update(&[0]);
    mac.update(bytes);
    mac.finalize().into_bytes().to_vec()
}

/// Tags of a position's id: none (the place before a number's changes), a UUID in 16
/// bytes, or other text with its length.
const ID_EMPTY: u8 = 0;
const ID_UUID: u8 = 1;
const ID_TEXT: u8 = 2;

fn put_position(bytes: &mut Vec<u8>, position: &Position) {
    bytes.extend_from_slice(&position.seq.to_be_bytes());
    let uuid = uuid::Uuid::try_parse(&position.id)
        .ok()
        .filter(|uuid| uuid.hyphenated().to_string() == position.id);
    match (position.id.is_empty(), uuid) {
        (true, _) => bytes.push(ID_EMPTY),
        (false, Some(uuid)) => {
            bytes.push(ID_UUID);
            bytes.extend_from_slice(uuid.as_bytes());
        }
        (false, None) => {
            let text = &position.id.as_bytes()[..position.id.len().min(255)];
            bytes.push(ID_TEXT);
            bytes.push(u8::try_from(text.len()).unwrap_or(u8::MAX));
            bytes.extend_from_slice(text);
        }
    }
}

/// Reads a body; `None` unless it is exactly one well-formed shape.
fn parse(body: &[u8]) -> Option<Since> {
    let mut reader = Reader(body);
    let since = match reader.byte()? {
        CHANGES => Since::Changes {
            todos: reader.position()?,
            tombstones: reader.position()?,
        },
        FULL_PASS => {
            let after = match reader.byte()? {
                0 => None,
                1 => Some(reader.position()?),
                _ => return None,
            };
            let head = reader.seq()?;
            Since::FullPass { after, head }
        }
        _ => return None,
    };
    reader.0.is_empty().then_some(since)
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn byte(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    fn seq(&mut self) -> Option<i64> {
        let seq = i64::from_be_bytes(self.take(8)?.try_into().ok()?);
        (seq >= 0).then_some(seq)
    }

    fn position(&mut self) -> Option<Position> {
        let seq = self.seq()?;
        let id = match self.byte()? {
            ID_EMPTY => String::new(),
            ID_UUID => {
                let bytes: [u8; 16] = self.take(16)?.try_into().ok()?;
                uuid::Uuid::from_bytes(bytes).hyphenated().to_string()
            }
            ID_TEXT => {
                let len = usize::from(self.byte()?);
                String::from_utf8(self.take(len)?.to_vec()).ok()?
            }
            _ => return None,
        };
        Some(Position { seq, id })
    }
}

#[cfg(test)]
mod tests;
