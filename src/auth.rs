//! Who is asking: the [`Viewer`] decoded from a verified token, and the accounts behind it.
//!
//! The rule: a [`UserId`] can only be built here, from a verified access token or from a
//! signup or login that checked the password. A GraphQL argument never becomes an owner.

pub mod keys;
pub mod password_policy;
pub mod passwords;
pub mod rate_limit;
pub mod revocation;
pub mod sessions;
pub mod tokens;

use std::{net::IpAddr, sync::Arc};

use crate::{
    db::DbPool,
    error::AppError,
    store::users::{self, NewUser, User},
};

pub use passwords::Passwords;
pub use rate_limit::RateLimits;
pub use revocation::Revocations;
pub use sessions::{LogoutScope, SessionSettings, TokenPair};
pub use tokens::Tokens;

/// The id of an account whose owner proved who they are. Its field is private to `auth`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserId(String);

impl UserId {
    /// The raw id, for the store's queries.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

/// The id of a session, as named by a verified access token or a refresh token. Like
/// [`UserId`], only `auth` builds it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionId(String);

impl SessionId {
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

/// Auth's services: token signing, password hashing, the limits on guessing, sessions and
/// their revocation.
#[derive(Clone)]
pub struct Auth {
    /// Issues and verifies access tokens.
    pub tokens: Tokens,
    /// Hashes and checks passwords.
    pub passwords: Passwords,
    /// Attempts per client IP and failed logins per account.
    pub limits: Arc<RateLimits>,
    /// The shortest new password accepted, in characters.
    pub password_min_length: usize,
    /// Refresh-token lifetime and reuse grace.
    pub sessions: SessionSettings,
    /// The revoked sessions whose access tokens are refused.
    pub revocations: Revocations,
}

/// A person who just proved who they are: a new account or a good login.
pub struct SignedIn {
    /// Their account.
    pub user: User,
    /// Their id, as an owner.
    pub user_id: UserId,
}

/// Signup values: the email normalised, the display name checked, the password as given.
pub struct Signup<'a> {
    /// Normalised email.
    pub email: &'a str,
    /// The password as given; the policy checks it here.
    pub password: &'a str,
    /// Optional display name.
    pub display_name: Option<&'a str>,
}

impl Auth {
    /// Creates an account; `EMAIL_TAKEN` when the email exists, `BAD_USER_INPUT` on
    /// `input.password` for a password the policy refuses.
    pub async fn signup(
        &self,
        db: &DbPool,
        signup: Signup<'_>,
        ip: Option<IpAddr>,
    ) -> Result<SignedIn, AppError> {
        self.limits.attempt_from(ip)?;
        let hints = password_policy::Hints {
            email: signup.email,
            display_name: signup.display_name,
        };
        let password = password_policy::check(signup.password, self.password_min_length, hints)
            .map_err(|why| AppError::bad_input("input.password", why))?;
        // No pooled connection is held while hashing: a storm of signups or logins queued
        // for the hashing slots must not starve todo requests of connections.
        let hash = self.passwords.hash(&password).await?;
        let user = users::create(
            &mut db.get().await?,
            NewUser {
                email: signup.email,
                password_hash: &hash,
                display_name: signup.display_name,
            },
        )
        .await?;
        Ok(signed_in(user))
    }

    /// Checks an email and password. Unknown emails cost a hash check too, and get the same
    /// `INVALID_CREDENTIALS`, so neither the answer nor its timing tells who has an account.
    pub async fn login(
        &self,
        db: &DbPool,
        email: &str,
        password: &str,
        ip: Option<IpAddr>,
    ) -> Result<SignedIn, AppError> {
        self.limits.attempt_from(ip)?;
        self.limits.check_account(email)?;
        let user = users::find_by_email(&mut db.get().await?, email).await?;
        let hash = user.as_ref().map(|u| u.password_hash.clone());
        let password = password_policy::normalize(password);
        let valid = self.passwords.verify(&password, hash).await?;
        match user {
            Some(user) if valid => {
                let signed_in = signed_in(user);
                self.rehash_if_outdated(db, &signed_in, &password).await;
                Ok(signed_in)
            }
            _ => Err(self.limits.login_failed(email)),
        }
    }

    /// After a good login, re-hashes the password when its hash was made with other
    /// argon2 parameters than the configured ones. A failure is logged, not fatal: the
    /// login stands, and the next one tries again.
    async fn rehash_if_outdated(&self, db: &DbPool, signed_in: &SignedIn, password: &str) {
        if !self.passwords.needs_rehash(&signed_in.user.password_hash) {
            return;
        }
        let result = async {
            let hash = self.passwords.hash(password).await?;
            users::set_password_hash(&mut db.get().await?, &signed_in.user_id, &hash).await
        }
        .await;
        match result {
            Ok(()) => tracing::info!("re-hashed a password with the configured argon2 parameters"),
            Err(error) => tracing::warn!(%error, "re-hashing a password failed"),
        }
    }
}

fn signed_in(user: User) -> SignedIn {
    let user_id = UserId(user.id.clone());
    SignedIn { user, user_id }
}
