//! Sessions: started by signup and login, kept alive by rotating refresh tokens, ended by
//! logout, revocation, a password change or the account's deletion.
//!
//! A refresh token is 256 random bits, shown once; only its SHA-256 is stored (a fast hash
//! is right for a random secret of that size). Each refresh marks the presented token used
//! and hands out a new one. A used token presented again within the grace window (two tabs
//! refreshing at once) gets its own fresh pair for the same session; after the window it is
//! taken for a stolen copy, and the whole session is revoked. Every revocation lands in the
//! in-memory [`Revocations`] of this process at once, and of the other instances through
//! the store's notification.

use std::{net::IpAddr, time::Duration};

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};

use super::{
    Auth, SessionId, SignedIn, UserId, Viewer, password_policy, signed_in, tokens::Issued,
};
use crate::{
    db::{DbConn, DbPool},
    error::{AppError, AuthFailure},
    request_meta::RequestMeta,
    store::{
        sessions::{self, NewSession, Which},
        users,
    },
};

/// Session lifetimes.
#[derive(Debug, Clone, Copy)]
pub struct SessionSettings {
    /// How long a refresh token (and a session without refreshes) lives.
    pub refresh_ttl: Duration,
    /// How long a just-used refresh token may be presented again without counting as reuse.
    pub reuse_grace: Duration,
}

/// Which sessions `logout` ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogoutScope {
    /// The session of the token making the request.
    Current,
    /// Every other session of the viewer.
    Others,
    /// Every session of the viewer.
    All,
}

/// An access token and a refresh token for one session.
pub struct TokenPair {
    /// The access token.
    pub access: Issued,
    /// The refresh token, shown only now.
    pub refresh_token: String,
    /// When the refresh token expires.
    pub refresh_expires_at: DateTime<Utc>,
    /// The session both belong to.
    pub session_id: SessionId,
}

/// What a refresh found, decided inside its transaction.
enum Refreshed {
    Rotated(TokenPair, UserId),
    Refused(AuthFailure),
    /// Reuse after the grace window: these sessions were revoked.
    Reused(Vec<String>, DateTime<Utc>),
}

/// A new refresh token and its hash.
fn new_refresh_token() -> (String, String) {
    let mut bytes = [0_u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash_refresh_token(&token);
    (token, hash)
}

/// The stored form of a refresh token: hex SHA-256.
fn hash_refresh_token(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn chrono_duration(duration: Duration, name: &str) -> Result<chrono::Duration, AppError> {
    chrono::Duration::from_std(duration)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("{name} out of range: {e}")))
}

impl Auth {
    /// Starts a session for someone who just proved who they are.
    pub async fn start_session(
        &self,
        conn: &mut DbConn,
        user: &UserId,
        meta: &RequestMeta,
    ) -> Result<TokenPair, AppError> {
        let (refresh_token, hash) = new_refresh_token();
        let refresh_expires_at = self.refresh_expiry()?;
        let ip = meta.ip.map(|ip| ip.to_string());
        let session = sessions::create(
            conn,
            user,
            NewSession {
                user_agent: meta.user_agent.as_deref(),
                ip: ip.as_deref(),
                token_hash: &hash,
                expires_at: refresh_expires_at,
            },
        )
        .await?;
        let session_id = SessionId(session.id);
        Ok(TokenPair {
            access: self.tokens.issue(user, &session_id)?,
            refresh_token,
            refresh_expires_at,
            session_id,
        })
    }

    /// Exchanges a refresh token for a new pair; see the module's notes on reuse. Counts
    /// as an attempt from `ip` for the rate limit.
    pub async fn refresh(
        &self,
        conn: &mut DbConn,
        refresh_token: &str,
        ip: Option<IpAddr>,
    ) -> Result<(SignedIn, TokenPair), AppError> {
        self.limits.attempt_from(ip)?;
        let hash = hash_refresh_token(refresh_token);
        let decided = conn
            .transaction(async |conn| self.refresh_in_transaction(conn, &hash).await)
            .await?;
        match decided {
            Refreshed::Rotated(pair, user_id) => {
                let user = users::find(conn, &user_id)
                    .await?
                    .ok_or(AppError::Unauthenticated(AuthFailure::RefreshTokenInvalid))?;
                Ok((signed_in(user), pair))
            }
            Refreshed::Refused(failure) => Err(AppError::Unauthenticated(failure)),
            Refreshed::Reused(ids, until) => {
                self.revocations.add(&ids, until);
                tracing::warn!(sessions = ?ids, "a used refresh token was presented again: session revoked");
                Err(AppError::Unauthenticated(AuthFailure::RefreshTokenReused))
            }
        }
    }

    async fn refresh_in_transaction(
        &self,
        conn: &mut DbConn,
        hash: &str,
    ) -> Result<Refreshed, AppError> {
        let now = crate::store::now();
        // A write first: it takes SQLite's write lock, and settles races between refreshes.
        let claimed = sessions::claim(conn, hash).await?.is_some();
        let Some((token, session)) = sessions::find_by_refresh_hash(conn, hash).await? else {
            return Ok(Refreshed::Refused(AuthFailure::RefreshTokenInvalid));
        };
        if session.is_revoked() {
            return Ok(Refreshed::Refused(AuthFailure::SessionRevoked));
        }
        if token.expires_at() <= now || session.expires_at() <= now {
            return Ok(Refreshed::Refused(AuthFailure::RefreshTokenExpired));
        }
        let user_id = UserId(session.user_id.clone());
        let session_id = SessionId(session.id.clone());
        if !claimed {
            let grace = chrono_duration(self.sessions.reuse_grace, "REFRESH_REUSE_GRACE")?;
            let within_grace = token.used_at().is_some_and(|used| now - used <= grace);
            if !within_grace {
                let until = self.revoked_until()?;
                let ids = sessions::revoke(conn, &user_id, Which::One(&session_id), until).await?;
                return Ok(Refreshed::Reused(ids, until));
            }
        }
        let (refresh_token, new_hash) = new_refresh_token();
        let refresh_expires_at = self.refresh_expiry()?;
        sessions::add_token(conn, &user_id, &session_id, &new_hash, refresh_expires_at).await?;
        let pair = TokenPair {
            access: self.tokens.issue(&user_id, &session_id)?,
            refresh_token,
            refresh_expires_at,
            session_id,
        };
        Ok(Refreshed::Rotated(pair, user_id))
    }

    /// Ends the viewer's sessions that `scope` names; how many were live.
    pub async fn logout(
        &self,
        conn: &mut DbConn,
        viewer: &Viewer,
        scope: LogoutScope,
    ) -> Result<usize, AppError> {
        let which = match scope {
            LogoutScope::Current => Which::One(viewer.session_id()),
            LogoutScope::Others => Which::AllBut(viewer.session_id()),
            LogoutScope::All => Which::All,
        };
        self.revoke(conn, viewer.user_id(), which).await
    }

    /// Ends one of the viewer's live sessions, by its raw id; `NOT_FOUND` when there is no
    /// such live session of theirs.
    pub async fn revoke_session(
        &self,
        conn: &mut DbConn,
        viewer: &Viewer,
        id: &str,
    ) -> Result<(), AppError> {
        let session = SessionId(id.to_owned());
        match self
            .revoke(conn, viewer.user_id(), Which::One(&session))
            .await?
        {
            0 => Err(AppError::NotFound),
            _ => Ok(()),
        }
    }

    /// Checks the current password and the new one against the password policy
    /// (`BAD_USER_INPUT` on `newPassword`), stores the new one, ends every other session,
    /// and gives the current one fresh tokens (the refresh tokens handed out before stop
    /// working).
    pub async fn change_password(
        &self,
        db: &DbPool,
        viewer: &Viewer,
        current: &str,
        new: &str,
        ip: Option<IpAddr>,
    ) -> Result<(SignedIn, TokenPair), AppError> {
        let user = self.check_viewer_password(db, viewer, current, ip).await?;
        let hints = password_policy::Hints {
            email: &user.email,
            display_name: user.display_name.as_deref(),
        };
        let new = password_policy::check(new, self.password_min_length, hints)
            .map_err(|why| AppError::bad_input("newPassword", why))?;
        let hash = self.passwords.hash(&new).await?;
        let (refresh_token, new_hash) = new_refresh_token();
        let refresh_expires_at = self.refresh_expiry()?;
        let until = self.revoked_until()?;
        let owner = viewer.user_id();
        // Checked out only now: no pooled connection waits on the password hashing.
        let ids = db
            .get()
            .await?
            .transaction(async |conn| {
                users::set_password_hash(conn, owner, &hash).await?;
                let ids = sessions::revoke(conn, owner, Which::AllBut(viewer.session_id()), until)
                    .await?;
                sessions::drop_tokens(conn, owner, viewer.session_id()).await?;
                sessions::add_token(
                    conn,
                    owner,
                    viewer.session_id(),
                    &new_hash,
                    refresh_expires_at,
                )
                .await
                .map_err(|error| match error {
                    // The session went away while the password was being hashed.
                    AppError::NotFound => AppError::Unauthenticated(AuthFailure::SessionRevoked),
                    other => other,
                })?;
                Ok(ids)
            })
            .await?;
        self.revocations.add(&ids, until);
        let pair = TokenPair {
            access: self.tokens.issue(owner, viewer.session_id())?,
            refresh_token,
            refresh_expires_at,
            session_id: viewer.session_id().clone(),
        };
        Ok((signed_in(user), pair))
    }

    /// Checks the password, then deletes the viewer's account with its todos and sessions;
    /// its access tokens are refused from now on.
    pub async fn delete_account(
        &self,
        db: &DbPool,
        viewer: &Viewer,
        password: &str,
        ip: Option<IpAddr>,
    ) -> Result<(), AppError> {
        self.check_viewer_password(db, viewer, password, ip).await?;
        let until = self.revoked_until()?;
        let owner = viewer.user_id();
        let ids = db
            .get()
            .await?
            .transaction(async |conn| {
                // Revoke first, so the tombstones outlive the rows the delete cascades to.
                let ids = sessions::revoke(conn, owner, Which::All, until).await?;
                users::delete(conn, owner).await?;
                Ok(ids)
            })
            .await?;
        self.revocations.add(&ids, until);
        Ok(())
    }

    /// The viewer's account, after checking `password` (as typed: it is normalised here)
    /// against it; `INVALID_CREDENTIALS` when it does not match. A stolen access token must
    /// not become an unlimited password oracle: each check is an attempt from `ip`, and a
    /// failure counts against the account together with its failed logins, so while the
    /// account is limited every check is `RATE_LIMITED`, the right password included.
    async fn check_viewer_password(
        &self,
        db: &DbPool,
        viewer: &Viewer,
        password: &str,
        ip: Option<IpAddr>,
    ) -> Result<users::User, AppError> {
        self.limits.attempt_from(ip)?;
        let user = users::find(&mut db.get().await?, viewer.user_id())
            .await?
            .ok_or(AppError::Unauthenticated(AuthFailure::SessionRevoked))?;
        self.limits.check_account(&user.email)?;
        let valid = self
            .passwords
            .verify(
                &password_policy::normalize(password),
                Some(user.password_hash.clone()),
            )
            .await?;
        if !valid {
            return Err(self.limits.login_failed(&user.email));
        }
        Ok(user)
    }

    /// Revokes in a transaction and adds the ids to this process's set; how many.
    async fn revoke(
        &self,
        conn: &mut DbConn,
        owner: &UserId,
        which: Which<'_>,
    ) -> Result<usize, AppError> {
        let until = self.revoked_until()?;
        let ids = conn
            .transaction(async |conn| sessions::revoke(conn, owner, which, until).await)
            .await?;
        self.revocations.add(&ids, until);
        Ok(ids.len())
    }

    /// Until when a session revoked now must be refused: the longest an access token issued
    /// before now can live, with the verifier's clock leeway and a margin for a token being
    /// signed while the revocation commits.
    fn revoked_until(&self) -> Result<DateTime<Utc>, AppError> {
        let ttl = chrono_duration(self.tokens.ttl(), "ACCESS_TOKEN_TTL")?;
        let margin = chrono::Duration::seconds(super::tokens::LEEWAY_SECS as i64 + 60);
        Ok(crate::store::now() + ttl + margin)
    }

    fn refresh_expiry(&self) -> Result<DateTime<Utc>, AppError> {
        let ttl = chrono_duration(self.sessions.refresh_ttl, "REFRESH_TOKEN_TTL")?;
        Ok(crate::store::now() + ttl)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_tokens_are_random_256_bits_stored_as_hashes() {
        let (a, hash_a) = new_refresh_token();
        let (b, _) = new_refresh_token();
        assert_ne!(a, b);
        assert_eq!(
            URL_SAFE_NO_PAD.decode(&a).map(|bytes| bytes.len()).ok(),
            Some(32)
        );
        assert_eq!(hash_a, hash_refresh_token(&a));
        assert_eq!(hash_a.len(), 64);
        assert!(!hash_a.contains(&a));
    }
}
