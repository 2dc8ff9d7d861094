//! GraphQL over WebSocket (`graphql-transport-ws`, and the legacy `graphql-ws` behind its
//! setting) against the real server, with a real WebSocket client: operations and their
//! error shaping, every close code, credentials and their revocation and expiry (on one
//! instance and across two), the limits, the origin check and shutdown.

mod auth;
mod events;
mod limits;
mod operations;
mod protocol;
