//! The background task that deletes the shared rate-limit keys whose arrival time has
//! passed (they limit nothing any more), once a minute, so the table holds only the keys
//! active within their period.

use std::time::Duration;

use tokio::task::JoinHandle;

use crate::{db::DbPool, store::rate_limits};

/// How often expired keys are deleted.
const INTERVAL: Duration = Duration::from_secs(60);

/// The running sweep; dropping it stops the task.
pub(crate) struct Sweep {
    task: JoinHandle<()>,
}

impl Drop for Sweep {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Sweep {
    /// Starts sweeping `db`'s `rate_limits`.
    pub(super) fn start(db: DbPool) -> Self {
        let task = tokio::spawn(async move {
            let mut ticker = tokio::time::interval(INTERVAL);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                let swept = match db.get().await {
                    Ok(mut conn) => rate_limits::sweep(&mut conn).await,
                    Err(error) => Err(error),
                };
                match swept {
                    Ok(0) => {}
                    Ok(rows) => tracing::debug!(rows, "swept expired rate-limit keys"),
                    Err(error) => {
                        tracing::warn!(%error, "sweeping rate-limit keys failed; retrying")
                    }
                }
            }
        });
        Self { task }
    }
}
