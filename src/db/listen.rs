//! PostgreSQL `LISTEN` on a dedicated connection, for news from other instances: it
//! reconnects after a failure and reports each (re)connection, since notifications sent
//! while it was down are lost. SQLite has nobody else to hear from.

use std::time::Duration;

use diesel_async::{AsyncPgConnection, RunQueryDsl as _};
use futures_util::StreamExt as _;

use super::{
    Target, parse_url,
    pg::{PgSession, establish_pg},
};

/// What a [`listen`] task reports.
#[derive(Debug)]
pub enum Listened {
    /// The listening connection is (re)established: anything sent while it was down was
    /// missed, so the receiver should re-read what it follows.
    Connected,
    /// A notification's payload.
    Notification(String),
}

/// On PostgreSQL, follows `LISTEN channel` on a dedicated connection to `url` (a direct
/// one, never through a transaction-mode pooler), reconnecting after a
/// failure, and sends what it hears to `tx`; ends when `tx` is closed. `None` on SQLite,
/// where there is nobody else to hear from.
pub fn listen(
    url: &str,
    channel: &'static str,
    tx: tokio::sync::mpsc::UnboundedSender<Listened>,
) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
    let Target::Postgres(url) = parse_url(url)? else {
        return Ok(None);
    };
    Ok(Some(tokio::spawn(async move {
        let mut backoff = Duration::from_millis(250);
        while !tx.is_closed() {
            match listen_once(&url, channel, &tx).await {
                Ok(()) => backoff = Duration::from_millis(250),
                Err(error) => {
                    tracing::warn!(%error, channel, "LISTEN connection lost; reconnecting");
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            }
            tokio::time::sleep(backoff).await;
        }
    })))
}

/// One LISTEN connection's life: connect the way the pool does (TLS included), listen,
/// forward until the connection fails or `tx` closes.
async fn listen_once(
    url: &str,
    channel: &str,
    tx: &tokio::sync::mpsc::UnboundedSender<Listened>,
) -> anyhow::Result<()> {
    // No statement timeout: this connection waits on LISTEN for as long as it lives. It
    // must be a direct one (a transaction-mode pooler would drop the LISTEN at once).
    let session = PgSession {
        statement_timeout_ms: Some(0),
        prepared_statements: true,
    };
    let mut conn: AsyncPgConnection = establish_pg(url, session).await?;
    let quoted = format!("LISTEN \"{}\"", channel.replace('"', "\"\""));
    diesel::sql_query(quoted).execute(&mut conn).await?;
    if tx.send(Listened::Connected).is_err() {
        return Ok(());
    }
    let mut notifications = std::pin::pin!(conn.notifications_stream());
    while let Some(notification) = notifications.next().await {
        if tx
            .send(Listened::Notification(notification?.payload))
            .is_err()
        {
            return Ok(());
        }
    }
    Err(anyhow::anyhow!("the LISTEN connection closed"))
}
