//! Builds the application from its settings and serves it until told to stop.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context;
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};

use crate::{
    accounts::{Accounts, SessionSettings},
    auth::{
        Passwords, RateLimits, Revocations, Tokens, keys::KeySet, passwords::Argon2Params,
        revocation::Follower, secret,
    },
    config::{JwtAlgorithm, Settings},
    db::DbPool,
    documents::CacheSize,
    execute::Executor,
    feed::{ChangeFeed, Listening},
    graphql::{self, AppState, Limits, SchemaOptions, sync::cursor::CursorKeys},
    http::{
        self, HttpOptions, HttpState,
        serve::{ServeOptions, Timeouts, serve},
    },
    metrics::Metrics,
    shared_limits::{self, SharedLimits, Sweep},
    tombstone_purge::TombstonePurge,
    write_limit::{WriteLimit, WriteSync},
    ws::{Hub, WsOptions},
};

/// How long shutdown waits for the WebSockets to take their 1012 and go.
const SOCKETS_GRACE: Duration = Duration::from_secs(5);

/// A running server.
pub struct Server {
    /// The address it listens on (useful with port 0).
    pub addr: SocketAddr,
    db: DbPool,
    _revocations: Follower,
    ws: Hub,
    _purge: TombstonePurge,
    _limits_sweep: Option<Sweep>,
    _write_sync: Option<WriteSync>,
    _listening: Option<Listening>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

/// Connects to the database, applies migrations, binds `listen_addr` and serves in a
/// background task.
pub async fn spawn(settings: Settings) -> anyhow::Result<Server> {
    let db = connect(&settings).await?;
    let shared = shared_limits::shared(settings.rate_limit_store, &db)?;
    let listen_url = listen_url(&settings, &db);
    let (revocations, follower) =
        Revocations::follow(db.clone(), &listen_url, settings.revocation_poll_interval).await?;
    let purge = TombstonePurge::start(db.clone(), settings.sync_tombstone_ttl);
    let metrics = Arc::new(Metrics::new()?);
    let feed = ChangeFeed::new(db.clone(), metrics.clone());
    let listening = feed.listen(&listen_url)?;
    let (tokens, cursor_keys) = tokens(&settings, revocations.clone())?;
    let shared = shared.then(|| SharedLimits::new(db.clone(), metrics.clone()));
    let limits_sweep = shared.as_ref().map(SharedLimits::sweep);
    let (writes, write_sync) = match &shared {
        Some(store) => {
            WriteLimit::shared(settings.write_rate_limit.0, store.clone(), metrics.clone())
        }
        None => (WriteLimit::new(settings.write_rate_limit.0), None),
    };
    let accounts = accounts(&settings, &db, tokens.clone(), revocations.clone(), shared).await?;
    let schemas = graphql::build(
        AppState {
            db: db.clone(),
            accounts,
            max_todos: settings.max_todos_per_user,
            writes: Arc::new(writes),
            feed: feed.clone(),
            cursor_keys,
        },
        SchemaOptions {
            max_complexity: settings.graphql_max_complexity,
            production: settings.production,
        },
    );
    let documents = CacheSize {
        entries: usize::try_from(settings.document_cache_entries).unwrap_or(usize::MAX),
        bytes: usize::try_from(settings.document_cache_bytes).unwrap_or(usize::MAX),
    };
    let executor = Executor::new(
        schemas,
        limits(&settings),
        documents,
        metrics.clone(),
        settings.request_timeout,
        settings.max_response_bytes,
    );
    let ws = Hub::new(
        ws_options(&settings),
        executor.clone(),
        tokens.clone(),
        revocations,
        metrics.clone(),
    );
    let router = http::router(HttpState {
        executor,
        db: db.clone(),
        tokens,
        metrics: metrics.clone(),
        options: http_options(&settings),
        ws: ws.clone(),
    })?;
    let listener = TcpListener::bind(settings.listen_addr)
        .await
        .with_context(|| format!("binding {}", settings.listen_addr))?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve(
        listener,
        router,
        serve_options(&settings),
        metrics,
        async {
            let _ = stopped.await;
        },
    ));
    if limits_sweep.is_some() {
        tracing::info!("rate limits are shared through PostgreSQL (RATE_LIMIT_STORE)");
    }
    if settings.production {
        tracing::info!(%addr, backend = db.backend(), "serving GraphQL at http://{addr}/graphql");
    } else {
        tracing::info!(%addr, backend = db.backend(), "serving; GraphiQL at http://{addr}/graphql");
    }
    Ok(Server {
        addr,
        db,
        _revocations: follower,
        ws,
        _purge: purge,
        _limits_sweep: limits_sweep,
        _write_sync: write_sync,
        _listening: listening,
        stop,
        task,
    })
}

/// Where the `LISTEN` connections go (revocations, the change feed): `DATABASE_LISTEN_URL`
/// on PostgreSQL. Behind a transaction-mode pooler without one, LISTEN would go through
/// the pooler too, which cannot keep it: said once at start.
fn listen_url(settings: &Settings, db: &DbPool) -> String {
    if db.backend() != "postgres" {
        return settings.database_url();
    }
    if !settings.database_prepared_statements && settings.database_listen_url.is_none() {
        tracing::warn!(
            "DATABASE_PREPARED_STATEMENTS=false (a transaction-mode pooler) but no \
             DATABASE_LISTEN_URL: LISTEN goes through DATABASE_URL, and revocations and live \
             events cross instances only if that connection is direct"
        );
    }
    settings.database_listen_url()
}

/// The access-token service: the keys the settings name, refusing revoked sessions; and
/// the sync-cursor keys, derived from the same secrets so that every replica (and a
/// restart) opens the others' cursors.
fn tokens(settings: &Settings, revocations: Revocations) -> anyhow::Result<(Tokens, CursorKeys)> {
    let (secret, source) = secret::load(settings)?;
    let keys = KeySet::from_settings(settings, &secret)
        .with_context(|| format!("the JWT signing keys (secret from {source})"))?;
    let previous = settings.previous_jwt_secrets();
    // Under EdDSA a replica may run without JWT_SECRET (each then generates its own), but
    // every replica holds the signing key: the cursors are sealed with a key derived from it.
    let cursor_secret = match (
        &settings.jwt_algorithm,
        &settings.jwt_ed25519_private_key_file,
    ) {
        (JwtAlgorithm::EdDsa, Some(path)) if settings.jwt_secret.is_none() => {
            std::fs::read(path).with_context(|| format!("reading {}", path.display()))?
        }
        _ => secret.clone(),
    };
    let cursor_keys = CursorKeys::derive(&cursor_secret, &previous)?;
    let tokens = Tokens::with_keys(
        keys,
        &settings.jwt_issuer,
        &settings.jwt_audience,
        settings.access_token_ttl,
        revocations,
    )?;
    Ok((tokens, cursor_keys))
}

/// The account workflows over the pool, with their password hashing and rate limits (also
/// counted in `shared` when given).
async fn accounts(
    settings: &Settings,
    db: &DbPool,
    tokens: Tokens,
    revocations: Revocations,
    shared: Option<SharedLimits>,
) -> anyhow::Result<Accounts> {
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
    let limits = RateLimits::new(
        settings.auth_rate_limit_ip.0,
        settings.auth_rate_limit_account.0,
    );
    let limits = match shared {
        Some(store) => limits.shared_through(store),
        None => limits,
    };
    Ok(Accounts {
        db: db.clone(),
        tokens,
        passwords,
        limits: Arc::new(limits),
        password_min_length: usize::from(settings.password_min_length),
        sessions: SessionSettings {
            refresh_ttl: settings.refresh_token_ttl,
            reuse_grace: settings.refresh_reuse_grace,
        },
        revocations,
    })
}

/// The document limits checked before GraphQL runs.
fn limits(settings: &Settings) -> Limits {
    Limits {
        depth: settings.graphql_max_depth,
        introspection_depth: settings.graphql_max_introspection_depth,
        fields: settings.graphql_max_fields,
        aliases: settings.graphql_max_aliases,
        selections: settings.graphql_max_selections,
        directives: settings.graphql_max_directives,
        bytes: settings.graphql_max_document_bytes,
        tokens: settings.graphql_max_tokens,
        introspection: !settings.production,
    }
}

/// The HTTP layer's settings.
fn http_options(settings: &Settings) -> HttpOptions {
    HttpOptions {
        max_body_bytes: settings.max_body_bytes,
        batch_max: usize::from(settings.graphql_batch_max),
        graphiql: !settings.production,
        trusted_proxies: settings.trusted_proxies.0.clone(),
        cors_origins: settings.cors_allowed_origins.clone(),
        cors_credentials: settings.cors_allow_credentials,
        body_read_timeout: settings.body_read_timeout,
    }
}

/// The WebSocket settings.
fn ws_options(settings: &Settings) -> WsOptions {
    let size = |n: u32| usize::try_from(n).unwrap_or(usize::MAX);
    WsOptions {
        legacy_protocol: settings.ws_legacy_protocol,
        init_timeout: settings.ws_init_timeout,
        ping_interval: settings.ws_ping_interval,
        idle_timeout: settings.ws_idle_timeout,
        max_connections: size(settings.ws_max_connections),
        max_message_bytes: size(settings.ws_max_message_bytes),
        queue: size(settings.ws_queue),
        max_subscriptions: size(settings.ws_max_subscriptions),
        max_per_session: size(settings.ws_max_sockets_per_session),
        max_per_user: size(settings.ws_max_sockets_per_user),
    }
}

/// The connection deadlines and cap.
fn serve_options(settings: &Settings) -> ServeOptions {
    ServeOptions {
        timeouts: Timeouts {
            keep_alive: settings.keep_alive_timeout,
            header_read: settings.header_read_timeout,
        },
        max_connections: usize::try_from(settings.max_connections).unwrap_or(usize::MAX),
    }
}

impl Server {
    /// Stops accepting connections, lets in-flight requests finish, closes every WebSocket
    /// with 1012 (so its client reconnects elsewhere), then closes the pool.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        let (served, ()) = tokio::join!(self.task, self.ws.shut_down(SOCKETS_GRACE));
        served.context("the server task")?;
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
        &settings.database_url(),
        crate::db::PoolOptions {
            size: settings.database_pool_size,
            timeout: settings.database_timeout,
            statement_timeout: settings.database_statement_timeout,
            prepared_statements: settings.database_prepared_statements,
        },
    )
    .await
    .context("connecting to the database")
}
