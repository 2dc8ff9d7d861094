//! A GraphQL WebSocket client for the tests, over tokio-tungstenite: `api.ws()` opens a
//! `graphql-transport-ws` socket, `api.ws_with(protocols, headers)` any other; `ws.init()`,
//! `ws.subscribe()`, `ws.next()` speak the protocol; `ws.expect_close(code)` waits for the
//! server's close frame.

use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream,
    tungstenite::{self, Message, client::IntoClientRequest as _, http::HeaderValue},
};

use super::Api;

/// How long any awaited message may take.
pub const WAIT: Duration = Duration::from_secs(5);

/// An open test socket.
pub struct Ws {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// The subprotocol the server chose.
    pub protocol: Option<String>,
}

/// How the server ended a socket: its close code and reason.
#[derive(Debug, PartialEq, Eq)]
pub struct Closed {
    pub code: u16,
    pub reason: String,
}

impl Api {
    /// `ws://127.0.0.1:port/graphql`.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/graphql", self.addr)
    }

    /// A `graphql-transport-ws` socket, with no headers.
    pub async fn ws(&self) -> Ws {
        self.ws_with(&["graphql-transport-ws"], &[])
            .await
            .expect("the upgrade succeeds")
    }

    /// A socket offering `protocols` (none: no `Sec-WebSocket-Protocol`), with `headers`;
    /// `Err` when the handshake fails (a refused upgrade is `Error::Http`).
    pub async fn ws_with(
        &self,
        protocols: &[&str],
        headers: &[(&str, &str)],
    ) -> Result<Ws, tungstenite::Error> {
        let mut request = self.ws_url().into_client_request()?;
        let map = request.headers_mut();
        if !protocols.is_empty() {
            let value = HeaderValue::from_str(&protocols.join(", ")).expect("a header value");
            map.insert("sec-websocket-protocol", value);
        }
        for (name, value) in headers {
            let name =
                tungstenite::http::HeaderName::from_bytes(name.as_bytes()).expect("a header name");
            map.insert(name, HeaderValue::from_str(value).expect("a header value"));
        }
        let (stream, response) = tokio_tungstenite::connect_async(request).await?;
        let protocol = response
            .headers()
            .get("sec-websocket-protocol")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Ok(Ws { stream, protocol })
    }

    /// A socket acknowledged with `token` in its `connection_init` payload (anonymous
    /// without one).
    pub async fn ws_ready(&self, token: Option<&str>) -> Ws {
        let mut ws = self.ws().await;
        ws.init_ok(token).await;
        ws
    }

    /// The HTTP status a refused upgrade got.
    pub async fn ws_refused(&self, protocols: &[&str], headers: &[(&str, &str)]) -> u16 {
        match self.ws_with(protocols, headers).await {
            Err(tungstenite::Error::Http(response)) => response.status().as_u16(),
            Err(other) => panic!("a refused upgrade, got {other:?}"),
            Ok(_) => panic!("a refused upgrade, but it succeeded"),
        }
    }
}

impl Ws {
    /// Sends a text frame.
    pub async fn send_text(&mut self, text: &str) {
        self.stream
            .send(Message::text(text))
            .await
            .expect("the frame is sent");
    }

    /// Sends a frame as it is.
    pub async fn send_frame(&mut self, message: Message) {
        self.stream.send(message).await.expect("the frame is sent");
    }

    /// Sends a JSON message.
    pub async fn send(&mut self, message: Value) {
        self.send_text(&message.to_string()).await;
    }

    /// `connection_init` with `payload`.
    pub async fn init(&mut self, payload: Value) {
        self.send(json!({ "type": "connection_init", "payload": payload }))
            .await;
    }

    /// `connection_init` with the token as `accessToken` (or no payload), then the ack.
    pub async fn init_ok(&mut self, token: Option<&str>) {
        let payload = token.map_or(Value::Null, |t| json!({ "accessToken": t }));
        self.init(payload).await;
        let ack = self.next().await;
        assert_eq!(ack["type"], "connection_ack", "{ack}");
    }

    /// `subscribe` (`start` in the legacy protocol is sent with [`Ws::send`]).
    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        let payload = json!({ "query": query, "variables": variables });
        self.send(json!({ "type": "subscribe", "id": id, "payload": payload }))
            .await;
    }

    /// The next protocol message (WebSocket ping and pong frames skipped); panics on a
    /// close or after [`WAIT`].
    pub async fn next(&mut self) -> Value {
        match self.next_or_close(WAIT).await {
            Ok(message) => message,
            Err(closed) => panic!("a message, but the socket closed: {closed:?}"),
        }
    }

    /// The next protocol message other than the server's keep-alive `ping`.
    pub async fn next_skipping_pings(&mut self) -> Value {
        loop {
            let message = self.next().await;
            if message["type"] != "ping" {
                return message;
            }
        }
    }

    /// The next protocol message, or how the socket closed, within `limit`.
    pub async fn next_or_close(&mut self, limit: Duration) -> Result<Value, Closed> {
        loop {
            let frame = tokio::time::timeout(limit, self.stream.next())
                .await
                .unwrap_or_else(|_| panic!("nothing from the socket within {limit:?}"));
            match frame {
                Some(Ok(Message::Text(text))) => {
                    return Ok(serde_json::from_str(text.as_str()).expect("a JSON message"));
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                Some(Ok(Message::Close(frame))) => {
                    let (code, reason) = frame.map_or((1005, String::new()), |f| {
                        (u16::from(f.code), f.reason.as_str().to_owned())
                    });
                    return Err(Closed { code, reason });
                }
                Some(Ok(other)) => panic!("an unexpected frame: {other:?}"),
                Some(Err(error)) => panic!("the socket failed: {error}"),
                None => panic!("the socket ended without a close frame"),
            }
        }
    }

    /// Waits (at most [`WAIT`]) for the server to close the socket with `code`, skipping
    /// any message before it; returns the reason.
    pub async fn expect_close(&mut self, code: u16) -> String {
        self.expect_close_within(code, WAIT).await
    }

    /// [`Ws::expect_close`] within `limit`.
    pub async fn expect_close_within(&mut self, code: u16, limit: Duration) -> String {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_or_close(left).await {
                Ok(_) => continue,
                Err(closed) => {
                    assert_eq!(closed.code, code, "closed: {closed:?}");
                    return closed.reason;
                }
            }
        }
    }

    /// Runs one operation (a query or mutation) as `id` and returns its `next` payload,
    /// after checking that `complete` follows.
    pub async fn request(&mut self, id: &str, query: &str, variables: Value) -> Value {
        self.subscribe(id, query, variables).await;
        let next = self.next_skipping_pings().await;
        assert_eq!(next["type"], "next", "{next}");
        assert_eq!(next["id"], id, "{next}");
        let complete = self.next_skipping_pings().await;
        assert_eq!(complete, json!({ "type": "complete", "id": id }));
        next["payload"].clone()
    }

    /// Runs one operation as `id` that must be refused: returns its `error` payload.
    pub async fn refused(&mut self, id: &str, query: &str, variables: Value) -> Value {
        self.subscribe(id, query, variables).await;
        let error = self.next_skipping_pings().await;
        assert_eq!(error["type"], "error", "{error}");
        assert_eq!(error["id"], id, "{error}");
        error["payload"].clone()
    }

    /// A `ping`, answered by `pong`: the socket is open and served.
    pub async fn assert_open(&mut self) {
        self.send(json!({ "type": "ping" })).await;
        let pong = self.next_skipping_pings().await;
        assert_eq!(pong["type"], "pong", "{pong}");
    }
}
