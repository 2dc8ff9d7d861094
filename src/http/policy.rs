//! What browsers and proxies are trusted with: CORS from an allowlist, security headers, the CSRF rule's headers, and
//! the client address behind trusted proxies.

use std::{net::IpAddr, time::Duration};

use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use tower_http::cors::{AllowOrigin, CorsLayer};

use super::HttpOptions;

/// Headers a browser cannot send cross-origin without a CORS preflight; their presence
/// makes a non-JSON POST safe to accept.
pub(super) const PREFLIGHT_HEADERS: [&str; 3] = [
    "x-apollo-operation-name",
    "apollo-require-preflight",
    "graphql-require-preflight",
];

/// The API's content security policy: it serves no documents but GraphiQL.
pub(super) const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";

/// GraphiQL's: its scripts and styles come from unpkg, and it talks only to this origin.
pub(super) const GRAPHIQL_CSP: &str = "default-src 'none'; script-src 'unsafe-inline' https://unpkg.com; \
    style-src 'unsafe-inline' https://unpkg.com; font-src data: https://unpkg.com; \
    img-src data: https:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; \
    form-action 'none'";

/// CORS from the allowlist: none by default; `*` any origin, never with credentials. Listed
/// origins get credentials unless they are turned off, so a frontend elsewhere can send the
/// refresh cookie with `credentials: 'include'`.
pub(super) fn cors_layer(options: &HttpOptions) -> anyhow::Result<CorsLayer> {
    let origins: Vec<&str> = options
        .cors_origins
        .iter()
        .map(|o| o.trim())
        .filter(|o| !o.is_empty())
        .collect();
    let any = origins.contains(&"*");
    if any && options.cors_credentials == Some(true) {
        anyhow::bail!("CORS_ALLOWED_ORIGINS=* cannot be combined with CORS_ALLOW_CREDENTIALS");
    }
    let allow_origin = if any {
        AllowOrigin::any()
    } else {
        let values = origins
            .iter()
            .map(|o| {
                HeaderValue::from_str(o.trim_end_matches('/'))
                    .map_err(|_| anyhow::anyhow!("bad origin in CORS_ALLOWED_ORIGINS: {o:?}"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        AllowOrigin::list(values)
    };
    Ok(CorsLayer::new()
        .allow_origin(allow_origin)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            HeaderName::from_static("x-request-id"),
            HeaderName::from_static("x-apollo-operation-name"),
            HeaderName::from_static("apollo-require-preflight"),
        ])
        .expose_headers([HeaderName::from_static("x-request-id")])
        .allow_credentials(options.cors_credentials.unwrap_or(!any))
        .max_age(Duration::from_secs(600)))
}

impl HttpOptions {
    /// Whether a WebSocket upgrade may come from its `Origin`: none (not a browser), the
    /// server's own origin (the `Host` it was sent to), or one that CORS allows.
    pub(super) fn origin_allowed(&self, headers: &HeaderMap) -> bool {
        self.origin_matches(headers, true)
    }

    /// Whether a request carrying the refresh cookie may come from its `Origin`: as for
    /// a WebSocket, except that `*` is no allowlist here (it never allows credentials).
    pub(super) fn cookie_origin_allowed(&self, headers: &HeaderMap) -> bool {
        self.origin_matches(headers, false)
    }

    fn origin_matches(&self, headers: &HeaderMap, any_listed: bool) -> bool {
        let Some(origin) = headers.get(header::ORIGIN) else {
            return true;
        };
        let Ok(origin) = origin.to_str() else {
            return false;
        };
        let origin = origin.trim().trim_end_matches('/');
        let listed = self
            .cors_origins
            .iter()
            .map(|o| o.trim().trim_end_matches('/'))
            .any(|o| (any_listed && o == "*") || o.eq_ignore_ascii_case(origin));
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        let authority = origin.split_once("://").map(|(_, authority)| authority);
        let same = matches!((host, authority), (Some(h), Some(a)) if h.eq_ignore_ascii_case(a));
        listed || same
    }

    /// The client's address: the peer, or, when the peer is a trusted proxy, the right-most
    /// address in `X-Forwarded-For` that is not one.
    pub(super) fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.trusted_proxies.contains(&peer) {
            return peer;
        }
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|a| a.trim().parse::<IpAddr>().ok())
            .collect::<Vec<_>>();
        forwarded
            .into_iter()
            .rev()
            .find(|ip| !self.trusted_proxies.contains(ip))
            .unwrap_or(peer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(trusted_proxies: Vec<IpAddr>) -> HttpOptions {
        HttpOptions {
            max_body_bytes: 1,
            batch_max: 0,
            graphiql: false,
            trusted_proxies,
            cors_origins: vec![],
            cors_credentials: None,
            body_read_timeout: Duration::from_secs(1),
        }
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxy: IpAddr = [10, 0, 0, 1].into();
        let options = options(vec![proxy]);
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            HeaderValue::from_static("1.1.1.1, 2.2.2.2, 10.0.0.1"),
        );
        assert_eq!(
            options.client_ip(proxy, &headers),
            IpAddr::from([2, 2, 2, 2])
        );
        let stranger: IpAddr = [3, 3, 3, 3].into();
        assert_eq!(options.client_ip(stranger, &headers), stranger);
    }

    #[test]
    fn a_websocket_origin_must_be_the_servers_own_or_listed() {
        let mut options = options(vec![]);
        let headers = |origin: Option<&'static str>| {
            let mut headers = HeaderMap::new();
            headers.insert(header::HOST, HeaderValue::from_static("api.example:8000"));
            if let Some(origin) = origin {
                headers.insert(header::ORIGIN, HeaderValue::from_static(origin));
            }
            headers
        };
        assert!(options.origin_allowed(&headers(None)));
        assert!(options.origin_allowed(&headers(Some("http://api.example:8000"))));
        assert!(!options.origin_allowed(&headers(Some("https://evil.example"))));
        assert!(!options.origin_allowed(&headers(Some("null"))));
        options.cors_origins = vec!["https://app.example/".into()];
        assert!(options.origin_allowed(&headers(Some("https://app.example"))));
        assert!(!options.origin_allowed(&headers(Some("https://evil.example"))));
        assert!(options.cookie_origin_allowed(&headers(Some("https://app.example"))));
        assert!(!options.cookie_origin_allowed(&headers(Some("https://evil.example"))));
        options.cors_origins = vec!["*".into()];
        assert!(options.origin_allowed(&headers(Some("https://evil.example"))));
        assert!(!options.cookie_origin_allowed(&headers(Some("https://evil.example"))));
        assert!(options.cookie_origin_allowed(&headers(Some("http://api.example:8000"))));
        assert!(options.cookie_origin_allowed(&headers(None)));
    }
}
