//! Who is asking, and the cryptography that proves it: the [`Viewer`] of a verified access
//! token, the keys and tokens themselves, password hashing and policy, refresh-token
//! secrets, the limits on guessing and the revoked set. The workflows that use them
//! (signup, login, refresh, logout, password change, deletion) are `accounts`.
//!
//! The rule: a [`UserId`] or [`SessionId`] is built only with a [`Proof`], and only this
//! module makes one: a verified access token, a password that matched its hash, a password
//! hashed for an account being created, or a refresh token that matched its stored hash.
//! A GraphQL argument never becomes an owner.

pub(crate) mod keys;
pub(crate) mod password_policy;
pub(crate) mod passwords;
pub(crate) mod rate_limit;
pub(crate) mod refresh_cookie;
pub(crate) mod refresh_tokens;
pub(crate) mod revocation;
pub(crate) mod secret;
pub(crate) mod tokens;

pub(crate) use passwords::Passwords;
pub(crate) use rate_limit::RateLimits;
pub(crate) use revocation::Revocations;
pub(crate) use tokens::Tokens;

/// Evidence that the caller proved who they are; see the module's rule. Its field is
/// private, so nothing outside `auth` can make one.
#[derive(Debug)]
pub(crate) struct Proof(());

/// The id of an account whose owner proved who they are.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserId(String);

impl UserId {
    /// The account `raw`, for a caller holding the proof that it is theirs.
    pub(crate) fn proven(raw: String, _: &Proof) -> Self {
        Self(raw)
    }

    /// The raw id, for the store's queries.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// Any id, for unit tests of code that is handed a proven one.
    #[cfg(test)]
    pub(crate) fn for_tests(raw: &str) -> Self {
        Self(raw.to_owned())
    }
}

/// The id of a session of a proven account, as named by a verified access token, a refresh
/// token, or the signup or login that started it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionId(String);

impl SessionId {
    /// The session `raw`, for a caller holding the proof that it is theirs.
    pub(crate) fn proven(raw: String, _: &Proof) -> Self {
        Self(raw)
    }

    /// The raw id, for the store's queries and the revoked set.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

/// The authenticated caller of a request, placed in the request's data by the HTTP layer.
#[derive(Debug, Clone)]
pub struct Viewer {
    user_id: UserId,
    session_id: SessionId,
}

impl Viewer {
    /// The viewer's account id: the owner of everything they touch.
    pub fn user_id(&self) -> &UserId {
        &self.user_id
    }

    /// The session the viewer's access token belongs to.
    pub fn session_id(&self) -> &SessionId {
        &self.session_id
    }
}

/// The token of an `Authorization` value `Bearer <token>` (the scheme in any case); `None`
/// when the value is anything else.
pub(crate) fn bearer(value: &str) -> Option<&str> {
    value
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|token| !token.is_empty())
}
