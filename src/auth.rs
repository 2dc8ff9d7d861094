//! Who is asking: the [`Viewer`] decoded from a verified token, and the accounts behind it.
//!
//! The rule: a [`UserId`] can only be built here, from a verified access token or from a
//! signup or login that checked the password. A GraphQL argument never becomes an owner.

pub mod keys;
pub mod passwords;
pub mod revocation;
pub mod sessions;
pub mod tokens;

use crate::{
    db::DbConn,
    error::AppError,
    store::users::{self, NewUser, User},
};

pub use passwords::Passwords;
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

/// Auth's services: token signing, password hashing, sessions and their revocation.
#[derive(Clone)]
pub struct Auth {
    /// Issues and verifies access tokens.
    pub tokens: Tokens,
    /// Hashes and checks passwords.
    pub passwords: Passwords,
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

/// Validated signup values.
pub struct Signup<'a> {
    /// Normalised email.
    pub email: &'a str,
    /// The password as given (checked for length).
    pub password: &'a str,
    /// Optional display name.
    pub display_name: Option<&'a str>,
}

impl Auth {
    /// Creates an account; `EMAIL_TAKEN` when the email exists.
    pub async fn signup(
        &self,
        conn: &mut DbConn,
        signup: Signup<'_>,
    ) -> Result<SignedIn, AppError> {
        let hash = self.passwords.hash(signup.password).await?;
        let user = users::create(
            conn,
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
        conn: &mut DbConn,
        email: &str,
        password: &str,
    ) -> Result<SignedIn, AppError> {
        let user = users::find_by_email(conn, email).await?;
        let hash = user.as_ref().map(|u| u.password_hash.clone());
        let valid = self.passwords.verify(password, hash).await?;
        match user {
            Some(user) if valid => {
                let signed_in = signed_in(user);
                self.rehash_if_outdated(conn, &signed_in, password).await;
                Ok(signed_in)
            }
            _ => Err(AppError::InvalidCredentials),
        }
    }

    /// After a good login, re-hashes the password when its hash was made with other
    /// argon2 parameters than the configured ones. A failure is logged, not fatal: the
    /// login stands, and the next one tries again.
    async fn rehash_if_outdated(&self, conn: &mut DbConn, signed_in: &SignedIn, password: &str) {
        if !self.passwords.needs_rehash(&signed_in.user.password_hash) {
            return;
        }
        let result = async {
            let hash = self.passwords.hash(password).await?;
            users::set_password_hash(conn, &signed_in.user_id, &hash).await
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
