//! The `/graphql` endpoint over HTTP: POST (a JSON object, or a batch as an array), GET
//! for queries, and GraphiQL for browsers. Each request is authenticated, checked against
//! the document limits, executed within the time limit, shaped, measured and capped in
//! size, once for every path.

use std::{net::SocketAddr, time::Instant};

use async_graphql::{ServerError, Value, http::GraphiQLSource};
use axum::{
    body::Body,
    extract::{ConnectInfo, RawQuery, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Response},
};

use super::{
    HttpOptions, HttpState,
    format::{
        APPLICATION_JSON, Format, GRAPHQL_RESPONSE_JSON, encode_capped, encoded_response,
        json_response, refuse, refuse_and_close,
    },
    policy::{GRAPHIQL_CSP, PREFLIGHT_HEADERS},
};
use crate::{
    auth::{Tokens, Viewer},
    error::{AppError, AuthFailure, error_body, shape_response, shaped_code},
    graphql::Inspection,
    metrics::UNKNOWN_OPERATION,
    request_meta::RequestMeta,
};

fn request_id(headers: &HeaderMap) -> String {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_owned()
}

fn meta(options: &HttpOptions, peer: SocketAddr, headers: &HeaderMap) -> RequestMeta {
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
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    match token {
        Some(token) if !token.is_empty() => tokens.verify(token).map(Some),
        _ => Err(AuthFailure::TokenInvalid),
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
    State(state): State<HttpState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let format = Format::negotiate(&headers);
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
    let Some(batch) = parsed else {
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
    let call = |mut request: async_graphql::Request| Call {
        inspection: state.limits.inspect(&mut request),
        request,
        viewer: viewer.clone(),
        meta: meta.clone(),
    };
    match batch {
        async_graphql::BatchRequest::Single(request) => {
            execute(&state, call(request), &headers, format).await
        }
        async_graphql::BatchRequest::Batch(requests) => {
            // The answers share one response limit, each getting what the others left.
            let mut budget = state.options.max_response_bytes.saturating_sub(2);
            let mut body = b"[".to_vec();
            for request in requests {
                let (_, encoded) = run(&state, call(request), &headers, budget).await;
                budget = budget.saturating_sub(encoded.len() + 1);
                if body.len() > 1 {
                    body.push(b',');
                }
                body.extend_from_slice(&encoded);
            }
            body.push(b']');
            encoded_response(StatusCode::OK, format, body)
        }
    }
}

pub(super) async fn graphql_get(
    State(state): State<HttpState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let query = query.unwrap_or_default();
    let wants_html = state.options.graphiql
        && headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| accept.contains("text/html"));
    if wants_html && !query.split('&').any(|pair| pair.starts_with("query=")) {
        return graphiql();
    }
    let format = Format::negotiate(&headers);
    let mut request = match async_graphql::http::parse_query_string(&query) {
        Ok(request) if !request.query.trim().is_empty() => request,
        _ => {
            return refuse(
                StatusCode::BAD_REQUEST,
                format,
                "GET needs a `query` parameter (and optional `variables` JSON, `operationName`)",
            );
        }
    };
    let inspection = state.limits.inspect(&mut request);
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
    };
    execute(&state, call, &headers, format).await
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

/// One GraphQL request, inspected, with who sent it.
struct Call {
    request: async_graphql::Request,
    inspection: Inspection,
    viewer: Option<Viewer>,
    meta: RequestMeta,
}

/// Runs one GraphQL request within the time limit, records it in the metrics and the log
/// span, and gives whether it never ran (a request error) and the shaped response as JSON,
/// at most `max_bytes` of it (a larger answer is replaced by a `RESPONSE_TOO_LARGE` error).
async fn run(
    state: &HttpState,
    call: Call,
    headers: &HeaderMap,
    max_bytes: usize,
) -> (bool, Vec<u8>) {
    let started = Instant::now();
    let request_id = request_id(headers);
    let operation = call.inspection.operation.as_ref();
    let label = operation.map_or_else(
        || UNKNOWN_OPERATION.to_owned(),
        |op| state.metrics.operation_label(op.name.as_deref()),
    );
    let span = tracing::Span::current();
    span.record("operation", label.as_str());
    let mut response = if let Some(refusal) = call.inspection.refusal {
        async_graphql::Response::from_errors(vec![refusal])
    } else {
        let mut request = call.request.data(call.meta);
        if let Some(viewer) = call.viewer {
            span.record("viewer", viewer.user_id().as_str());
            request = request.data(viewer);
        }
        let limit = state.options.request_timeout;
        match tokio::time::timeout(limit, state.schema.execute(request)).await {
            Ok(response) => response,
            Err(_) => {
                tracing::warn!(request_id, ?limit, "request timed out");
                async_graphql::Response::from_errors(vec![
                    AppError::Timeout.to_server_error(&request_id),
                ])
            }
        }
    };
    shape_response(&mut response, &request_id);
    let mut outcome = response.errors.first().map_or("OK", shaped_code);
    let never_ran = response.data == Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty());
    let encoded = encode_capped(&response, max_bytes).unwrap_or_else(|| {
        tracing::warn!(request_id, max_bytes, "answer over the response limit");
        let refusal = AppError::QueryRefused {
            reason: "RESPONSE_TOO_LARGE",
            message: format!(
                "the answer is larger than {max_bytes} bytes; ask for fewer fields or smaller pages"
            ),
        };
        outcome = refusal.code();
        let answer =
            async_graphql::Response::from_errors(vec![refusal.to_server_error(&request_id)]);
        serde_json::to_vec(&answer).unwrap_or_else(|_| b"{}".to_vec())
    });
    let seconds = started.elapsed().as_secs_f64();
    state.metrics.observe_request(&label, outcome, seconds);
    if let Some(mutation) = operation.and_then(|op| op.auth) {
        state.metrics.observe_auth(mutation, outcome);
    }
    (never_ran, encoded)
}

async fn execute(state: &HttpState, call: Call, headers: &HeaderMap, format: Format) -> Response {
    let max_bytes = state.options.max_response_bytes;
    let (never_ran, encoded) = run(state, call, headers, max_bytes).await;
    // With the newer media type, a request that never ran is a 400; `application/json`
    // clients always get 200 and read `errors`.
    let status = if format == Format::GraphqlResponse && never_ran {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    encoded_response(status, format, encoded)
}
