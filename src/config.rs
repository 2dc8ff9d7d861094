//! Every setting of the server: its flag, its environment variable and its default, in one
//! place. `.env` is read by `main` before parsing, so a file and the environment agree.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::{Parser, Subcommand, ValueEnum};

/// The command line: an optional subcommand (default `serve`) and the settings.
#[derive(Debug, Parser)]
#[command(name = "todo-graphql", version, about = "A GraphQL API for multi-user todos")]
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

    /// `pretty` or `json`; levels by `RUST_LOG`.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value = "pretty")]
    pub log_format: LogFormat,
}

impl Settings {
    /// Whether `database_url` names a PostgreSQL server.
    pub fn is_postgres(&self) -> bool {
        self.database_url.starts_with("postgres://") || self.database_url.starts_with("postgresql://")
    }
}

fn parse_duration(value: &str) -> Result<Duration, String> {
    humantime::parse_duration(value).map_err(|e| e.to_string())
}
