//! Connection hygiene, seen from raw sockets: an idle connection, a trickled head and a
//! trickled body are each ended by their deadline, `MAX_CONNECTIONS` keeps further clients
//! waiting, and a slow but legal request is not cut. After each, a normal client is served.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::helpers::raw::response;
use crate::helpers::{Api, PASSWORD, TestApp};

const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n";
/// How late a deadline may fire, or an answer come, on a loaded machine.
const MARGIN: Duration = Duration::from_secs(4);
/// How early a deadline may seem to fire: the clock starts at `accept`, after `connect`.
const EARLY: Duration = Duration::from_millis(200);
const TRICKLE: Duration = Duration::from_millis(200);

async fn connect(app: &TestApp) -> TcpStream {
    let connect = TcpStream::connect(app.addr);
    tokio::time::timeout(MARGIN, connect)
        .await
        .expect("the TCP handshake completes")
        .expect("a TCP connection")
}

/// Reads until the server ends the connection (EOF or reset), failing after `limit`;
/// returns what was read and how long it took.
async fn until_closed(
    stream: &mut (impl AsyncRead + Unpin),
    limit: Duration,
) -> (String, Duration) {
    let started = Instant::now();
    let mut seen = Vec::new();
    let mut buf = [0_u8; 4096];
    loop {
        match tokio::time::timeout_at((started + limit).into(), stream.read(&mut buf)).await {
            Err(_) => panic!(
                "still open after {limit:?}, having read {:?}",
                String::from_utf8_lossy(&seen)
            ),
            Ok(Ok(0) | Err(_)) => {
                return (String::from_utf8_lossy(&seen).into(), started.elapsed());
            }
            Ok(Ok(n)) => seen.extend_from_slice(&buf[..n]),
        }
    }
}

/// A client that closes each connection after its answer. The pooled client may open a
/// second connection while the first is still on its way back to the pool, and then keeps
/// both: `http_connections_open` would count them.
fn unpooled(app: &TestApp) -> Api {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(MARGIN * 5)
        .build()
        .expect("a reqwest client");
    Api {
        client,
        addr: app.addr,
    }
}

/// `/healthz` through an ordinary client.
async fn served(app: &TestApp) {
    let healthz = unpooled(app).at("/healthz").get().await;
    assert_eq!(healthz.status, StatusCode::OK, "a normal client is served");
}

/// The value of a sample line of `/metrics`, such as `http_connections_open`.
async fn metric(app: &TestApp, sample: &str) -> Option<i64> {
    let text = unpooled(app).at("/metrics").get().await.text;
    text.lines()
        .find_map(|l| l.strip_prefix(sample)?.strip_prefix(' ')?.parse().ok())
}

/// Waits (at most `MARGIN`) for a metric sample to read `expected`.
async fn metric_becomes(app: &TestApp, sample: &str, expected: i64) {
    let started = Instant::now();
    loop {
        let value = metric(app, sample).await;
        if value == Some(expected) {
            return;
        }
        assert!(
            started.elapsed() < MARGIN,
            "{sample} is {value:?}, not {expected}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

backend_tests!(
    idle_connections_are_closed_after_the_keep_alive_timeout,
    ["--keep-alive-timeout", "1s"],
    |app| {
        let keep_alive = Duration::from_secs(1);

        let mut fresh = connect(app).await;
        let (seen, took) = until_closed(&mut fresh, keep_alive + MARGIN).await;
        assert_eq!(
            seen, "",
            "nothing is sent to a connection that asked nothing"
        );
        assert!(
            took + EARLY >= keep_alive,
            "closed after {took:?}, before the timeout"
        );

        // Late in its first idle period: the response must start a new one.
        let mut used = connect(app).await;
        tokio::time::sleep(keep_alive * 7 / 10).await;
        used.write_all(HEALTHZ).await.expect("the request is sent");
        let (head, _) = response(&mut used, MARGIN).await.expect("an answer");
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        let (seen, took) = until_closed(&mut used, keep_alive + MARGIN).await;
        assert_eq!(seen, "", "nothing more after the response");
        assert!(
            took + EARLY >= keep_alive,
            "closed after {took:?}, before the timeout"
        );

        served(app).await;
        metric_becomes(app, "http_connections_timed_out_total{phase=\"idle\"}", 2).await;
    }
);

backend_tests!(
    a_head_sent_one_byte_at_a_time_is_cut_at_the_header_read_timeout,
    ["--header-read-timeout", "1s", "--keep-alive-timeout", "10s"],
    |app| {
        let header_read = Duration::from_secs(1);
        let (mut read, mut write) = connect(app).await.into_split();
        let trickle = tokio::spawn(async move {
            let head = b"GET /healthz HTTP/1.1\r\nHost: test\r\nX-Slow: ";
            let bytes = head.iter().chain([b'a'; 200].iter());
            for byte in bytes {
                if write.write_all(&[*byte]).await.is_err() {
                    break;
                }
                tokio::time::sleep(TRICKLE).await;
            }
        });
        // Well before the 10 s idle timeout, which a trickle must not stretch either.
        let (seen, took) = until_closed(&mut read, header_read + MARGIN).await;
        trickle.abort();
        assert_eq!(seen, "", "an unfinished head gets no answer");
        assert!(
            took + EARLY >= header_read,
            "closed after {took:?}, before the timeout"
        );
        served(app).await;
        metric_becomes(app, "http_connections_timed_out_total{phase=\"header\"}", 1).await;
    }
);

backend_tests!(
    a_body_sent_one_byte_at_a_time_gets_408_at_the_body_read_timeout,
    ["--body-read-timeout", "1s", "--keep-alive-timeout", "10s"],
    |app| {
        let body_read = Duration::from_secs(1);
        let (mut read, mut write) = connect(app).await.into_split();
        let head = "POST /graphql HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
                    Content-Length: 200\r\n\r\n{";
        write
            .write_all(head.as_bytes())
            .await
            .expect("the head is sent");
        let started = Instant::now();
        let trickle = tokio::spawn(async move {
            for _ in 0..199 {
                tokio::time::sleep(TRICKLE).await;
                if write.write_all(b" ").await.is_err() {
                    break;
                }
            }
        });
        let (head, body) = response(&mut read, body_read + MARGIN)
            .await
            .expect("an answer to the slow body");
        let took = started.elapsed();
        assert!(head.starts_with("HTTP/1.1 408"), "{head}");
        assert!(
            head.to_ascii_lowercase().contains("\r\nconnection: close"),
            "{head}"
        );
        assert!(took + EARLY >= body_read, "answered after {took:?}");
        let body: Value = serde_json::from_str(&body).expect("a JSON body");
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{body}"
        );
        assert!(body["errors"][0]["message"].is_string(), "{body}");
        until_closed(&mut read, MARGIN).await;
        trickle.abort();
        let data = app.gql_ok(None, "{ __typename }", json!({})).await;
        assert_eq!(data["__typename"], "Query");
    }
);

backend_tests!(
    max_connections_keeps_further_clients_waiting_until_one_leaves,
    ["--max-connections", "2", "--keep-alive-timeout", "30s"],
    |app| {
        let first = connect(app).await;
        let second = connect(app).await;
        // Both are accepted before the third arrives.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut third = connect(app).await;
        third.write_all(HEALTHZ).await.expect("the request is sent");
        let early = response(&mut third, Duration::from_millis(500)).await;
        assert_eq!(
            early, None,
            "a third connection was served while two were held"
        );

        drop(first);
        let (head, _) = response(&mut third, MARGIN)
            .await
            .expect("the third client is served once a connection closes");
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");

        drop(second);
        drop(third);
        served(app).await;
        // Only the connection asking is left open.
        metric_becomes(app, "http_connections_open", 1).await;
    }
);

backend_tests!(
    a_slow_request_is_not_cut_by_the_idle_or_header_deadlines,
    [
        "--keep-alive-timeout",
        "100ms",
        "--header-read-timeout",
        "100ms",
        "--argon2-iterations",
        "100",
        "--request-timeout",
        "60s"
    ],
    |app| {
        let deadline = Duration::from_millis(100);
        let started = Instant::now();
        let token = app.signup("slow@example.com", PASSWORD).await.access;
        let took = started.elapsed();
        assert!(!token.is_empty());
        assert!(
            took > deadline * 3,
            "the signup took {took:?}: too fast to show anything; raise --argon2-iterations"
        );
        eprintln!("signup took {took:?} with 100 ms idle and header deadlines");
    }
);
