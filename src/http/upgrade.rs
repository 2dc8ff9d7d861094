//! The WebSocket upgrade of `GET /graphql`, its HTTP part: the `Origin` check (403), the
//! instance's socket cap (503, before upgrading), the subprotocol, and the
//! `Authorization` header's token. The socket itself is `ws`'s.

use std::{net::SocketAddr, sync::Arc};

use axum::{
    extract::{FromRequestParts as _, ws::WebSocketUpgrade},
    http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts},
    response::{IntoResponse as _, Response},
};
use tracing::Instrument as _;

use super::{
    HttpState,
    endpoint::{meta, request_id},
    format::{Format, refuse},
};
use crate::{
    auth::bearer,
    error::AuthFailure,
    ws::{Protocol, Verified},
};

/// The WebSocket read and write buffers, per socket.
const SOCKET_BUFFER_BYTES: usize = 8 * 1024;

/// Whether a request asks to become a WebSocket.
pub(super) fn is_websocket(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// Upgrades `GET /graphql` to a GraphQL WebSocket, or refuses it.
pub(super) async fn upgrade(state: Arc<HttpState>, peer: SocketAddr, mut parts: Parts) -> Response {
    let format = Format::Json;
    if !state.options.origin_allowed(&parts.headers) {
        let message = "WebSockets from this origin are not allowed (CORS_ALLOWED_ORIGINS)";
        return refuse(StatusCode::FORBIDDEN, format, message);
    }
    let Some(slot) = state.ws.reserve() else {
        let message = "this instance has as many WebSockets open as it may; try another, or later";
        let mut response = refuse(StatusCode::SERVICE_UNAVAILABLE, format, message);
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        return response;
    };
    let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
        Ok(upgrade) => upgrade.protocols(state.ws.protocols()),
        Err(rejection) => return rejection.into_response(),
    };
    let protocol = upgrade
        .selected_protocol()
        .and_then(|p| p.to_str().ok())
        .and_then(Protocol::from_name);
    let header: Option<Result<Verified, AuthFailure>> = parts
        .headers
        .get(header::AUTHORIZATION)
        .map(|value| match value.to_str().ok().and_then(bearer) {
            Some(token) => state.ws.verify(token),
            None => Err(AuthFailure::TokenInvalid),
        });
    let meta = meta(&state.options, peer, &parts.headers);
    let span = tracing::info_span!(
        "socket",
        request_id = %request_id(&parts.headers),
        viewer = tracing::field::Empty,
    );
    let max = state.ws.max_message_bytes();
    let hub = state.ws.clone();
    // The library's 128 KiB read buffer per socket was most of an idle socket's memory;
    // frames larger than the buffer are simply read in several parts.
    upgrade
        .read_buffer_size(SOCKET_BUFFER_BYTES)
        .write_buffer_size(SOCKET_BUFFER_BYTES)
        .max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| {
            hub.serve(socket, protocol, header, meta, slot)
                .instrument(span)
        })
}
