//! Facts about the HTTP request that resolvers may need: who sent it, from where.

use std::net::IpAddr;

/// The caller's user agent and client IP, placed in each GraphQL request's data.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    /// The `User-Agent` header, if any.
    pub user_agent: Option<String>,
    /// The client's address: the socket peer, or `X-Forwarded-For` from a trusted proxy.
    pub ip: Option<IpAddr>,
}
