//! Ending sessions and changing the account: `logout`, `revokeSession`, `changePassword`
//! and `deleteAccount`. Every revocation lands in this process's revoked set at once, and
//! in the other instances' through the store's notification.

use std::net::IpAddr;

use super::{Accounts, SignedIn, TokenPair};
use crate::{
    auth::{Proof, UserId, Viewer, password_policy, refresh_tokens},
    error::{AppError, AuthFailure},
    store::{
        changes,
        sessions::{self, Which},
        users,
    },
};

/// Which sessions `logout` ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SignOut {
    /// The session of the token making the request.
    Current,
    /// Every other session of the viewer.
    Others,
    /// Every session of the viewer.
    All,
}

impl Accounts {
    /// Ends the viewer's sessions that `scope` names; how many were live.
    pub(crate) async fn logout(&self, viewer: &Viewer, scope: SignOut) -> Result<usize, AppError> {
        let which = match scope {
            SignOut::Current => Which::One(viewer.session_id()),
            SignOut::Others => Which::AllBut(viewer.session_id()),
            SignOut::All => Which::All,
        };
        self.revoke(viewer.user_id(), which).await
    }

    /// Ends the viewer's live session that a client named by its raw id; `NOT_FOUND` when
    /// there is no such live session of theirs.
    pub(crate) async fn revoke_session(&self, viewer: &Viewer, id: &str) -> Result<(), AppError> {
        match self.revoke(viewer.user_id(), Which::Named(id)).await? {
            0 => Err(AppError::NotFound),
            _ => Ok(()),
        }
    }

    /// Checks the current password and the new one against the password policy
    /// (`BAD_USER_INPUT` on `newPassword`), stores the new one, ends every other session,
    /// and gives the current one fresh tokens (the refresh tokens handed out before stop
    /// working).
    pub(crate) async fn change_password(
        &self,
        viewer: &Viewer,
        current: &str,
        new: &str,
        ip: Option<IpAddr>,
    ) -> Result<SignedIn, AppError> {
        let (user, _) = self.check_viewer_password(viewer, current, ip).await?;
        let hints = password_policy::Hints {
            email: &user.email,
            display_name: user.display_name.as_deref(),
        };
        let new = password_policy::check(new, self.password_min_length, hints)
            .map_err(|why| AppError::bad_input("newPassword", why))?;
        let hash = self.passwords.hash(&new).await?;
        let (refresh_token, new_hash) = refresh_tokens::generate();
        let refresh_expires_at = self.refresh_expiry()?;
        let until = self.revoked_until()?;
        let owner = viewer.user_id();
        let session = viewer.session_id();
        // Checked out only now: no pooled connection waits on the password hashing.
        let ids = self
            .db
            .get()
            .await?
            .transaction(async |conn| {
                users::set_password_hash(conn, owner, &hash).await?;
                let ids = sessions::revoke(conn, owner, Which::AllBut(session), until).await?;
                sessions::drop_tokens(conn, owner, session).await?;
                sessions::add_token(conn, owner, session, &new_hash, refresh_expires_at)
                    .await
                    .map_err(|error| match error {
                        // The session went away while the password was being hashed.
                        AppError::NotFound => {
                            AppError::Unauthenticated(AuthFailure::SessionRevoked)
                        }
                        other => other,
                    })?;
                Ok(ids)
            })
            .await?;
        self.revocations.add(&ids, until);
        let tokens = TokenPair {
            access: self.tokens.issue(owner, session)?,
            refresh_token,
            refresh_expires_at,
        };
        Ok(SignedIn {
            user,
            user_id: owner.clone(),
            tokens,
        })
    }

    /// Checks the password, then deletes the viewer's account with its todos and sessions;
    /// its access tokens are refused from now on. Returns the change number under which
    /// the todos' tombstones were written (`None` when the account was already gone).
    pub(crate) async fn delete_account(
        &self,
        viewer: &Viewer,
        password: &str,
        ip: Option<IpAddr>,
    ) -> Result<Option<i64>, AppError> {
        self.check_viewer_password(viewer, password, ip).await?;
        let until = self.revoked_until()?;
        let owner = viewer.user_id();
        let mut conn = self.db.get().await?;
        let (ids, seq) = conn
            .transaction(async |conn| {
                // Revoke first, so the tombstones outlive the rows the delete cascades to.
                let ids = sessions::revoke(conn, owner, Which::All, until).await?;
                let seq = users::delete(conn, owner).await?;
                Ok((ids, seq))
            })
            .await?;
        changes::announce(&mut conn, owner, seq).await;
        self.revocations.add(&ids, until);
        Ok(seq)
    }

    /// The viewer's account, after checking `password` (as typed: it is normalised here)
    /// against it; `INVALID_CREDENTIALS` when it does not match. A stolen access token must
    /// not become an unlimited password oracle: each check is an attempt from `ip`, and a
    /// failure counts against the account together with its failed logins, so while the
    /// account is limited every check is `RATE_LIMITED`, the right password included.
    async fn check_viewer_password(
        &self,
        viewer: &Viewer,
        password: &str,
        ip: Option<IpAddr>,
    ) -> Result<(users::User, Proof), AppError> {
        let user = users::find(&mut self.db.get().await?, viewer.user_id())
            .await?
            .ok_or(AppError::Unauthenticated(AuthFailure::SessionRevoked))?;
        self.limits.attempt(ip, Some(&user.email)).await?;
        let normalized = password_policy::normalize(password);
        let hash = Some(user.password_hash.clone());
        match self.passwords.verify(&normalized, hash).await? {
            Some(proof) => Ok((user, proof)),
            None => Err(self.limits.login_failed(&user.email).await),
        }
    }

    /// Revokes in a transaction and adds the ids to this process's set; how many.
    async fn revoke(&self, owner: &UserId, which: Which<'_>) -> Result<usize, AppError> {
        let until = self.revoked_until()?;
        let ids = self
            .db
            .get()
            .await?
            .transaction(async |conn| sessions::revoke(conn, owner, which, until).await)
            .await?;
        self.revocations.add(&ids, until);
        Ok(ids.len())
    }
}
