//! Who is asking: the [`Viewer`] decoded from a verified token, and the accounts behind it.
//!
//! The rule: a [`UserId`] can only be built here, from a verified access token or from a
//! signup or login that checked the password. A GraphQL argument never becomes an owner.

pub mod passwords;
pub mod tokens;

use crate::{
    db::DbConn,
    error::AppError,
    store::users::{self, NewUser, User},
};

pub use passwords::Passwords;
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

/// The authenticated caller of a request, placed in the request's data by the HTTP layer.
#[derive(Debug, Clone)]
pub struct Viewer {
    user_id: UserId,
}

impl Viewer {
    /// The viewer's account id: the owner of everything they touch.
    pub fn user_id(&self) -> &UserId {
        &self.user_id
    }
}

/// Auth's services: token signing and password hashing.
#[derive(Clone)]
pub struct Auth {
    /// Issues and verifies access tokens.
    pub tokens: Tokens,
    /// Hashes and checks passwords.
    pub passwords: Passwords,
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
    pub async fn signup(&self, conn: &mut DbConn, signup: Signup<'_>) -> Result<SignedIn, AppError> {
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
            Some(user) if valid => Ok(signed_in(user)),
            _ => Err(AppError::InvalidCredentials),
        }
    }
}

fn signed_in(user: User) -> SignedIn {
    let user_id = UserId(user.id.clone());
    SignedIn { user, user_id }
}
