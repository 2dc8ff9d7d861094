//! The HTTP surface: `/graphql` (POST, GET, GraphiQL), `/healthz` and `/readyz`.
//!
//! `/graphql` reads the bearer token before GraphQL runs: no header is an anonymous request;
//! a header with a bad token refuses the whole request with 401. The response's media type
//! is the one the request's `Accept` prefers. `/.well-known/jwks.json` publishes the public
//! keys that verify access tokens.

use std::{
    net::{IpAddr, SocketAddr},
    time::Duration,
};

use async_graphql::{
    ServerError, Value,
    http::GraphiQLSource,
    parser::{parse_query, types::OperationType},
};
use axum::{
    Router,
    body::Body,
    extract::{ConnectInfo, RawQuery, State},
    http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header},
    response::{Html, IntoResponse, Response},
    routing::get,
};
use tower_http::{
    cors::{AllowOrigin, CorsLayer},
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    set_header::SetResponseHeaderLayer,
    trace::TraceLayer,
};

use crate::{
    auth::{Tokens, Viewer},
    db::DbPool,
    error::{AppError, AuthFailure, error_body, shape_response},
    graphql::TodoSchema,
    request_meta::RequestMeta,
};

/// Headers a browser cannot send cross-origin without a CORS preflight; their presence
/// makes a non-JSON POST safe to accept.
const PREFLIGHT_HEADERS: [&str; 3] = [
    "x-apollo-operation-name",
    "apollo-require-preflight",
    "graphql-require-preflight",
];

/// The API's content security policy: it serves no documents but GraphiQL.
const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";

/// GraphiQL's: its scripts and styles come from unpkg, and it talks only to this origin.
const GRAPHIQL_CSP: &str = "default-src 'none'; script-src 'unsafe-inline' https://unpkg.com; \
    style-src 'unsafe-inline' https://unpkg.com; font-src data: https://unpkg.com; \
    img-src data: https:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; \
    form-action 'none'";

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
    /// The HTTP guards.
    pub options: HttpOptions,
}

/// The HTTP layer's settings.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
    /// Longest a GraphQL request may run.
    pub request_timeout: Duration,
    /// Operations allowed in one batch; 0 turns batching off.
    pub batch_max: usize,
    /// Serve GraphiQL to browsers.
    pub graphiql: bool,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpAddr>,
    /// Origins allowed by CORS; `*` for any.
    pub cors_origins: Vec<String>,
    /// Whether CORS allows credentials.
    pub cors_credentials: bool,
}

/// The router with every route and the request-id, trace, CORS and security-header layers.
pub fn router(state: HttpState) -> anyhow::Result<Router> {
    let cors = cors_layer(&state.options)?;
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
    let header = |name: HeaderName, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
    };
    Ok(Router::new()
        .route("/.well-known/jwks.json", get(jwks))
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(state)
        .layer(header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(header(header::X_FRAME_OPTIONS, "DENY"))
        .layer(header(header::CONTENT_SECURITY_POLICY, API_CSP))
        .layer(header(header::REFERRER_POLICY, "no-referrer"))
        .layer(cors)
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(trace)
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid)))
}

/// CORS from the allowlist: none by default; `*` any origin, never with credentials.
fn cors_layer(options: &HttpOptions) -> anyhow::Result<CorsLayer> {
    let origins: Vec<&str> = options
        .cors_origins
        .iter()
        .map(|o| o.trim())
        .filter(|o| !o.is_empty())
        .collect();
    let any = origins.contains(&"*");
    if any && options.cors_allow_credentials() {
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
        .allow_credentials(options.cors_allow_credentials())
        .max_age(Duration::from_secs(600)))
}

impl HttpOptions {
    fn cors_allow_credentials(&self) -> bool {
        self.cors_credentials
    }

    /// The client's address: the peer, or, when the peer is a trusted proxy, the right-most
    /// address in `X-Forwarded-For` that is not one.
    fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
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
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, format.content_type());
    // Answers are per viewer and may carry tokens: no cache may keep them.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A refusal made before GraphQL runs, in GraphQL's error shape.
fn refuse(status: StatusCode, format: Format, message: &str) -> Response {
    let error = AppError::bad_input("request", message).to_server_error("-");
    json_response(status, format, &error_body(error))
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

async fn graphql_post(
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
    let Ok(bytes) = axum::body::to_bytes(body, limit).await else {
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
    match batch {
        async_graphql::BatchRequest::Single(request) => {
            execute(&state, request, viewer, meta, &headers, format).await
        }
        async_graphql::BatchRequest::Batch(requests) => {
            let mut responses = Vec::with_capacity(requests.len());
            for request in requests {
                let (_, response) =
                    run(&state, request, viewer.clone(), meta.clone(), &headers).await;
                responses.push(response);
            }
            json_response(StatusCode::OK, format, &responses)
        }
    }
}

async fn graphql_get(
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
    let viewer = match authenticate(&state.tokens, &headers) {
        Ok(viewer) => viewer,
        Err(failure) => return unauthorized(failure, format),
    };
    let meta = meta(&state.options, peer, &headers);
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
    let mut response = Html(page).into_response();
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(GRAPHIQL_CSP),
    );
    response
}

/// Runs one GraphQL request within the time limit; says whether it never ran (a parse or
/// validation error) and gives the shaped response.
async fn run(
    state: &HttpState,
    request: async_graphql::Request,
    viewer: Option<Viewer>,
    meta: RequestMeta,
    headers: &HeaderMap,
) -> (bool, async_graphql::Response) {
    let request_id = request_id(headers);
    let mut request = request.data(meta);
    if let Some(viewer) = viewer {
        request = request.data(viewer);
    }
    let limit = state.options.request_timeout;
    let mut response = match tokio::time::timeout(limit, state.schema.execute(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(request_id, ?limit, "request timed out");
            async_graphql::Response::from_errors(vec![
                AppError::Timeout.to_server_error(&request_id),
            ])
        }
    };
    shape_response(&mut response, &request_id);
    let never_ran = response.data == Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty());
    (never_ran, response)
}

async fn execute(
    state: &HttpState,
    request: async_graphql::Request,
    viewer: Option<Viewer>,
    meta: RequestMeta,
    headers: &HeaderMap,
    format: Format,
) -> Response {
    let (never_ran, response) = run(state, request, viewer, meta, headers).await;
    // With the newer media type, a request that never ran is a 400; `application/json`
    // clients always get 200 and read `errors`.
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
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxy: IpAddr = [10, 0, 0, 1].into();
        let options = HttpOptions {
            max_body_bytes: 1,
            request_timeout: Duration::from_secs(1),
            batch_max: 0,
            graphiql: false,
            trusted_proxies: vec![proxy],
            cors_origins: vec![],
            cors_credentials: false,
        };
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
