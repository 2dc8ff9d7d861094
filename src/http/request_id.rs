//! Request ids: a client's `X-Request-Id` is kept only when it is 1 to 64 characters of
//! `[A-Za-z0-9._-]`, so it can go into every log line and the response as it is. Any other
//! is dropped here, before tower-http's `SetRequestIdLayer`, which then makes a fresh UUID
//! (it keeps whatever header is present).

use axum::http::{HeaderName, Request};

const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const MAX_LEN: usize = 64;

/// Removes the `X-Request-Id` headers of `request` unless there is exactly one, and it is
/// well formed.
pub(super) fn drop_invalid<B>(mut request: Request<B>) -> Request<B> {
    let mut values = request.headers().get_all(X_REQUEST_ID).iter();
    let keep = match (values.next(), values.next()) {
        (Some(id), None) => is_valid(id.as_bytes()),
        _ => false,
    };
    if !keep {
        request.headers_mut().remove(X_REQUEST_ID);
    }
    request
}

fn is_valid(id: &[u8]) -> bool {
    (1..=MAX_LEN).contains(&id.len())
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_plain_ids_are_kept() {
        for good in ["a", "trace-4711.from_the-caller", &"x".repeat(64)] {
            assert!(is_valid(good.as_bytes()), "{good}");
        }
        let long = "x".repeat(65);
        for bad in ["", "a b", "a\"b", "a'b", "a\tb", "é", "a/b", long.as_str()] {
            assert!(!is_valid(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn a_bad_or_repeated_header_is_dropped() {
        let with = |ids: &[&str]| {
            let mut builder = Request::builder();
            for id in ids {
                builder = builder.header("x-request-id", *id);
            }
            let request = builder.body(()).unwrap_or_default();
            drop_invalid(request)
                .headers()
                .get_all(X_REQUEST_ID)
                .iter()
                .count()
        };
        assert_eq!(with(&["ok-1"]), 1);
        assert_eq!(with(&["not ok"]), 0);
        assert_eq!(with(&["ok-1", "ok-2"]), 0);
        assert_eq!(with(&[]), 0);
    }
}
