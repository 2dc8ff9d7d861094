//! Every setting of the server: its flag, its environment variable and its default, in one
//! place. `.env` is read by `main` before parsing, so a file and the environment agree.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::{Parser, Subcommand, ValueEnum};

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

    /// `sqlite://PATH` or `postgres://...` (TLS through `sslmode=require|verify-full`).
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://data/todo.db")]
    pub database_url: String,

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
    #[arg(long, env = "JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,

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
        hide_env_values = true
    )]
    pub jwt_secret_previous: Vec<String>,

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
    /// Whether `database_url` names a PostgreSQL server.
    pub fn is_postgres(&self) -> bool {
        self.database_url.starts_with("postgres://")
            || self.database_url.starts_with("postgresql://")
    }
}

fn parse_duration(value: &str) -> Result<Duration, String> {
    humantime::parse_duration(value).map_err(|e| e.to_string())
}
