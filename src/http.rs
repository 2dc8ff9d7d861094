//! The HTTP surface: `/graphql` (POST, GET, GraphiQL, the WebSocket upgrade), `/healthz`
//! and `/readyz`.
//!
//! `/graphql` reads the bearer token before GraphQL runs: no header is an anonymous request;
//! a header with a bad token refuses the whole request with 401. The response's media type
//! is the one the request's `Accept` prefers. `/.well-known/jwks.json` publishes the public
//! keys that verify access tokens.
//!
//! async-graphql-axum's handler is not used: this layer reads the token, checks the limits
//! once on the parsed document and negotiates the media type itself, before the engine
//! runs; the WebSocket upgrade hands the socket to `ws`, which drives it itself.

use std::{net::IpAddr, sync::Arc, time::Duration};

use axum::{
    Router,
    body::Body,
    extract::State,
    http::{HeaderName, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use tower::ServiceBuilder;
use tower_http::{
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    set_header::SetResponseHeaderLayer,
    trace::TraceLayer,
};

mod endpoint;
mod format;
mod policy;
mod request_id;
pub(crate) mod serve;
mod upgrade;

use endpoint::{graphql_get, graphql_post};
use policy::{API_CSP, cors_layer};

use crate::{auth::Tokens, db::DbPool, execute::Executor};

/// What the handlers share.
#[derive(Clone)]
pub struct HttpState {
    /// Runs GraphQL operations: limits, execution, shaping, metrics.
    pub executor: Executor,
    /// The pool, for readiness.
    pub db: DbPool,
    /// Token verification.
    pub tokens: Tokens,
    /// The Prometheus registry.
    pub metrics: std::sync::Arc<crate::metrics::Metrics>,
    /// The HTTP guards.
    pub options: HttpOptions,
    /// The WebSockets' shared state.
    pub ws: crate::ws::Hub,
}

/// The HTTP layer's settings.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
    /// Operations allowed in one batch; 0 turns batching off.
    pub batch_max: usize,
    /// Serve GraphiQL to browsers.
    pub graphiql: bool,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpAddr>,
    /// Origins allowed by CORS; `*` for any.
    pub cors_origins: Vec<String>,
    /// Whether CORS allows credentials; unset, whenever the origins are listed (not `*`).
    pub cors_credentials: Option<bool>,
    /// Longest the whole request body may take to arrive.
    pub body_read_timeout: Duration,
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
            operation = tracing::field::Empty,
            viewer = tracing::field::Empty,
        )
    });
    let header = |name: HeaderName, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
    };
    let routes = Router::new()
        .route("/.well-known/jwks.json", get(jwks))
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(Arc::new(state));
    // One stack around the whole router, outermost first: `Router::layer` would box every
    // layer of every route anew, and each request clones them all (36 boxes a request).
    let stack = ServiceBuilder::new()
        .map_request(request_id::drop_invalid::<Body>)
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(trace)
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(cors)
        .layer(header(header::REFERRER_POLICY, "no-referrer"))
        .layer(header(header::CONTENT_SECURITY_POLICY, API_CSP))
        .layer(header(header::X_FRAME_OPTIONS, "DENY"))
        .layer(header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .service(routes);
    Ok(Router::new().fallback_service(stack))
}

async fn healthz() -> impl IntoResponse {
    axum::Json(serde_json::json!({ "status": "ok" }))
}

async fn metrics(State(state): State<Arc<HttpState>>) -> Response {
    let body = state.metrics.render(&state.db);
    let mut response = body.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

async fn readyz(State(state): State<Arc<HttpState>>) -> Response {
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
async fn jwks(State(state): State<Arc<HttpState>>) -> Response {
    let mut response = axum::Json(state.tokens.jwks()).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}
