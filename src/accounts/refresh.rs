//! Sessions' tokens: a session starts with a signup or login and lives on through rotating
//! refresh tokens. Each refresh marks the presented token used and hands out a new one. A
//! used token presented again within the grace window (two tabs refreshing at once) gets
//! its own fresh pair for the same session; after the window it is taken for a stolen
//! copy, and the whole session is revoked.

use chrono::{DateTime, Utc};

use super::{Accounts, SignedIn, TokenPair};
use crate::{
    auth::{Proof, SessionId, UserId, refresh_tokens},
    db::DbConn,
    error::{AppError, AuthFailure},
    request_meta::RequestMeta,
    store::{
        sessions::{self, NewSession, Which},
        users::{self, User},
    },
};

/// What a refresh found, decided inside its transaction.
enum Refreshed {
    Rotated(TokenPair, UserId),
    Refused(AuthFailure),
    /// Reuse after the grace window: these sessions were revoked.
    Reused(Vec<String>, DateTime<Utc>),
}

fn chrono_duration(
    duration: std::time::Duration,
    name: &str,
) -> Result<chrono::Duration, AppError> {
    chrono::Duration::from_std(duration)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("{name} out of range: {e}")))
}

impl Accounts {
    /// Starts a session for `user`, who just proved who they are, recording where the
    /// request came from.
    pub(super) async fn start_session(
        &self,
        user: User,
        proof: &Proof,
        meta: &RequestMeta,
    ) -> Result<SignedIn, AppError> {
        let user_id = UserId::proven(user.id.clone(), proof);
        let (refresh_token, hash) = refresh_tokens::generate();
        let refresh_expires_at = self.refresh_expiry()?;
        let ip = meta.ip.map(|ip| ip.to_string());
        let session = sessions::create(
            &mut self.db.get().await?,
            &user_id,
            NewSession {
                user_agent: meta.user_agent.as_deref(),
                ip: ip.as_deref(),
                token_hash: &hash,
                expires_at: refresh_expires_at,
            },
        )
        .await?;
        let session_id = SessionId::proven(session.id, proof);
        let tokens = TokenPair {
            access: self.tokens.issue(&user_id, &session_id)?,
            refresh_token,
            refresh_expires_at,
        };
        Ok(SignedIn {
            user,
            user_id,
            tokens,
        })
    }

    /// Exchanges a refresh token for a new pair; see the module's notes on reuse. Counts
    /// as an attempt from `ip` for the rate limit.
    pub(crate) async fn refresh(
        &self,
        refresh_token: &str,
        ip: Option<std::net::IpAddr>,
    ) -> Result<SignedIn, AppError> {
        self.limits.attempt(ip, None).await?;
        let conn = &mut self.db.get().await?;
        let decided = conn
            .transaction(async |conn| self.refresh_in_transaction(conn, refresh_token).await)
            .await?;
        match decided {
            Refreshed::Rotated(tokens, user_id) => {
                let user = users::find(conn, &user_id)
                    .await?
                    .ok_or(AppError::Unauthenticated(AuthFailure::RefreshTokenInvalid))?;
                Ok(SignedIn {
                    user,
                    user_id,
                    tokens,
                })
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
        presented: &str,
    ) -> Result<Refreshed, AppError> {
        let now = crate::store::now();
        let hash = refresh_tokens::hash(presented);
        // A write first: it takes SQLite's write lock, and settles races between refreshes.
        let claimed = sessions::claim(conn, &hash).await?.is_some();
        let Some((token, session)) = sessions::find_by_refresh_hash(conn, &hash).await? else {
            return Ok(Refreshed::Refused(AuthFailure::RefreshTokenInvalid));
        };
        let Some(proof) = refresh_tokens::matched(presented, &token.token_hash) else {
            return Ok(Refreshed::Refused(AuthFailure::RefreshTokenInvalid));
        };
        if session.is_revoked() {
            return Ok(Refreshed::Refused(AuthFailure::SessionRevoked));
        }
        if token.expires_at() <= now || session.expires_at() <= now {
            return Ok(Refreshed::Refused(AuthFailure::RefreshTokenExpired));
        }
        let user_id = UserId::proven(session.user_id.clone(), &proof);
        let session_id = SessionId::proven(session.id.clone(), &proof);
        if !claimed {
            let grace = chrono_duration(self.sessions.reuse_grace, "REFRESH_REUSE_GRACE")?;
            let within_grace = token.used_at().is_some_and(|used| now - used <= grace);
            if !within_grace {
                let until = self.revoked_until()?;
                let ids = sessions::revoke(conn, &user_id, Which::One(&session_id), until).await?;
                return Ok(Refreshed::Reused(ids, until));
            }
        }
        let (refresh_token, new_hash) = refresh_tokens::generate();
        let refresh_expires_at = self.refresh_expiry()?;
        sessions::add_token(conn, &user_id, &session_id, &new_hash, refresh_expires_at).await?;
        let tokens = TokenPair {
            access: self.tokens.issue(&user_id, &session_id)?,
            refresh_token,
            refresh_expires_at,
        };
        Ok(Refreshed::Rotated(tokens, user_id))
    }

    /// Until when a session revoked now must be refused: the longest an access token issued
    /// before now can live, with the verifier's clock leeway and a margin for a token being
    /// signed while the revocation commits.
    pub(super) fn revoked_until(&self) -> Result<DateTime<Utc>, AppError> {
        let ttl = chrono_duration(self.tokens.ttl(), "ACCESS_TOKEN_TTL")?;
        let margin = chrono::Duration::seconds(crate::auth::tokens::LEEWAY_SECS as i64 + 60);
        Ok(crate::store::now() + ttl + margin)
    }

    pub(super) fn refresh_expiry(&self) -> Result<DateTime<Utc>, AppError> {
        let ttl = chrono_duration(self.sessions.refresh_ttl, "REFRESH_TOKEN_TTL")?;
        Ok(crate::store::now() + ttl)
    }
}
