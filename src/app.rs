//! Builds the application from its settings and serves it until told to stop.

use std::{
    net::{IpAddr, SocketAddr},
    path::Path,
    sync::Arc,
};

use anyhow::Context;
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};

use crate::{
    auth::{
        Auth, Passwords, RateLimits, Revocations, SessionSettings, Tokens, keys::KeySet,
        passwords::Argon2Params, revocation::Follower, tokens::MIN_SECRET_LEN,
    },
    config::Settings,
    db::DbPool,
    graphql::{self, AppState, Guards, Limits},
    http::{
        self, HttpOptions, HttpState,
        serve::{ServeOptions, Timeouts, serve},
    },
    metrics::Metrics,
    write_limit::WriteLimit,
};

/// A running server.
pub struct Server {
    /// The address it listens on (useful with port 0).
    pub addr: SocketAddr,
    db: DbPool,
    _revocations: Follower,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

/// Connects to the database, applies migrations, binds `listen_addr` and serves in a
/// background task.
pub async fn spawn(settings: Settings) -> anyhow::Result<Server> {
    let db = connect(&settings).await?;
    let secret = jwt_secret(&settings)?;
    let (revocations, follower) = Revocations::follow(
        db.clone(),
        &settings.database_url,
        settings.revocation_poll_interval,
    )
    .await?;
    let tokens = Tokens::with_keys(
        KeySet::from_settings(&settings, &secret)?,
        &settings.jwt_issuer,
        &settings.jwt_audience,
        settings.access_token_ttl,
        revocations.clone(),
    )?;
    // Half the cores hash at most, so a login storm leaves the rest to todo requests.
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    let hashing_slots = (cores / 2).max(1);
    let passwords = Passwords::with_params(
        Argon2Params {
            memory_kib: settings.argon2_memory_kib,
            iterations: settings.argon2_iterations,
            parallelism: settings.argon2_parallelism,
        },
        settings.hashing_concurrency.unwrap_or(hashing_slots),
        settings.hashing_queue_timeout,
    )
    .await?;
    let auth = Auth {
        tokens: tokens.clone(),
        passwords,
        limits: Arc::new(RateLimits::new(
            settings.auth_rate_limit_ip.0,
            settings.auth_rate_limit_account.0,
        )),
        password_min_length: usize::from(settings.password_min_length),
        sessions: SessionSettings {
            refresh_ttl: settings.refresh_token_ttl,
            reuse_grace: settings.refresh_reuse_grace,
        },
        revocations: revocations.clone(),
    };
    let limits = Limits {
        depth: settings.graphql_max_depth,
        introspection_depth: settings.graphql_max_introspection_depth,
        fields: settings.graphql_max_fields,
        aliases: settings.graphql_max_aliases,
        selections: settings.graphql_max_selections,
        directives: settings.graphql_max_directives,
        bytes: settings.graphql_max_document_bytes,
        tokens: settings.graphql_max_tokens,
        introspection: !settings.production,
    };
    let guards = Guards {
        max_complexity: settings.graphql_max_complexity,
        production: settings.production,
    };
    let metrics = Arc::new(Metrics::new()?);
    let schema = graphql::build(
        AppState {
            db: db.clone(),
            auth,
            max_todos: settings.max_todos_per_user,
            writes: Arc::new(WriteLimit::new(settings.write_rate_limit.0)),
        },
        guards,
    );
    let trusted_proxies = settings
        .trusted_proxies
        .iter()
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse::<IpAddr>()
                .with_context(|| format!("TRUSTED_PROXIES: {p:?} is not an IP address"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let router = http::router(HttpState {
        schema,
        db: db.clone(),
        tokens,
        metrics: metrics.clone(),
        limits,
        options: HttpOptions {
            max_body_bytes: settings.max_body_bytes,
            max_response_bytes: settings.max_response_bytes,
            request_timeout: settings.request_timeout,
            batch_max: usize::from(settings.graphql_batch_max),
            graphiql: !settings.production,
            trusted_proxies,
            cors_origins: settings.cors_allowed_origins.clone(),
            cors_credentials: settings.cors_allow_credentials,
            body_read_timeout: settings.body_read_timeout,
        },
    })?;
    let listener = TcpListener::bind(settings.listen_addr)
        .await
        .with_context(|| format!("binding {}", settings.listen_addr))?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel::<()>();
    let serve_options = ServeOptions {
        timeouts: Timeouts {
            keep_alive: settings.keep_alive_timeout,
            header_read: settings.header_read_timeout,
        },
        max_connections: usize::try_from(settings.max_connections).unwrap_or(usize::MAX),
    };
    let task = tokio::spawn(serve(listener, router, serve_options, metrics, async {
        let _ = stopped.await;
    }));
    if settings.production {
        tracing::info!(%addr, backend = db.backend(), "serving GraphQL at http://{addr}/graphql");
    } else {
        tracing::info!(%addr, backend = db.backend(), "serving; GraphiQL at http://{addr}/graphql");
    }
    Ok(Server {
        addr,
        db,
        _revocations: follower,
        stop,
        task,
    })
}

impl Server {
    /// Stops accepting connections, lets in-flight requests finish, then closes the pool.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        self.task.await.context("the server task")?;
        self.db.close();
        Ok(())
    }
}

/// Applies pending migrations and returns.
pub async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    connect(settings).await?.close();
    Ok(())
}

async fn connect(settings: &Settings) -> anyhow::Result<DbPool> {
    DbPool::connect(
        &settings.database_url,
        crate::db::PoolOptions {
            size: settings.database_pool_size,
            timeout: settings.database_timeout,
            statement_timeout: settings.database_statement_timeout,
        },
    )
    .await
    .context("connecting to the database")
}

/// The configured secret, or one generated once into `DATA_DIR` and reused after.
fn jwt_secret(settings: &Settings) -> anyhow::Result<Vec<u8>> {
    if let Some(secret) = &settings.jwt_secret {
        if secret.len() < MIN_SECRET_LEN {
            anyhow::bail!("JWT_SECRET must be at least {MIN_SECRET_LEN} bytes");
        }
        return Ok(secret.as_bytes().to_vec());
    }
    let path = settings.data_dir.join("jwt-secret");
    let secret = read_or_create_secret(&path)?;
    tracing::warn!(
        path = %path.display(),
        "JWT_SECRET is not set: using a generated secret; set JWT_SECRET in production \
         (every replica needs the same one)"
    );
    Ok(secret)
}

fn read_or_create_secret(path: &Path) -> anyhow::Result<Vec<u8>> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;

    if let Ok(existing) = std::fs::read_to_string(path) {
        let secret = existing.trim().as_bytes().to_vec();
        if secret.len() < MIN_SECRET_LEN {
            anyhow::bail!(
                "{} holds a secret shorter than {MIN_SECRET_LEN} bytes",
                path.display()
            );
        }
        return Ok(secret);
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut bytes = [0_u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(secret.as_bytes())?;
    Ok(secret.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_generated_secret_is_private_and_reused() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("sub/jwt-secret");
        let first = read_or_create_secret(&path)?;
        assert_eq!(first.len(), 64);
        assert_eq!(
            std::fs::metadata(&path)?.permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(read_or_create_secret(&path)?, first);
        Ok(())
    }
}
