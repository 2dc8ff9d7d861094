//! The account workflows: signup, login, refresh, logout, session revocation, password
//! change and account deletion. Each checks what it must through `auth` (passwords, tokens,
//! the limits on guessing), writes through `store`, and checks connections out of the pool
//! itself, only around its queries, so no pooled connection waits on a password hash.
//!
//! The layering: `graphql` -> `accounts` -> `store` and `auth`.

mod lifecycle;
mod refresh;

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};

use crate::{
    auth::{
        Passwords, Proof, RateLimits, Revocations, Tokens, UserId, password_policy, tokens::Issued,
    },
    db::DbPool,
    error::AppError,
    request_meta::RequestMeta,
    store::users::{self, NewUser, User},
};

pub(crate) use lifecycle::SignOut;

/// What the workflows share: the pool and auth's services.
#[derive(Clone)]
pub(crate) struct Accounts {
    /// The database pool.
    pub(crate) db: DbPool,
    /// Issues access tokens.
    pub(crate) tokens: Tokens,
    /// Hashes and checks passwords.
    pub(crate) passwords: Passwords,
    /// Attempts per client IP and failed password checks per account.
    pub(crate) limits: Arc<RateLimits>,
    /// The shortest new password accepted, in characters.
    pub(crate) password_min_length: usize,
    /// Refresh-token lifetime and reuse grace.
    pub(crate) sessions: SessionSettings,
    /// The revoked sessions whose access tokens are refused.
    pub(crate) revocations: Revocations,
}

/// Session lifetimes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SessionSettings {
    /// How long a refresh token (and a session without refreshes) lives.
    pub(crate) refresh_ttl: Duration,
    /// How long a just-used refresh token may be presented again without counting as reuse.
    pub(crate) reuse_grace: Duration,
}

/// A person who just proved who they are, and the session that proof started or renewed.
pub(crate) struct SignedIn {
    /// Their account.
    pub(crate) user: User,
    /// Their id, as an owner.
    pub(crate) user_id: UserId,
    /// Fresh tokens for the session.
    pub(crate) tokens: TokenPair,
}

/// An access token and a refresh token for one session.
pub(crate) struct TokenPair {
    /// The access token.
    pub(crate) access: Issued,
    /// The refresh token, shown only now.
    pub(crate) refresh_token: String,
    /// When the refresh token expires.
    pub(crate) refresh_expires_at: DateTime<Utc>,
}

/// Signup values: the email normalised, the display name checked, the password as given.
pub(crate) struct Signup<'a> {
    /// Normalised email.
    pub(crate) email: &'a str,
    /// The password as given; the policy checks it here.
    pub(crate) password: &'a str,
    /// Optional display name.
    pub(crate) display_name: Option<&'a str>,
}

impl Accounts {
    /// Creates an account and signs it in; `EMAIL_TAKEN` when the email exists,
    /// `BAD_USER_INPUT` on `input.password` for a password the policy refuses.
    pub(crate) async fn signup(
        &self,
        signup: Signup<'_>,
        meta: &RequestMeta,
    ) -> Result<SignedIn, AppError> {
        self.limits.attempt(meta.ip, None).await?;
        let hints = password_policy::Hints {
            email: signup.email,
            display_name: signup.display_name,
        };
        let password = password_policy::check(signup.password, self.password_min_length, hints)
            .map_err(|why| AppError::bad_input("input.password", why))?;
        // No pooled connection is held while hashing: a storm of signups or logins queued
        // for the hashing slots must not starve todo requests of connections.
        let (hash, proof) = self.passwords.hash_for_new_account(&password).await?;
        let user = users::create(
            &mut self.db.get().await?,
            NewUser {
                email: signup.email,
                password_hash: &hash,
                display_name: signup.display_name,
            },
        )
        .await?;
        self.start_session(user, &proof, meta).await
    }

    /// Checks an email and password and signs in. Unknown emails cost a hash check too, and
    /// get the same `INVALID_CREDENTIALS`, so neither the answer nor its timing tells who has
    /// an account.
    pub(crate) async fn login(
        &self,
        email: &str,
        password: &str,
        meta: &RequestMeta,
    ) -> Result<SignedIn, AppError> {
        self.limits.attempt(meta.ip, Some(email)).await?;
        let user = users::find_by_email(&mut self.db.get().await?, email).await?;
        let hash = user.as_ref().map(|u| u.password_hash.clone());
        let password = password_policy::normalize(password);
        let proof = self.passwords.verify(&password, hash).await?;
        match (user, proof) {
            (Some(user), Some(proof)) => {
                self.rehash_if_outdated(&user, &proof, &password).await;
                self.start_session(user, &proof, meta).await
            }
            _ => Err(self.limits.login_failed(email).await),
        }
    }

    /// After a good login, re-hashes the password when its hash was made with other
    /// argon2 parameters than the configured ones. A failure is logged, not fatal: the
    /// login stands, and the next one tries again.
    async fn rehash_if_outdated(&self, user: &User, proof: &Proof, password: &str) {
        if !self.passwords.needs_rehash(&user.password_hash) {
            return;
        }
        let owner = UserId::proven(user.id.clone(), proof);
        let result = async {
            let hash = self.passwords.hash(password).await?;
            users::set_password_hash(&mut self.db.get().await?, &owner, &hash).await
        }
        .await;
        match result {
            Ok(()) => tracing::info!("re-hashed a password with the configured argon2 parameters"),
            Err(error) => tracing::warn!(%error, "re-hashing a password failed"),
        }
    }
}
