//! The API integration tests: one binary, each test on a fresh database, run on SQLite
//! and (with `TEST_DATABASE_URL`) on PostgreSQL. `REQUIRE_POSTGRES=1` makes a missing or
//! unreachable PostgreSQL a failure instead of a skip.

#[macro_use]
mod helpers;
#[macro_use]
mod process;

mod account;
mod attacks;
mod auth;
mod browser_sessions;
mod conformance;
mod connections;
mod document_cache;
mod http;
mod idempotency;
mod input;
mod isolation;
mod js_client;
mod keys;
mod operating;
mod paging;
mod paging_filters;
mod persisted_queries;
mod pooler;
mod quotas;
mod request_ids;
mod security;
mod selection;
mod sessions;
mod shared_limits;
mod shutdown;
mod sqlite_writer;
mod sync;
mod todos;
mod todos_bulk;
mod tokens;
mod ws;
