//! Who is on the other end of a request, as far as the transport tells: the `User-Agent`
//! and the client's address. The HTTP layer puts a [`RequestMeta`] into every GraphQL
//! request's data; sessions record it, rate limits key on the address.

use std::net::IpAddr;

/// The request's user agent and client address, when known.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestMeta {
    /// The `User-Agent` header, if sent (cut to a sane length).
    pub user_agent: Option<String>,
    /// The client's address.
    pub ip: Option<IpAddr>,
}
