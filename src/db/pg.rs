//! Connecting to PostgreSQL: the session each connection starts with (its statement timeout
//! and prepared-statement cache, or neither behind a transaction-mode pooler), TLS only
//! when `sslmode` asks for it, through rustls with the web's root authorities, and
//! connection errors that carry the server's (or the pooler's) own words.

use std::{error::Error as _, fmt::Write as _, sync::Arc};

use anyhow::Context as _;
use diesel::connection::CacheSize;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, SimpleAsyncConnection as _};
use futures_util::{FutureExt as _, future::BoxFuture};

/// How each new PostgreSQL connection is set up.
#[derive(Debug, Clone, Copy)]
pub(super) struct PgSession {
    /// `statement_timeout` sent at connect time (a startup `options` parameter), in
    /// milliseconds; `None` sends no options, which a transaction-mode pooler refuses.
    pub(super) statement_timeout_ms: Option<u128>,
    /// Whether diesel-async keeps prepared statements per connection.
    pub(super) prepared_statements: bool,
}

pub(super) fn establish_pg(
    url: &str,
    session: PgSession,
) -> BoxFuture<'_, diesel::ConnectionResult<AsyncPgConnection>> {
    async move {
        let (mut config, tls) =
            pg_config(url).map_err(|e| diesel::ConnectionError::BadConnection(format!("{e:#}")))?;
        if let Some(ms) = session.statement_timeout_ms {
            // A slow statement must not hold a pooled connection forever.
            config.options(format!("-c statement_timeout={ms}"));
        }
        let bad = |e: tokio_postgres::Error| {
            diesel::ConnectionError::BadConnection(describe(&config, &e))
        };
        if tls {
            let tls = rustls_config()
                .map(|config| tokio_postgres_rustls::MakeRustlsConnect::new((*config).clone()))
                .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))?;
            let (client, conn) = config.connect(tls).await.map_err(bad)?;
            set_up(client, conn, session, bad).await
        } else {
            let (client, conn) = config.connect(tokio_postgres::NoTls).await.map_err(bad)?;
            set_up(client, conn, session, bad).await
        }
    }
    .boxed()
}

/// Makes a diesel connection of a connected client. Without prepared statements (behind a
/// transaction-mode pooler), diesel-async's own set-up statements (prepared ones) run in a
/// transaction, so that the pooler keeps them on one server connection, and the statements
/// they cached are closed before it ends.
async fn set_up<S>(
    client: tokio_postgres::Client,
    conn: tokio_postgres::Connection<tokio_postgres::Socket, S>,
    session: PgSession,
    bad: impl Fn(tokio_postgres::Error) -> diesel::ConnectionError,
) -> diesel::ConnectionResult<AsyncPgConnection>
where
    S: tokio_postgres::tls::TlsStream + Unpin + Send + 'static,
{
    if session.prepared_statements {
        return AsyncPgConnection::try_from_client_and_connection(client, conn).await;
    }
    // Driven here rather than by diesel-async, so that the client can open the transaction
    // before diesel-async's set-up runs; a pooled connection needs no notifications.
    tokio::spawn(async move {
        if let Err(error) = conn.await {
            tracing::debug!(%error, "a PostgreSQL connection ended");
        }
    });
    client.batch_execute("BEGIN").await.map_err(bad)?;
    let mut conn = AsyncPgConnection::try_from(client).await?;
    conn.set_prepared_statement_cache_size(CacheSize::Disabled);
    conn.batch_execute("COMMIT")
        .await
        .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
    Ok(conn)
}

/// A connection failure in the server's or the pooler's own words (`db error` alone says
/// nothing), with where it went; `Config` holds the password apart, so none is printed.
pub(super) fn describe(config: &tokio_postgres::Config, error: &tokio_postgres::Error) -> String {
    let mut text = String::new();
    if let Some(db) = error.as_db_error() {
        let _ = write!(
            text,
            "{}: {} ({})",
            db.severity(),
            db.message(),
            db.code().code()
        );
        if let Some(detail) = db.detail() {
            let _ = write!(text, "; {detail}");
        }
        if let Some(hint) = db.hint() {
            let _ = write!(text, "; hint: {hint}");
        }
    } else {
        text.push_str(&error.to_string());
        let mut source = error.source();
        while let Some(cause) = source {
            let _ = write!(text, ": {cause}");
            source = cause.source();
        }
    }
    let _ = write!(text, " [{}]", target(config));
    text
}

/// Where a connection goes: `user@host:port/dbname`, never the password.
fn target(config: &tokio_postgres::Config) -> String {
    use tokio_postgres::config::Host;
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let name = match host {
                Host::Tcp(name) => name.clone(),
                Host::Unix(path) => path.display().to_string(),
            };
            let port = config
                .get_ports()
                .get(i)
                .or_else(|| config.get_ports().first())
                .copied()
                .unwrap_or(5432);
            format!("{name}:{port}")
        })
        .collect();
    format!(
        "{}@{}/{}",
        config.get_user().unwrap_or("?"),
        hosts.join(","),
        config.get_dbname().unwrap_or("?"),
    )
}

/// Parses a PostgreSQL URL and says whether to use TLS: only when `sslmode` asks for it
/// (`require`, `verify-ca` or `verify-full`). With rustls the server's certificate is then
/// always verified against the web's root authorities, as `verify-full` would.
pub(super) fn pg_config(url: &str) -> anyhow::Result<(tokio_postgres::Config, bool)> {
    let tls = [
        "sslmode=require",
        "sslmode=verify-ca",
        "sslmode=verify-full",
    ]
    .iter()
    .any(|mode| url.contains(mode));
    // tokio-postgres knows only disable/prefer/require; the TLS decision is made above.
    let normalized = url
        .replace("sslmode=verify-full", "sslmode=require")
        .replace("sslmode=verify-ca", "sslmode=require");
    let mut config: tokio_postgres::Config =
        normalized.parse().context("parsing the PostgreSQL URL")?;
    if !tls {
        config.ssl_mode(tokio_postgres::config::SslMode::Disable);
    }
    Ok((config, tls))
}

/// The TLS settings of every PostgreSQL connection, built once: the web's root
/// authorities, ring's algorithms, TLS 1.2 and 1.3.
pub(super) fn rustls_config() -> anyhow::Result<Arc<rustls::ClientConfig>> {
    static CONFIG: std::sync::OnceLock<Arc<rustls::ClientConfig>> = std::sync::OnceLock::new();
    if let Some(config) = CONFIG.get() {
        return Ok(config.clone());
    }
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("setting up TLS for PostgreSQL")?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(CONFIG.get_or_init(|| Arc::new(config)).clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_full_means_tls() {
        let (_, tls) =
            pg_config("postgres://u@h/db?sslmode=verify-full").unwrap_or_else(|e| panic!("{e}"));
        assert!(tls);
        let (_, tls) =
            pg_config("postgres://u@h/db?sslmode=disable").unwrap_or_else(|e| panic!("{e}"));
        assert!(!tls);
    }

    #[test]
    fn the_target_of_an_error_never_shows_the_password() {
        let (config, _) = pg_config("postgres://ann:s3cret@db.example:6432/todo")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(target(&config), "ann@db.example:6432/todo");
    }
}
