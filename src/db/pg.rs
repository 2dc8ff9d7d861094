//! Connecting to PostgreSQL: the statement timeout on every connection, and TLS only when
//! `sslmode` asks for it, through rustls with the web's root authorities.

use std::sync::Arc;

use anyhow::Context as _;
use diesel_async::AsyncPgConnection;
use futures_util::{FutureExt as _, future::BoxFuture};

pub(super) fn establish_pg(
    url: &str,
    statement_timeout_ms: u128,
) -> BoxFuture<'_, diesel::ConnectionResult<AsyncPgConnection>> {
    async move {
        let (mut config, tls) =
            pg_config(url).map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))?;
        // A slow statement must not hold a pooled connection forever.
        config.options(format!("-c statement_timeout={statement_timeout_ms}"));
        let bad = |e: tokio_postgres::Error| diesel::ConnectionError::BadConnection(e.to_string());
        if tls {
            let tls = rustls_config()
                .map(|config| tokio_postgres_rustls::MakeRustlsConnect::new((*config).clone()))
                .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))?;
            let (client, conn) = config.connect(tls).await.map_err(bad)?;
            AsyncPgConnection::try_from_client_and_connection(client, conn).await
        } else {
            let (client, conn) = config.connect(tokio_postgres::NoTls).await.map_err(bad)?;
            AsyncPgConnection::try_from_client_and_connection(client, conn).await
        }
    }
    .boxed()
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
    let mut config: tokio_postgres::Config = normalized.parse().context("parsing DATABASE_URL")?;
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
}
