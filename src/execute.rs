//! One GraphQL operation's way through the server, the same for every transport (HTTP and
//! WebSocket): the document limits, execution within the time limit, error shaping, the
//! response cap, the metrics and the log span's fields.
//!
//! A transport reads the request and the caller's credentials, asks [`Executor::inspect`]
//! what the document is (and whether the limits refuse it; the document cache answers for
//! a document seen before, and resolves persisted-query hashes), then hands a [`Call`] to
//! [`Executor::run`] (one answer) or [`Executor::subscribe`] (a stream of answers). The
//! rate limits and the one-auth-mutation rule are enforced inside: by the limits and by the
//! resolvers, which see the caller through the request's data. Nothing here knows how the
//! answer travels.

use std::{sync::Arc, time::Duration};

use async_graphql::{Request, Response, ServerError, Value};
use axum::http::HeaderMap;
use futures_util::{Stream, StreamExt as _};
use tokio::time::Instant;

mod json;

#[cfg(test)]
pub(crate) use json::response as answer_text;
pub(crate) use json::{Json, pre_written};

use crate::{
    auth::{Viewer, refresh_cookie::CookieChannel},
    documents::{CacheSize, Documents},
    error::{AppError, shape_response, shaped_code},
    graphql::{Inspection, Limits, Schemas},
    metrics::{Metrics, UNKNOWN_OPERATION},
    request_meta::RequestMeta,
};

/// Runs GraphQL operations for every transport.
#[derive(Clone)]
pub struct Executor {
    schemas: Schemas,
    documents: Documents,
    metrics: Arc<Metrics>,
    request_timeout: Duration,
    max_response_bytes: usize,
}

/// One GraphQL request, inspected, with who sent it.
pub(crate) struct Call {
    /// The request, its document already parsed by [`Executor::inspect`].
    pub(crate) request: Request,
    /// What the limits found.
    pub(crate) inspection: Inspection,
    /// The authenticated caller, if any.
    pub(crate) viewer: Option<Viewer>,
    /// The caller's user agent and address.
    pub(crate) meta: RequestMeta,
    /// The id that masked errors carry and the log names.
    pub(crate) request_id: String,
    /// The refresh cookie's channel: `Some` over HTTP only, where a cookie can travel.
    pub(crate) cookie: Option<CookieChannel>,
}

/// One shaped answer, encoded as JSON.
#[derive(Debug)]
pub(crate) struct Answer {
    /// The operation never ran: a request error (parse, validation, a limit, a timeout),
    /// `data` absent and every error without a path.
    pub(crate) never_ran: bool,
    /// No `data` came back, only errors: a subscription that failed as it started (its
    /// resolver refused, as for a missing viewer) has no events to give.
    pub(crate) no_data: bool,
    /// The GraphQL response (`data`, `errors`) as JSON, at most the response limit; no
    /// `data` entry when the operation never ran.
    pub(crate) encoded: Vec<u8>,
    /// HTTP headers the resolvers set (`Set-Cookie`); only HTTP sends them.
    pub(crate) headers: HeaderMap,
    /// `OK`, or the first error's code.
    pub(crate) outcome: &'static str,
}

impl Answer {
    /// A request error that HTTP answers with 400 when the client reads
    /// `application/graphql-response+json`. Not a persisted-query miss: Apollo Client and
    /// urql retry with the document only after a 200.
    pub(crate) fn is_bad_request(&self) -> bool {
        self.never_ran && self.outcome != AppError::PersistedQueryNotFound.code()
    }
}

impl Executor {
    /// An executor over `schema`, checking `limits` (each distinct document once, keeping
    /// `documents` of them), recording into `metrics`; operations that answer once stop
    /// after `request_timeout`, and answers are capped at `max_response_bytes`.
    pub fn new(
        schemas: Schemas,
        limits: Limits,
        documents: CacheSize,
        metrics: Arc<Metrics>,
        request_timeout: Duration,
        max_response_bytes: usize,
    ) -> Self {
        Self {
            schemas,
            documents: Documents::new(limits, documents, Arc::clone(&metrics)),
            metrics,
            request_timeout,
            max_response_bytes,
        }
    }

    /// The largest answer, in bytes.
    pub(crate) fn max_response_bytes(&self) -> usize {
        self.max_response_bytes
    }

    /// Checks a request's document against the limits, through the document cache, and
    /// resolves a persisted-query hash.
    pub(crate) fn inspect(&self, request: &mut Request) -> Inspection {
        self.documents.inspect(request)
    }

    /// Runs one operation to its one answer within the time limit, records it in the
    /// metrics and the current span, and encodes it in at most `max_bytes` (a larger answer
    /// is replaced by a `RESPONSE_TOO_LARGE` error).
    pub(crate) async fn run(&self, call: Call, max_bytes: usize) -> Answer {
        let started = Instant::now();
        let label = self.label(&call.inspection);
        let auth = call.inspection.operation.as_ref().and_then(|op| op.auth);
        let request_id = call.request_id.clone();
        // A document not yet known to pass the full validation runs it, and may become known.
        let (schema, unproven) = match call.inspection.validity.clone() {
            Some(validity) if validity.known() => (&self.schemas.known_valid, None),
            validity => (&self.schemas.full, validity),
        };
        let response = match prepare(call) {
            Err(refusal) => Response::from_errors(vec![refusal]),
            Ok(request) => {
                let limit = self.request_timeout;
                match tokio::time::timeout(limit, schema.execute(request)).await {
                    Ok(response) => {
                        // Without an error of any kind, the rules certainly passed.
                        if let Some(validity) = &unproven
                            && response.errors.is_empty()
                        {
                            validity.record();
                        }
                        response
                    }
                    Err(_) => {
                        tracing::warn!(request_id, ?limit, "request timed out");
                        Response::from_errors(vec![AppError::Timeout.to_server_error(&request_id)])
                    }
                }
            }
        };
        let (outcome, answer) = finish(response, &request_id, max_bytes);
        let seconds = started.elapsed().as_secs_f64();
        self.metrics.observe_request(&label, outcome, seconds);
        if let Some(mutation) = auth {
            self.metrics.observe_auth(mutation, outcome);
        }
        answer
    }

    /// Runs a subscription (or any operation) as a stream of answers, each shaped and
    /// capped like [`Executor::run`]'s. A query or mutation yields one answer; a document
    /// that never runs yields one answer with `never_ran`. It is recorded in the metrics
    /// once, at its first answer (the latency is the time to that answer). No time limit:
    /// a subscription lives as long as its client wants it.
    pub(crate) fn subscribe(&self, call: Call) -> impl Stream<Item = Answer> + Send + 'static {
        let started = Instant::now();
        let label = self.label(&call.inspection);
        let request_id = call.request_id.clone();
        let responses = match prepare(call) {
            Err(refusal) => {
                let refused = Response::from_errors(vec![refusal]);
                futures_util::stream::once(async { refused }).boxed()
            }
            Ok(request) => self.schemas.full.execute_stream(request),
        };
        let metrics = Arc::clone(&self.metrics);
        let max_bytes = self.max_response_bytes;
        let mut first = true;
        responses.map(move |response| {
            let (outcome, answer) = finish(response, &request_id, max_bytes);
            if std::mem::take(&mut first) {
                metrics.observe_request(&label, outcome, started.elapsed().as_secs_f64());
            }
            answer
        })
    }

    /// The metrics label of an inspected operation, also recorded in the current span.
    fn label(&self, inspection: &Inspection) -> String {
        let label = inspection.operation.as_ref().map_or_else(
            || UNKNOWN_OPERATION.to_owned(),
            |op| self.metrics.operation_label(op.name.as_deref()),
        );
        tracing::Span::current().record("operation", label.as_str());
        label
    }
}

/// The request ready to execute, with the caller in its data; or the limits' refusal.
fn prepare(call: Call) -> Result<Request, ServerError> {
    if let Some(refusal) = call.inspection.refusal {
        return Err(refusal);
    }
    let mut request = call.request.data(call.meta);
    if let Some(cookie) = call.cookie {
        request = request.data(cookie);
    }
    if let Some(viewer) = call.viewer {
        tracing::Span::current().record("viewer", viewer.user_id().as_str());
        request = request.data(viewer);
    }
    Ok(request)
}

/// Shapes and encodes a response; gives the outcome for the metrics and the answer.
fn finish(mut response: Response, request_id: &str, max_bytes: usize) -> (&'static str, Answer) {
    shape_response(&mut response, request_id);
    // Kept even when the answer is replaced below: a rotated cookie must still arrive.
    let headers = std::mem::take(&mut response.http_headers);
    let mut outcome = response.errors.first().map_or("OK", shaped_code);
    let no_data = response.data == Value::Null && !response.errors.is_empty();
    let never_ran = no_data && response.errors.iter().all(|e| e.path.is_empty());
    // Nothing ran, so there is no `data` to speak of, not even null (GraphQL's "Response
    // Format", and what graphql-http's audits check).
    let encoded = if never_ran {
        json::errors(&response.errors, max_bytes)
    } else {
        json::response(&response, max_bytes)
    };
    let encoded = encoded.unwrap_or_else(|| {
        tracing::warn!(request_id, max_bytes, "answer over the response limit");
        let refusal = AppError::QueryRefused {
            reason: "RESPONSE_TOO_LARGE",
            message: format!(
                "the answer is larger than {max_bytes} bytes; ask for fewer fields or smaller pages"
            ),
        };
        outcome = refusal.code();
        let answer = Response::from_errors(vec![refusal.to_server_error(request_id)]);
        serde_json::to_vec(&answer).unwrap_or_else(|_| b"{}".to_vec())
    });
    (
        outcome,
        Answer {
            never_ran,
            no_data,
            encoded,
            headers,
            outcome,
        },
    )
}
