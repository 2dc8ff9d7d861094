//! The HTTP surface: `/graphql` (POST, GET, GraphiQL), `/healthz` and `/readyz`.
//!
//! `/graphql` reads the bearer token before GraphQL runs: no header is an anonymous request;
//! a header with a bad token, or a token of a revoked session, refuses the whole request
//! with 401. The response's media type is the one the request's `Accept` prefers.
//! `/.well-known/jwks.json` publishes the public keys that verify access tokens.

use std::{net::SocketAddr, time::Duration};

use async_graphql::{
    ServerError, Value,
    http::GraphiQLSource,
    parser::{parse_query, types::OperationType},
};
use axum::{
    Extension, Router,
    body::Body,
    extract::{ConnectInfo, RawQuery, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Response},
    routing::get,
};
use tower_http::{
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::TraceLayer,
};

use crate::{
    auth::{Revocations, Tokens, Viewer},
    db::DbPool,
    error::{AppError, AuthFailure, error_body, shape_response},
    graphql::TodoSchema,
    request_meta::RequestMeta,
};

/// The largest request body accepted, in bytes.
pub const BODY_LIMIT: usize = 1024 * 1024;

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
const APPLICATION_JSON: &str = "application/json";

/// What the handlers share.
#[derive(Clone)]
pub struct HttpState {
    /// The GraphQL schema.
    pub schema: TodoSchema,
    /// The pool, for readiness.
    pub db: DbPool,
    /// Token verification.
    pub tokens: Tokens,
    /// The revoked sessions, checked in memory on every request with a token.
    pub revocations: Revocations,
}

/// The router with every route and the request-id and trace layers.
pub fn router(state: HttpState) -> Router {
    let trace = TraceLayer::new_for_http().make_span_with(|request: &axum::http::Request<Body>| {
        let request_id = request
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-");
        // The path only: a query string may carry GraphQL variables such as passwords.
        tracing::info_span!(
            "request",
            method = %request.method(),
            path = %request.uri().path(),
            request_id = %request_id,
        )
    });
    Router::new()
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/.well-known/jwks.json", get(jwks))
        .with_state(state)
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(trace)
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

async fn healthz() -> impl IntoResponse {
    axum::Json(serde_json::json!({ "status": "ok" }))
}

async fn readyz(State(state): State<HttpState>) -> Response {
    let ready = tokio::time::timeout(Duration::from_secs(2), state.db.ping())
        .await
        .unwrap_or(false);
    if ready {
        axum::Json(serde_json::json!({ "status": "ready" })).into_response()
    } else {
        let body = serde_json::json!({ "status": "unavailable" });
        (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response()
    }
}

/// The public keys that verify access tokens (none with HS256 alone).
async fn jwks(State(state): State<HttpState>) -> Response {
    let mut response = axum::Json(state.tokens.jwks()).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}

/// The media type of a GraphQL response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    GraphqlResponse,
}

impl Format {
    /// The supported type the `Accept` header ranks highest; `application/json` on ties,
    /// wildcards and absence, as older clients expect.
    fn negotiate(headers: &HeaderMap) -> Self {
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

fn request_id(headers: &HeaderMap) -> String {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_owned()
}

fn json_response(status: StatusCode, format: Format, body: &impl serde::Serialize) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    let mut response = (status, bytes).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, format.content_type());
    response
}

/// A refusal made before GraphQL runs, in GraphQL's error shape.
fn refuse(status: StatusCode, format: Format, message: &str) -> Response {
    let error = AppError::bad_input("request", message).to_server_error("-");
    json_response(status, format, &error_body(error))
}

/// The viewer named by the `Authorization` header: `None` without one, 401 for a bad one
/// or one of a revoked session.
fn authenticate(
    tokens: &Tokens,
    revocations: &Revocations,
    headers: &HeaderMap,
    format: Format,
) -> Result<Option<Viewer>, Response> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    let verified = match token {
        Some(token) if !token.is_empty() => tokens.verify(token),
        _ => Err(AuthFailure::TokenInvalid),
    };
    let verified = verified.and_then(|viewer| match revocations.is_revoked(viewer.session_id()) {
        true => Err(AuthFailure::SessionRevoked),
        false => Ok(viewer),
    });
    verified.map(Some).map_err(|failure| {
        let error: ServerError = AppError::Unauthenticated(failure).to_server_error("-");
        let mut response = json_response(StatusCode::UNAUTHORIZED, format, &error_body(error));
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer error=\"invalid_token\""),
        );
        response
    })
}

/// The `User-Agent` and client address of a request.
fn request_meta(
    headers: &HeaderMap,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
) -> RequestMeta {
    const USER_AGENT_MAX: usize = 512;
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().take(USER_AGENT_MAX).collect());
    RequestMeta {
        user_agent,
        ip: peer.map(|Extension(ConnectInfo(addr))| addr.ip()),
    }
}

async fn graphql_post(
    State(state): State<HttpState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let format = Format::negotiate(&headers);
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    if !matches!(
        content_type.as_deref(),
        Some(APPLICATION_JSON | GRAPHQL_RESPONSE_JSON)
    ) {
        return refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format,
            "POST bodies must be application/json",
        );
    }
    let too_large = || {
        refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            format,
            &format!("the request body is larger than {BODY_LIMIT} bytes"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > BODY_LIMIT) {
        return too_large();
    }
    let Ok(bytes) = axum::body::to_bytes(body, BODY_LIMIT).await else {
        return too_large();
    };
    let request: async_graphql::Request = match serde_json::from_slice(&bytes) {
        Ok(request) => request,
        Err(_) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                format,
                "the body must be one JSON object with a \"query\" string (batching is off)",
            );
        }
    };
    let viewer = match authenticate(&state.tokens, &state.revocations, &headers, format) {
        Ok(viewer) => viewer,
        Err(response) => return response,
    };
    let meta = request_meta(&headers, peer);
    execute(&state, request, viewer, meta, &headers, format).await
}

async fn graphql_get(
    State(state): State<HttpState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let query = query.unwrap_or_default();
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if wants_html && !query.split('&').any(|pair| pair.starts_with("query=")) {
        return graphiql();
    }
    let format = Format::negotiate(&headers);
    let request = match async_graphql::http::parse_query_string(&query) {
        Ok(request) => request,
        Err(_) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                format,
                "GET needs a `query` parameter (and optional `variables` JSON, `operationName`)",
            );
        }
    };
    if runs_mutation(&request) {
        let mut response = refuse(
            StatusCode::METHOD_NOT_ALLOWED,
            format,
            "mutations must be sent with POST",
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    let viewer = match authenticate(&state.tokens, &state.revocations, &headers, format) {
        Ok(viewer) => viewer,
        Err(response) => return response,
    };
    let meta = request_meta(&headers, peer);
    execute(&state, request, viewer, meta, &headers, format).await
}

/// Whether the operation a request would run is a mutation (or a subscription).
fn runs_mutation(request: &async_graphql::Request) -> bool {
    let Ok(document) = parse_query(&request.query) else {
        return false;
    };
    document.operations.iter().any(|(name, operation)| {
        let selected = match &request.operation_name {
            Some(wanted) => name.is_some_and(|n| n.as_str() == wanted),
            None => true,
        };
        selected && operation.node.ty != OperationType::Query
    })
}

fn graphiql() -> Response {
    let page = GraphiQLSource::build()
        .endpoint("/graphql")
        .title("todo-graphql")
        .finish();
    Html(page).into_response()
}

async fn execute(
    state: &HttpState,
    request: async_graphql::Request,
    viewer: Option<Viewer>,
    meta: RequestMeta,
    headers: &HeaderMap,
    format: Format,
) -> Response {
    let request_id = request_id(headers);
    let mut request = request.data(meta);
    if let Some(viewer) = viewer {
        request = request.data(viewer);
    }
    let mut response = state.schema.execute(request).await;
    shape_response(&mut response, &request_id);
    // With the newer media type, a request that never ran (parse or validation error) is
    // a 400; `application/json` clients always get 200 and read `errors`.
    let never_ran = response.data == Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty());
    let status = if format == Format::GraphqlResponse && never_ran {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    json_response(status, format, &response)
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

    #[test]
    fn mutations_are_recognised() {
        let q = async_graphql::Request::new("mutation { clearCompletedTodos }");
        assert!(runs_mutation(&q));
        let q = async_graphql::Request::new("{ me { id } }");
        assert!(!runs_mutation(&q));
        let q =
            async_graphql::Request::new("query A { me { id } } mutation B { clearCompletedTodos }")
                .operation_name("A");
        assert!(!runs_mutation(&q));
    }
}
