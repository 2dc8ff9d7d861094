//! Raw HTTP/1.1 over a TCP socket, for what a client library hides: a request sent in
//! parts, and the response read byte by byte.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt as _};

/// One HTTP/1.1 response (head and a `Content-Length` body), or `None` when it has not
/// fully arrived within `limit`. Returns the head and the body.
pub async fn response(
    stream: &mut (impl AsyncRead + Unpin),
    limit: Duration,
) -> Option<(String, String)> {
    let deadline = tokio::time::Instant::now() + limit;
    let mut seen = Vec::new();
    let mut buf = [0_u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&seen).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().to_owned())
                })
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or_else(|| panic!("a Content-Length in {head:?}"));
            if body.len() >= length {
                return Some((head.to_owned(), body.to_owned()));
            }
        }
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => panic!("closed before a whole response: {text:?}"),
            Ok(Ok(n)) => seen.extend_from_slice(&buf[..n]),
        }
    }
}
