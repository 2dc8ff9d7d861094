//! Every setting of the server: its flag, its environment variable and its default, in one
//! place. `.env` is read by `main` before parsing, so a file and the environment agree.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::{Parser, Subcommand, ValueEnum};
use secrecy::SecretString;

mod parse;

pub use parse::{IpList, Rate, RateLimit};
use parse::{parse_depth, parse_duration, parse_ips, parse_rate, parse_secret};

/// The command line: an optional subcommand (default `serve`) and the settings.
#[derive(Debug, Parser)]
#[command(
    name = "todo-graphql",
    version,
    about = "A GraphQL API for multi-user todos"
)]
pub struct Cli {
    /// What to do; `serve` when left out.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The settings shared by every subcommand.
    #[command(flatten)]
    pub settings: Settings,
}

/// The subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Apply migrations, then serve HTTP until SIGINT or SIGTERM (the default).
    Serve,
    /// Apply pending migrations and exit.
    Migrate,
    /// Print the GraphQL schema (SDL) to standard output; `schema.graphql` is its output.
    PrintSchema,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Readable lines for people.
    Pretty,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Every setting. Each is a flag and an environment variable of the same name.
#[derive(Debug, Clone, Parser)]
#[command(name = "todo-graphql")]
pub struct Settings {
    /// Address and port to serve on.
    #[arg(long, env = "LISTEN_ADDR", default_value = "127.0.0.1:8000")]
    pub listen_addr: SocketAddr,

    /// `sqlite://PATH` or `postgres://...` (TLS through `sslmode=require|verify-full`)
    /// [default: sqlite://DATA_DIR/todo.db].
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,

    /// A direct (unpooled) PostgreSQL URL for the `LISTEN` connections that carry
    /// revocations and live events between instances [default: DATABASE_URL].
    #[arg(long, env = "DATABASE_LISTEN_URL")]
    pub database_listen_url: Option<String>,

    /// `false` behind a transaction-mode pooler (PgBouncer, Neon's pooled endpoint): no
    /// prepared-statement cache, and `statement_timeout` set per transaction (`SET LOCAL`)
    /// instead of at connect time.
    #[arg(long, env = "DATABASE_PREPARED_STATEMENTS", default_value_t = true, action = clap::ArgAction::Set,
          num_args = 0..=1, default_missing_value = "true")]
    pub database_prepared_statements: bool,

    /// Pooled database connections [default: 16 on PostgreSQL, 8 on SQLite].
    #[arg(long, env = "DATABASE_POOL_SIZE")]
    pub database_pool_size: Option<usize>,

    /// How long a request waits for a pooled connection before failing.
    #[arg(long, env = "DATABASE_TIMEOUT", default_value = "5s", value_parser = parse_duration)]
    pub database_timeout: Duration,

    /// Where the SQLite file and a generated JWT secret live.
    #[arg(long, env = "DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,

    /// HS256 signing secret, at least 32 bytes [default: generated once into DATA_DIR].
    #[arg(long, env = "JWT_SECRET", hide_env_values = true, value_parser = parse_secret)]
    pub jwt_secret: Option<SecretString>,

    /// The `iss` claim issued and required.
    #[arg(long, env = "JWT_ISSUER", default_value = "todo-graphql")]
    pub jwt_issuer: String,

    /// The `aud` claim issued and required.
    #[arg(long, env = "JWT_AUDIENCE", default_value = "todo-graphql")]
    pub jwt_audience: String,

    /// Access-token lifetime (humantime: `90s`, `15m`, `1h`).
    #[arg(long, env = "ACCESS_TOKEN_TTL", default_value = "15m", value_parser = parse_duration)]
    pub access_token_ttl: Duration,

    /// Refresh-token lifetime; each refresh starts a new one (humantime: `30d`).
    #[arg(long, env = "REFRESH_TOKEN_TTL", default_value = "30d", value_parser = parse_duration)]
    pub refresh_token_ttl: Duration,

    /// How long a just-rotated refresh token may still be presented (two tabs refreshing at
    /// once) before a replay counts as theft and revokes the session.
    #[arg(long, env = "REFRESH_REUSE_GRACE", default_value = "10s", value_parser = parse_duration)]
    pub refresh_reuse_grace: Duration,

    /// How often each instance re-reads the revoked sessions, in case a PostgreSQL
    /// notification was missed.
    #[arg(long, env = "REVOCATION_POLL_INTERVAL", default_value = "5s", value_parser = parse_duration)]
    pub revocation_poll_interval: Duration,

    /// How access tokens are signed: `HS256` (JWT_SECRET) or `EdDSA`
    /// (JWT_ED25519_PRIVATE_KEY_FILE; public keys at /.well-known/jwks.json).
    #[arg(long, env = "JWT_ALGORITHM", value_enum, default_value = "HS256")]
    pub jwt_algorithm: JwtAlgorithm,

    /// Earlier HS256 secrets, comma-separated: they still verify the tokens they signed
    /// (until those expire) but sign nothing.
    #[arg(
        long,
        env = "JWT_SECRET_PREVIOUS",
        value_delimiter = ',',
        hide_env_values = true,
        value_parser = parse_secret
    )]
    pub jwt_secret_previous: Vec<SecretString>,

    /// PKCS#8 PEM file of the Ed25519 private key that signs with `JWT_ALGORITHM=EdDSA`.
    #[arg(long, env = "JWT_ED25519_PRIVATE_KEY_FILE")]
    pub jwt_ed25519_private_key_file: Option<PathBuf>,

    /// PEM files of earlier Ed25519 public keys, comma-separated: they still verify (and are
    /// still published) but sign nothing.
    #[arg(
        long,
        env = "JWT_ED25519_PREVIOUS_PUBLIC_KEY_FILES",
        value_delimiter = ','
    )]
    pub jwt_ed25519_previous_public_key_files: Vec<PathBuf>,

    /// argon2id memory cost of new password hashes, in KiB. Raising a cost re-hashes each
    /// password at its owner's next login.
    #[arg(long, env = "ARGON2_MEMORY_KIB", default_value_t = 19456)]
    pub argon2_memory_kib: u32,

    /// argon2id passes of new password hashes.
    #[arg(long, env = "ARGON2_ITERATIONS", default_value_t = 2)]
    pub argon2_iterations: u32,

    /// argon2id lanes of new password hashes.
    #[arg(long, env = "ARGON2_PARALLELISM", default_value_t = 1)]
    pub argon2_parallelism: u32,

    /// `pretty` or `json`; levels by `RUST_LOG`.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value = "pretty")]
    pub log_format: LogFormat,

    /// The production switch: introspection, field suggestions and GraphiQL off.
    #[arg(long, env = "PRODUCTION", default_value_t = false, action = clap::ArgAction::Set,
          num_args = 0..=1, default_missing_value = "true")]
    pub production: bool,

    /// signup + login + refresh attempts per client IP (`N/duration`), or `off`.
    #[arg(long, env = "AUTH_RATE_LIMIT_IP", default_value = "30/5m", value_parser = parse_rate)]
    pub auth_rate_limit_ip: RateLimit,

    /// Failed logins per account email (`N/duration`), or `off`.
    #[arg(long, env = "AUTH_RATE_LIMIT_ACCOUNT", default_value = "10/5m", value_parser = parse_rate)]
    pub auth_rate_limit_account: RateLimit,

    /// Where the auth and write limits count: `postgres` (shared by every replica on the
    /// database), `memory` (each process its own) or `auto` (postgres on PostgreSQL, memory
    /// on SQLite; `postgres` on SQLite is refused at start).
    #[arg(long, env = "RATE_LIMIT_STORE", value_enum, default_value = "auto")]
    pub rate_limit_store: RateLimitStore,

    /// Comma-separated origins allowed by CORS; `*` allows any (not with credentials).
    #[arg(
        long,
        env = "CORS_ALLOWED_ORIGINS",
        value_delimiter = ',',
        default_value = ""
    )]
    pub cors_allowed_origins: Vec<String>,

    /// Let browsers send credentials (the refresh cookie) cross-origin. Unset: yes for a
    /// list of origins, no with `*`; `true` together with `*` is refused.
    #[arg(long, env = "CORS_ALLOW_CREDENTIALS", action = clap::ArgAction::Set,
          num_args = 0..=1, default_missing_value = "true")]
    pub cors_allow_credentials: Option<bool>,

    /// Comma-separated proxy IP addresses whose `X-Forwarded-For` is believed.
    #[arg(long, env = "TRUSTED_PROXIES", default_value = "", value_parser = parse_ips)]
    pub trusted_proxies: IpList,

    /// Minimum password length in characters (8 to 128; NIST asks 15 where the password is
    /// the only factor).
    #[arg(long, env = "PASSWORD_MIN_LENGTH", default_value_t = 8,
          value_parser = clap::value_parser!(u16).range(8..=128))]
    pub password_min_length: u16,

    /// Largest accepted request body, in bytes.
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = 64 * 1024)]
    pub max_body_bytes: usize,

    /// Longest a GraphQL request may run before it is stopped.
    #[arg(long, env = "REQUEST_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub request_timeout: Duration,

    /// Longest one SQL statement may run on PostgreSQL.
    #[arg(long, env = "DATABASE_STATEMENT_TIMEOUT", default_value = "5s", value_parser = parse_duration)]
    pub database_statement_timeout: Duration,

    /// Deepest selection nesting outside introspection (1 to 48).
    #[arg(long, env = "GRAPHQL_MAX_DEPTH", default_value_t = 10, value_parser = parse_depth)]
    pub graphql_max_depth: usize,

    /// Deepest nesting inside `__schema`/`__type`, counted from the root (1 to 48): the
    /// standard introspection queries of GraphiQL and the code generators need 13.
    #[arg(long, env = "GRAPHQL_MAX_INTROSPECTION_DEPTH", default_value_t = 20, value_parser = parse_depth)]
    pub graphql_max_introspection_depth: usize,

    /// Most fields in one document once its fragments are inlined, `__typename` included.
    #[arg(long, env = "GRAPHQL_MAX_FIELDS", default_value_t = 2000)]
    pub graphql_max_fields: usize,

    /// Largest GraphQL answer in bytes; a larger one is replaced by an error with
    /// `reason: RESPONSE_TOO_LARGE`.
    #[arg(long, env = "MAX_RESPONSE_BYTES", default_value_t = 4 * 1024 * 1024)]
    pub max_response_bytes: usize,

    /// Largest query cost; a connection costs 500 plus its page size times its selections.
    #[arg(long, env = "GRAPHQL_MAX_COMPLEXITY", default_value_t = 5000)]
    pub graphql_max_complexity: usize,

    /// Most aliases in one document.
    #[arg(long, env = "GRAPHQL_MAX_ALIASES", default_value_t = 15)]
    pub graphql_max_aliases: usize,

    /// Most field selections in one document, `__typename` included.
    #[arg(long, env = "GRAPHQL_MAX_SELECTIONS", default_value_t = 250)]
    pub graphql_max_selections: usize,

    /// Most directives in one document.
    #[arg(long, env = "GRAPHQL_MAX_DIRECTIVES", default_value_t = 10)]
    pub graphql_max_directives: usize,

    /// Largest GraphQL document, in bytes.
    #[arg(long, env = "GRAPHQL_MAX_DOCUMENT_BYTES", default_value_t = 16 * 1024)]
    pub graphql_max_document_bytes: usize,

    /// Most lexical tokens in one GraphQL document.
    #[arg(long, env = "GRAPHQL_MAX_TOKENS", default_value_t = 2000)]
    pub graphql_max_tokens: usize,

    /// Most distinct documents kept parsed and checked (the document cache, which also
    /// holds the persisted queries).
    #[arg(long, env = "DOCUMENT_CACHE_ENTRIES", default_value_t = 1000,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub document_cache_entries: u32,

    /// Most bytes of document text the document cache keeps.
    #[arg(long, env = "DOCUMENT_CACHE_BYTES", default_value_t = 4 * 1024 * 1024,
          value_parser = clap::value_parser!(u32).range(1024..))]
    pub document_cache_bytes: u32,

    /// Operations allowed in one batched request (a JSON array); 0 turns batching off.
    #[arg(long, env = "GRAPHQL_BATCH_MAX", default_value_t = 0,
          value_parser = clap::value_parser!(u8).range(0..=10))]
    pub graphql_batch_max: u8,

    /// Password hashes computed at once [default: half the CPU cores, at least 1].
    #[arg(long, env = "HASHING_CONCURRENCY")]
    pub hashing_concurrency: Option<usize>,

    /// How long a signup or login waits for a hashing slot before `RATE_LIMITED`.
    #[arg(long, env = "HASHING_QUEUE_TIMEOUT", default_value = "2s", value_parser = parse_duration)]
    pub hashing_queue_timeout: Duration,

    /// Longest from the first byte of a request to the end of its head (line and headers).
    #[arg(long, env = "HEADER_READ_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub header_read_timeout: Duration,

    /// Longest a connection may sit idle (no request running, nothing received) before it
    /// is closed; a new connection included.
    #[arg(long, env = "KEEP_ALIVE_TIMEOUT", default_value = "60s", value_parser = parse_duration)]
    pub keep_alive_timeout: Duration,

    /// Longest the whole body of a request may take to arrive.
    #[arg(long, env = "BODY_READ_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub body_read_timeout: Duration,

    /// Open connections at most; further clients wait in the listen backlog.
    #[arg(long, env = "MAX_CONNECTIONS", default_value_t = 1024,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,

    /// Most todos one account may hold; a create past it is `QUOTA_EXCEEDED`.
    #[arg(long, env = "MAX_TODOS_PER_USER", default_value_t = 10_000,
          value_parser = clap::value_parser!(u32).range(1..=2_000_000_000))]
    pub max_todos_per_user: u32,

    /// Todo writes per account (`N/duration`), or `off`: each todo mutation field counts
    /// one, aliased or batched.
    #[arg(long, env = "WRITE_RATE_LIMIT", default_value = "1000/1m", value_parser = parse_rate)]
    pub write_rate_limit: RateLimit,

    /// How long the tombstones of deleted todos are kept for `changes` (humantime: `30d`,
    /// down to seconds); a sync cursor older than that gets a full resync.
    #[arg(long, env = "SYNC_TOMBSTONE_TTL", default_value = "30d", value_parser = parse_duration)]
    pub sync_tombstone_ttl: Duration,

    /// Also speak the legacy `graphql-ws` WebSocket subprotocol (subscriptions-transport-ws)
    /// besides `graphql-transport-ws`.
    #[arg(long, env = "WS_LEGACY_PROTOCOL", default_value_t = false, action = clap::ArgAction::Set,
          num_args = 0..=1, default_missing_value = "true")]
    pub ws_legacy_protocol: bool,

    /// How long a new WebSocket may take to send `connection_init` (then it is closed 4408).
    #[arg(long, env = "WS_INIT_TIMEOUT", default_value = "3s", value_parser = parse_duration)]
    pub ws_init_timeout: Duration,

    /// How often the server pings each WebSocket.
    #[arg(long, env = "WS_PING_INTERVAL", default_value = "25s", value_parser = parse_duration)]
    pub ws_ping_interval: Duration,

    /// How long a WebSocket may send nothing at all (a pong counts) before it is closed.
    #[arg(long, env = "WS_IDLE_TIMEOUT", default_value = "60s", value_parser = parse_duration)]
    pub ws_idle_timeout: Duration,

    /// Open WebSockets at most on this instance; a further upgrade is refused with 503.
    #[arg(long, env = "WS_MAX_CONNECTIONS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub ws_max_connections: u32,

    /// Largest WebSocket message (and frame) a client may send, in bytes.
    #[arg(long, env = "WS_MAX_MESSAGE_BYTES", default_value_t = 64 * 1024,
          value_parser = clap::value_parser!(u32).range(1024..=16_777_216))]
    pub ws_max_message_bytes: u32,

    /// Messages waiting to be written to one WebSocket at most; a subscription event that
    /// finds the queue full is dropped and replaced by a `RESYNC`.
    #[arg(long, env = "WS_QUEUE", default_value_t = 64,
          value_parser = clap::value_parser!(u32).range(1..=65_536))]
    pub ws_queue: u32,

    /// Subscriptions running at once on one WebSocket (and, separately, queries and
    /// mutations in flight on it).
    #[arg(long, env = "WS_MAX_SUBSCRIPTIONS", default_value_t = 16,
          value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub ws_max_subscriptions: u32,

    /// Open WebSockets of one session at most, on this instance.
    #[arg(long, env = "WS_MAX_SOCKETS_PER_SESSION", default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub ws_max_sockets_per_session: u32,

    /// Open WebSockets of one user at most, on this instance.
    #[arg(long, env = "WS_MAX_SOCKETS_PER_USER", default_value_t = 20,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub ws_max_sockets_per_user: u32,
}

/// Where rate limits count (`RATE_LIMIT_STORE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RateLimitStore {
    /// PostgreSQL when the database is PostgreSQL, else memory.
    Auto,
    /// Each process counts its own.
    Memory,
    /// Shared through the PostgreSQL database (in front of the in-memory counts).
    Postgres,
}

/// The access-token signing algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum JwtAlgorithm {
    /// HMAC-SHA256 with a shared secret.
    #[value(name = "HS256", alias = "hs256")]
    Hs256,
    /// Ed25519 signatures; other services verify with the published public keys.
    #[value(name = "EdDSA", alias = "eddsa")]
    EdDsa,
}

impl Settings {
    /// The database to use: `DATABASE_URL`, or the SQLite file `todo.db` in `DATA_DIR`.
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("todo.db").display()))
    }

    /// The retired HS256 secrets of `JWT_SECRET_PREVIOUS` that still verify, trimmed, the
    /// empty ones left out.
    pub(crate) fn previous_jwt_secrets(&self) -> Vec<Vec<u8>> {
        use secrecy::ExposeSecret as _;
        self.jwt_secret_previous
            .iter()
            .map(|s| s.expose_secret().trim().as_bytes().to_vec())
            .filter(|s| !s.is_empty())
            .collect()
    }

    /// Where the `LISTEN` connections go: `DATABASE_LISTEN_URL`, or the database itself.
    pub fn database_listen_url(&self) -> String {
        self.database_listen_url
            .clone()
            .unwrap_or_else(|| self.database_url())
    }
}

#[cfg(test)]
mod tests;
