//! PostgreSQL `LISTEN` on a dedicated connection, for news from other instances: it
//! reconnects after a failure and reports each (re)connection, since notifications sent
//! while it was down are lost. SQLite has nobody else to hear from.

use std::time::Duration;

use super::{Target, parse_url, pg_config, rustls_connector};

/// What a [`listen`] task reports.
#[derive(Debug)]
pub enum Listened {
    /// The listening connection is (re)established: anything sent while it was down was
    /// missed, so the receiver should re-read what it follows.
    Connected,
    /// A notification's payload.
    Notification(String),
}

/// On PostgreSQL, follows `LISTEN channel` on a dedicated connection, reconnecting after a
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
    let (config, tls) = pg_config(&url)?;
    Ok(Some(tokio::spawn(async move {
        let mut backoff = Duration::from_millis(250);
        while !tx.is_closed() {
            let result = if tls {
                listen_once(&config, rustls_connector(), channel, &tx).await
            } else {
                listen_once(&config, tokio_postgres::NoTls, channel, &tx).await
            };
            match result {
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

/// One LISTEN connection's life: connect, listen, forward until it fails or `tx` closes.
async fn listen_once<T>(
    config: &tokio_postgres::Config,
    tls: T,
    channel: &str,
    tx: &tokio::sync::mpsc::UnboundedSender<Listened>,
) -> anyhow::Result<()>
where
    T: tokio_postgres::tls::MakeTlsConnect<tokio_postgres::Socket>,
    T::Stream: Send + 'static,
{
    use futures_util::StreamExt as _;

    let (client, mut connection) = config.connect(tls).await?;
    let (messages_tx, mut messages) = tokio::sync::mpsc::unbounded_channel();
    // The connection only makes progress while polled, and the client's LISTEN needs it.
    let driver = tokio::spawn(async move {
        let mut stream = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = stream.next().await {
            let stop = message.is_err();
            if messages_tx.send(message).is_err() || stop {
                break;
            }
        }
    });
    let quoted = format!("LISTEN \"{}\"", channel.replace('"', "\"\""));
    if let Err(error) = client.batch_execute(&quoted).await {
        driver.abort();
        return Err(error.into());
    }
    if tx.send(Listened::Connected).is_err() {
        driver.abort();
        return Ok(());
    }
    let outcome = loop {
        match messages.recv().await {
            Some(Ok(tokio_postgres::AsyncMessage::Notification(note))) => {
                if tx
                    .send(Listened::Notification(note.payload().to_owned()))
                    .is_err()
                {
                    break Ok(());
                }
            }
            Some(Ok(_)) => {}
            Some(Err(error)) => break Err(error.into()),
            None => break Err(anyhow::anyhow!("the LISTEN connection closed")),
        }
    };
    driver.abort();
    drop(client);
    outcome
}
