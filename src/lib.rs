//! todo-graphql: a GraphQL API for multi-user todos.
//!
//! People sign up and log in with email and password, get a JWT, and manage their own
//! todos; nobody can read, change or detect another person's data. It runs on an embedded
//! SQLite file with no configuration, or on PostgreSQL.
//!
//! Modules, in the order a request passes through them:
//! - [`config`]: every setting, its flag, environment variable and default.
//! - [`app`]: builds the router and state from the settings; serves with graceful shutdown.
//! - [`http`]: the routes; reads the bearer token before GraphQL runs.
//! - [`execute`]: one operation's way through, for every transport: the document limits,
//!   execution, error shaping, the response cap and the metrics.
//! - `documents`: the document cache (each distinct document parsed and checked once) and
//!   Apollo's automatic persisted queries, which name a cached document by its hash.
//! - [`ws`]: GraphQL over WebSocket (`graphql-transport-ws`): the socket loop, its close
//!   codes, its one outbound queue and the overflow interface for subscriptions.
//! - [`graphql`]: the schema, one file per domain.
//! - `accounts`: the account workflows (signup, login, refresh, logout, password change,
//!   deletion), between the schema and the store.
//! - [`auth`]: who is asking, and the cryptography that proves it (tokens, keys, passwords).
//! - [`store`]: every query; owner scoping lives here.
//! - [`db`]: the pool over PostgreSQL or SQLite; the only module that knows there are two.
//! - [`error`]: the one error type and its mapping to the contract's codes.
//! - `feed`: tells followers of an account that its todos changed (live updates).
//! - [`metrics`]: the Prometheus registry behind `/metrics`.
//! - [`request_meta`]: the caller's user agent and IP, for resolvers.
//! - `tombstone_purge`: ends the tombstones of deleted todos after `SYNC_TOMBSTONE_TTL`.
//! - `write_limit`: todo writes per account, checked by the todo mutations.
//! - `shared_limits`: the auth and write limits shared by replicas through PostgreSQL.
//! - `memory`: gives the allocator's freed pages back to the OS after an argon2 hash, and
//!   keeps huge pages from pinning them.

mod accounts;
pub mod app;
pub(crate) mod auth;
pub mod config;
pub(crate) mod db;
mod documents;
pub(crate) mod error;
pub(crate) mod execute;
pub(crate) mod feed;
pub(crate) mod graphql;
pub(crate) mod http;
pub mod memory;
pub(crate) mod metrics;
pub(crate) mod request_meta;
mod shared_limits;
pub(crate) mod store;
mod tombstone_purge;
mod write_limit;
pub(crate) mod ws;

pub use graphql::sdl;
