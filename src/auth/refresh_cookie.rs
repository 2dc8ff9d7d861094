//! The refresh token's browser home: the `__Host-refresh_token` cookie, read from a request's
//! `Cookie` header and written as `Set-Cookie`. The cookie is only ever a refresh token:
//! nothing here, or anywhere, accepts it as an access token.
//!
//! Its value is a secret: it is held as a [`SecretString`] so no `Debug` or log line can
//! print it.

use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, header};
use cookie::{Cookie, SameSite};
use secrecy::{ExposeSecret as _, SecretString};

/// The cookie's name. The `__Host-` prefix makes browsers insist on `Secure`, `Path=/` and
/// no `Domain`, so no sibling subdomain can plant or read it.
pub(crate) const NAME: &str = "__Host-refresh_token";

/// What an HTTP request brings to the cookie: the refresh token it carried, if any. Placed
/// in the request's data by the HTTP transport only, so its absence means a transport
/// (WebSocket) that can neither send nor set the cookie.
#[derive(Clone, Default)]
pub(crate) struct CookieChannel {
    presented: Option<SecretString>,
}

impl CookieChannel {
    /// The channel of a request with these headers.
    pub(crate) fn from_headers(headers: &HeaderMap) -> Self {
        Self {
            presented: presented(headers).map(SecretString::from),
        }
    }

    /// The refresh token the request's cookie carried.
    pub(crate) fn presented(&self) -> Option<&str> {
        self.presented.as_ref().map(|s| s.expose_secret())
    }
}

/// The refresh token in the request's `Cookie` headers, if one is there and not empty.
pub(crate) fn presented(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|cookie| cookie.name() == NAME)
        .map(|cookie| cookie.value().to_owned())
        .filter(|value| !value.is_empty())
}

/// The `Set-Cookie` value that stores `token` for `max_age`.
pub(crate) fn set(token: &str, max_age: Duration) -> Option<HeaderValue> {
    let seconds = i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX);
    header_value(token, seconds)
}

/// The `Set-Cookie` value that makes the browser drop the cookie.
pub(crate) fn clear() -> Option<HeaderValue> {
    header_value("", 0)
}

fn header_value(value: &str, max_age_seconds: i64) -> Option<HeaderValue> {
    let cookie = Cookie::build((NAME, value))
        .http_only(true)
        .secure(true)
        .same_site(SameSite::Strict)
        .path("/")
        .max_age(cookie::time::Duration::seconds(max_age_seconds))
        .build();
    HeaderValue::from_str(&cookie.to_string()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attributes(value: &HeaderValue) -> Vec<String> {
        let text = value.to_str().unwrap_or_default();
        let mut parts: Vec<String> = text.split("; ").map(str::to_owned).collect();
        parts[1..].sort();
        parts
    }

    #[test]
    fn the_cookie_has_the_host_prefix_attributes() {
        let set = set("abc", Duration::from_secs(3600)).unwrap_or(HeaderValue::from_static(""));
        assert_eq!(
            attributes(&set),
            [
                "__Host-refresh_token=abc",
                "HttpOnly",
                "Max-Age=3600",
                "Path=/",
                "SameSite=Strict",
                "Secure"
            ]
        );
        let clear = clear().unwrap_or(HeaderValue::from_static(""));
        assert_eq!(attributes(&clear)[0], "__Host-refresh_token=");
        assert!(attributes(&clear).contains(&"Max-Age=0".to_owned()));
    }

    #[test]
    fn the_token_is_found_among_other_cookies() {
        let mut headers = HeaderMap::new();
        headers.append(header::COOKIE, HeaderValue::from_static("a=1; theme=dark"));
        assert_eq!(presented(&headers), None);
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("x=y; __Host-refresh_token=tok.en_1; z=2"),
        );
        assert_eq!(presented(&headers).as_deref(), Some("tok.en_1"));
        let mut empty = HeaderMap::new();
        empty.insert(
            header::COOKIE,
            HeaderValue::from_static("__Host-refresh_token="),
        );
        assert_eq!(presented(&empty), None);
    }
}
