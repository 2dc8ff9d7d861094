//! What a GraphQL response looks like on the wire: its media type, chosen by `Accept`, and
//! the JSON bodies of refusals made before GraphQL runs.

use axum::{
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

use crate::error::{AppError, error_body};

pub(super) const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
pub(super) const APPLICATION_JSON: &str = "application/json";

/// The media type of a GraphQL response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Format {
    Json,
    GraphqlResponse,
}

impl Format {
    /// The supported type the `Accept` header ranks highest; `application/json` on ties,
    /// wildcards and absence, as older clients expect.
    pub(super) fn negotiate(headers: &HeaderMap) -> Self {
        let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
            return Self::Json;
        };
        let mut best = (0.0_f32, Self::Json);
        for range in accept.split(',') {
            let mut parts = range.split(';').map(str::trim);
            let media = parts.next().unwrap_or_default().to_ascii_lowercase();
            let q = parts
                .find_map(|p| p.strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            let format = match media.as_str() {
                GRAPHQL_RESPONSE_JSON => Self::GraphqlResponse,
                APPLICATION_JSON | "application/*" | "*/*" => Self::Json,
                _ => continue,
            };
            if q > best.0 {
                best = (q, format);
            }
        }
        best.1
    }

    fn content_type(self) -> HeaderValue {
        match self {
            Self::Json => HeaderValue::from_static("application/json; charset=utf-8"),
            Self::GraphqlResponse => {
                HeaderValue::from_static("application/graphql-response+json; charset=utf-8")
            }
        }
    }
}

/// A JSON response of `format`, never cached.
pub(super) fn json_response(
    status: StatusCode,
    format: Format,
    body: &impl serde::Serialize,
) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    encoded_response(status, format, bytes)
}

/// An already encoded JSON body of `format`, never cached.
pub(super) fn encoded_response(status: StatusCode, format: Format, bytes: Vec<u8>) -> Response {
    let mut response = (status, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, format.content_type());
    // Answers are per viewer and may carry tokens: no cache may keep them.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A refusal made before GraphQL runs, in GraphQL's error shape.
pub(super) fn refuse(status: StatusCode, format: Format, message: &str) -> Response {
    let error = AppError::bad_input("request", message).to_server_error("-");
    json_response(status, format, &error_body(error))
}

/// A refusal after which the connection closes: the rest of the request may still be on
/// its way, and no further request could be told from it.
pub(super) fn refuse_and_close(status: StatusCode, format: Format, message: &str) -> Response {
    let mut response = refuse(status, format, message);
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_str(value).unwrap_or(HeaderValue::from_static("")),
        );
        headers
    }

    #[test]
    fn accept_picks_the_preferred_supported_type() {
        assert_eq!(Format::negotiate(&HeaderMap::new()), Format::Json);
        assert_eq!(Format::negotiate(&accept("application/json")), Format::Json);
        assert_eq!(
            Format::negotiate(&accept(
                "application/graphql-response+json, application/json;q=0.9"
            )),
            Format::GraphqlResponse
        );
        assert_eq!(
            Format::negotiate(&accept(
                "application/graphql-response+json;q=0.5, application/json"
            )),
            Format::Json
        );
        assert_eq!(Format::negotiate(&accept("*/*")), Format::Json);
    }
}
