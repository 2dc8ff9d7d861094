//! The `/graphql` endpoint over HTTP: POST (a JSON object, or a batch as an array), GET
//! for queries, and GraphiQL for browsers. Each request is authenticated here, then checked,
//! executed, shaped, measured and capped by the [`Executor`](crate::execute::Executor) that
//! the WebSocket transport shares.

use std::{net::SocketAddr, sync::Arc};

use async_graphql::{ServerError, http::GraphiQLSource};
use axum::{
    body::Body,
    extract::{ConnectInfo, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Response},
};

use super::{
    HttpOptions, HttpState,
    format::{
        APPLICATION_JSON, Format, GRAPHQL_RESPONSE_JSON, encoded_response, json_response, refuse,
        refuse_and_close,
    },
    policy::{GRAPHIQL_CSP, PREFLIGHT_HEADERS},
    upgrade,
};
use crate::{
    auth::{Tokens, Viewer, bearer, refresh_cookie::CookieChannel},
    error::{AppError, AuthFailure, error_body},
    execute::Call,
    request_meta::RequestMeta,
};

pub(super) fn request_id(headers: &HeaderMap) -> String {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_owned()
}

pub(super) fn meta(options: &HttpOptions, peer: SocketAddr, headers: &HeaderMap) -> RequestMeta {
    RequestMeta {
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().take(512).collect()),
        ip: Some(options.client_ip(peer.ip(), headers)),
    }
}

/// The viewer named by the `Authorization` header: `None` without one, the failure for a
/// bad one.
fn authenticate(tokens: &Tokens, headers: &HeaderMap) -> Result<Option<Viewer>, AuthFailure> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    match value.to_str().ok().and_then(bearer) {
        Some(token) => tokens.verify(token).map(Some),
        None => Err(AuthFailure::TokenInvalid),
    }
}

/// The 403 for a request carrying the refresh cookie from an origin that is neither the
/// server's own nor listed, refused before GraphQL runs: a page elsewhere must not spend the
/// cookie (SameSite already stops other sites; this stops sibling origins of a site too).
fn foreign_cookie(
    options: &HttpOptions,
    headers: &HeaderMap,
    cookie: &CookieChannel,
    format: Format,
) -> Option<Response> {
    if cookie.presented().is_none() || options.cookie_origin_allowed(headers) {
        return None;
    }
    let message = "requests carrying the session cookie are not accepted from this origin (CORS_ALLOWED_ORIGINS)";
    Some(refuse(StatusCode::FORBIDDEN, format, message))
}

/// Adds the headers the resolvers set, every value kept: a batch may set the cookie more
/// than once, and the browser applies them in order.
fn add_headers(to: &mut HeaderMap, headers: &HeaderMap) {
    for (name, value) in headers {
        to.append(name.clone(), value.clone());
    }
}

/// The 401 for a bad token: the whole request is refused before GraphQL runs.
fn unauthorized(failure: AuthFailure, format: Format) -> Response {
    let error: ServerError = AppError::Unauthenticated(failure).to_server_error("-");
    let mut response = json_response(StatusCode::UNAUTHORIZED, format, &error_body(error));
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer error=\"invalid_token\""),
    );
    response
}

pub(super) async fn graphql_post(
    State(state): State<Arc<HttpState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let format = Format::negotiate(&headers);
    let cookie = CookieChannel::from_headers(&headers);
    if let Some(refused) = foreign_cookie(&state.options, &headers, &cookie, format) {
        return refused;
    }
    let limit = state.options.max_body_bytes;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    let json = matches!(
        content_type.as_deref(),
        Some(APPLICATION_JSON | GRAPHQL_RESPONSE_JSON)
    );
    // A browser sends text/plain, form and multipart bodies cross-site without asking
    // first; anything else, or a header it would have to ask about, is safe from CSRF.
    let preflighted = PREFLIGHT_HEADERS.iter().any(|h| headers.contains_key(*h));
    if !json && !preflighted {
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
            &format!("the request body is larger than {limit} bytes"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return too_large();
    }
    let read = axum::body::to_bytes(body, limit);
    let Ok(read) = tokio::time::timeout(state.options.body_read_timeout, read).await else {
        let message = "the request body did not arrive in time";
        return refuse_and_close(StatusCode::REQUEST_TIMEOUT, format, message);
    };
    let Ok(bytes) = read else {
        return too_large();
    };
    // One object is one request; an array is a batch. Decided by the first byte, since
    // serde would also read a struct from an array.
    let parsed = match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => serde_json::from_slice(&bytes)
            .map(async_graphql::BatchRequest::Single)
            .ok(),
        Some(b'[') => serde_json::from_slice(&bytes)
            .map(async_graphql::BatchRequest::Batch)
            .ok(),
        _ => None,
    };
    let Some(batch) = parsed.filter(|batch| batch.iter().all(names_a_document)) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            format,
            "the body must be a JSON object with a \"query\" string",
        );
    };
    if let async_graphql::BatchRequest::Batch(requests) = &batch {
        let max = state.options.batch_max;
        if max == 0 {
            return refuse(
                StatusCode::BAD_REQUEST,
                format,
                "batched requests are not enabled",
            );
        }
        if requests.len() > max || requests.is_empty() {
            return refuse(
                StatusCode::BAD_REQUEST,
                format,
                &format!("a batch holds 1 to {max} operations"),
            );
        }
    }
    let viewer = match authenticate(&state.tokens, &headers) {
        Ok(viewer) => viewer,
        Err(failure) => return unauthorized(failure, format),
    };
    let meta = meta(&state.options, peer, &headers);
    let request_id = request_id(&headers);
    let call = |mut request: async_graphql::Request| Call {
        inspection: state.executor.inspect(&mut request),
        request,
        viewer: viewer.clone(),
        meta: meta.clone(),
        request_id: request_id.clone(),
        cookie: Some(cookie.clone()),
    };
    match batch {
        async_graphql::BatchRequest::Single(request) => {
            execute(&state, call(request), format).await
        }
        async_graphql::BatchRequest::Batch(requests) => {
            // The answers share one response limit, each getting what the others left.
            let mut budget = state.executor.max_response_bytes().saturating_sub(2);
            let mut body = b"[".to_vec();
            let mut headers = HeaderMap::new();
            for request in requests {
                let answer = state.executor.run(call(request), budget).await;
                add_headers(&mut headers, &answer.headers);
                let encoded = answer.encoded;
                budget = budget.saturating_sub(encoded.len() + 1);
                if body.len() > 1 {
                    body.push(b',');
                }
                body.extend_from_slice(&encoded);
            }
            body.push(b']');
            let mut response = encoded_response(StatusCode::OK, format, body);
            add_headers(response.headers_mut(), &headers);
            response
        }
    }
}

/// `GET /graphql`: a WebSocket upgrade, GraphiQL, or a query in the query string.
pub(super) async fn graphql_get(
    State(state): State<Arc<HttpState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: axum::extract::Request,
) -> Response {
    let (parts, _) = request.into_parts();
    if upgrade::is_websocket(&parts.headers) {
        return upgrade::upgrade(state, peer, parts).await;
    }
    let query = parts.uri.query().unwrap_or_default().to_owned();
    query_get(state, peer, parts.headers, query).await
}

async fn query_get(
    state: Arc<HttpState>,
    peer: SocketAddr,
    headers: HeaderMap,
    query: String,
) -> Response {
    let wants_html = state.options.graphiql
        && headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| accept.contains("text/html"));
    if wants_html && !query.split('&').any(|pair| pair.starts_with("query=")) {
        return graphiql();
    }
    let format = Format::negotiate(&headers);
    let cookie = CookieChannel::from_headers(&headers);
    if let Some(refused) = foreign_cookie(&state.options, &headers, &cookie, format) {
        return refused;
    }
    let mut request = match async_graphql::http::parse_query_string(&query) {
        Ok(request)
            if !request.query.trim().is_empty()
                || (request.query.is_empty() && names_a_document(&request)) =>
        {
            request
        }
        _ => {
            return refuse(
                StatusCode::BAD_REQUEST,
                format,
                "GET needs a `query` parameter (and optional `variables` JSON, `operationName`)",
            );
        }
    };
    let inspection = state.executor.inspect(&mut request);
    if inspection.operation.as_ref().is_some_and(|op| op.writes) {
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
    let viewer = match authenticate(&state.tokens, &headers) {
        Ok(viewer) => viewer,
        Err(failure) => return unauthorized(failure, format),
    };
    let meta = meta(&state.options, peer, &headers);
    let call = Call {
        request,
        inspection,
        viewer,
        meta,
        request_id: request_id(&headers),
        cookie: Some(cookie),
    };
    execute(&state, call, format).await
}

fn graphiql() -> Response {
    let page = GraphiQLSource::build()
        .endpoint("/graphql")
        .title("todo-graphql")
        .finish();
    let mut response = Html(page).into_response();
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(GRAPHIQL_CSP),
    );
    response
}

async fn execute(state: &HttpState, call: Call, format: Format) -> Response {
    let max_bytes = state.executor.max_response_bytes();
    let answer = state.executor.run(call, max_bytes).await;
    // With the newer media type, a request that never ran is a 400; `application/json`
    // clients always get 200 and read `errors`.
    let status = if format == Format::GraphqlResponse && answer.is_bad_request() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let mut response = encoded_response(status, format, answer.encoded);
    add_headers(response.headers_mut(), &answer.headers);
    response
}

/// Whether a request carries a document, or names one by a persisted-query hash: without
/// either it is not a GraphQL request at all (HTTP 400, not a GraphQL error in a 200).
fn names_a_document(request: &async_graphql::Request) -> bool {
    !request.query.is_empty() || request.extensions.0.contains_key("persistedQuery")
}
