//! Prometheus metrics, served at `GET /metrics`: GraphQL requests by operation and outcome,
//! their latency, signup and login outcomes, the database pool, open HTTP connections, and
//! the WebSockets: open, messages sent, subscription events sent and dropped, RESYNCs, and
//! closes by code; the document cache's hits, misses and evictions; and the shared rate
//! limits' fallbacks and write syncs.
//!
//! Operation names come from the parsed GraphQL document. They are still chosen by
//! clients, so only the first [`MAX_OPERATION_NAMES`] distinct names get a label of their
//! own; later ones, anonymous operations and unparsable documents share one label each.

use std::{collections::HashSet, sync::Mutex};

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

use crate::db::DbPool;

/// Distinct operation names labelled before the rest share `other`.
pub const MAX_OPERATION_NAMES: usize = 100;

/// The label of a request whose document did not parse.
pub const UNKNOWN_OPERATION: &str = "unknown";

/// The label of an operation without a name.
pub const ANONYMOUS_OPERATION: &str = "anonymous";

/// The server's metrics, in a registry of its own (so several servers in one process, as in
/// the tests, do not share counters).
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    auth: IntCounterVec,
    pool: IntGaugeVec,
    connections_open: IntGauge,
    connections_timed_out: IntCounterVec,
    ws: WsMetrics,
    limit_fallbacks: IntCounterVec,
    write_syncs: prometheus::IntCounter,
    documents: IntCounterVec,
    evictions: prometheus::IntCounter,
    names: Mutex<HashSet<String>>,
}

/// The WebSocket metrics.
struct WsMetrics {
    open: IntGauge,
    sent: IntCounterVec,
    events: IntCounterVec,
    resyncs: IntCounterVec,
    closed: IntCounterVec,
    lag: prometheus::Histogram,
}

impl WsMetrics {
    fn register(registry: &Registry) -> anyhow::Result<Self> {
        let open = IntGauge::new("ws_connections_open", "open WebSockets")?;
        let sent = IntCounterVec::new(
            Opts::new(
                "ws_messages_sent_total",
                "WebSocket messages sent, by protocol message type",
            ),
            &["type"],
        )?;
        let events = IntCounterVec::new(
            Opts::new(
                "ws_subscription_events_total",
                "subscription events, by outcome: sent, or dropped because the socket's queue was full",
            ),
            &["outcome"],
        )?;
        let resyncs = IntCounterVec::new(
            Opts::new(
                "ws_resyncs_total",
                "RESYNC events, by cause: socket_queue (the socket dropped events), \
                 feed_buffer (a subscriber fell behind its account's buffer), \
                 notifications (the listening connection reconnected), cursor (a since \
                 cursor that cannot be replayed), database (its replay failed)",
            ),
            &["cause"],
        )?;
        let lag = prometheus::Histogram::with_opts(
            HistogramOpts::new(
                "change_notification_lag_seconds",
                "from a todo write's statement on any replica to this replica hearing its \
                 PostgreSQL notification",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ]),
        )?;
        let closed = IntCounterVec::new(
            Opts::new("ws_closed_total", "WebSockets closed, by close code"),
            &["code"],
        )?;
        registry.register(Box::new(open.clone()))?;
        registry.register(Box::new(sent.clone()))?;
        registry.register(Box::new(events.clone()))?;
        registry.register(Box::new(resyncs.clone()))?;
        registry.register(Box::new(closed.clone()))?;
        registry.register(Box::new(lag.clone()))?;
        Ok(Self {
            open,
            sent,
            events,
            resyncs,
            closed,
            lag,
        })
    }
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> anyhow::Result<Self> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "graphql_requests_total",
                "GraphQL operations by name and outcome code",
            ),
            &["operation", "outcome"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "graphql_request_duration_seconds",
                "GraphQL operation latency",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
            &["operation"],
        )?;
        let auth = IntCounterVec::new(
            Opts::new(
                "auth_attempts_total",
                "signup and login attempts by outcome code",
            ),
            &["mutation", "outcome"],
        )?;
        let pool = IntGaugeVec::new(
            Opts::new("db_pool_connections", "database pool connections by state"),
            &["state"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(auth.clone()))?;
        registry.register(Box::new(pool.clone()))?;
        let connections_open = IntGauge::new("http_connections_open", "open HTTP connections")?;
        let connections_timed_out = IntCounterVec::new(
            Opts::new(
                "http_connections_timed_out_total",
                "HTTP connections closed by a deadline, by phase (idle or header)",
            ),
            &["phase"],
        )?;
        registry.register(Box::new(connections_open.clone()))?;
        registry.register(Box::new(connections_timed_out.clone()))?;
        let ws = WsMetrics::register(&registry)?;
        let limit_fallbacks = IntCounterVec::new(
            Opts::new(
                "rate_limit_fallbacks_total",
                "shared rate-limit statements the database did not answer in time, decided by \
                 this process's in-memory limits instead, by limit: auth (the check before a \
                 password hash), auth_failure (counting a failed one), write (a write sync)",
            ),
            &["limit"],
        )?;
        let write_syncs = prometheus::IntCounter::new(
            "rate_limit_write_syncs_total",
            "rounds of flushing this process's write counts to the shared limit and reading \
             back the totals",
        )?;
        registry.register(Box::new(limit_fallbacks.clone()))?;
        registry.register(Box::new(write_syncs.clone()))?;
        let documents = IntCounterVec::new(
            Opts::new(
                "graphql_document_cache_lookups_total",
                "document cache lookups by result: hit, or miss (the document is parsed and checked)",
            ),
            &["result"],
        )?;
        let evictions = prometheus::IntCounter::new(
            "graphql_document_cache_evictions_total",
            "documents evicted from the document cache to make room",
        )?;
        registry.register(Box::new(documents.clone()))?;
        registry.register(Box::new(evictions.clone()))?;
        Ok(Self {
            registry,
            requests,
            latency,
            auth,
            pool,
            connections_open,
            connections_timed_out,
            ws,
            limit_fallbacks,
            write_syncs,
            documents,
            evictions,
            names: Mutex::new(HashSet::new()),
        })
    }

    /// The label for an operation name found in a document.
    pub fn operation_label(&self, name: Option<&str>) -> String {
        let Some(name) = name else {
            return ANONYMOUS_OPERATION.to_owned();
        };
        let Ok(mut names) = self.names.lock() else {
            return "other".to_owned();
        };
        if names.contains(name)
            || names.len() < MAX_OPERATION_NAMES && names.insert(name.to_owned())
        {
            name.to_owned()
        } else {
            "other".to_owned()
        }
    }

    /// Records one GraphQL operation.
    pub fn observe_request(&self, operation: &str, outcome: &str, seconds: f64) {
        self.requests.with_label_values(&[operation, outcome]).inc();
        self.latency
            .with_label_values(&[operation])
            .observe(seconds);
    }

    /// Records one signup or login attempt.
    pub fn observe_auth(&self, mutation: &str, outcome: &str) {
        self.auth.with_label_values(&[mutation, outcome]).inc();
    }

    /// Counts one HTTP connection as open until the returned guard is dropped.
    pub(crate) fn connection_opened(&self) -> OpenConnection {
        self.connections_open.inc();
        OpenConnection(self.connections_open.clone())
    }

    /// Records a connection closed by its idle or header deadline.
    pub(crate) fn connection_timed_out(&self, phase: &str) {
        self.connections_timed_out.with_label_values(&[phase]).inc();
    }

    /// Counts one WebSocket as open until the returned guard is dropped.
    pub(crate) fn socket_opened(&self) -> OpenConnection {
        self.ws.open.inc();
        OpenConnection(self.ws.open.clone())
    }

    /// Records a WebSocket message of protocol type `kind` sent.
    pub(crate) fn ws_sent(&self, kind: &str) {
        self.ws.sent.with_label_values(&[kind]).inc();
    }

    /// Records a subscription event sent (`true`) or dropped on a full queue (`false`).
    pub(crate) fn ws_event(&self, sent: bool) {
        let outcome = if sent { "sent" } else { "dropped" };
        self.ws.events.with_label_values(&[outcome]).inc();
    }

    /// Records a RESYNC event, by its cause (see the metric's help).
    pub(crate) fn ws_resync(&self, cause: &str) {
        self.ws.resyncs.with_label_values(&[cause]).inc();
    }

    /// Records how long a change notification took to arrive.
    pub(crate) fn notification_lag(&self, seconds: f64) {
        self.ws.lag.observe(seconds.max(0.0));
    }

    /// Records a WebSocket closed with `code`.
    pub(crate) fn ws_closed(&self, code: u16) {
        self.ws.closed.with_label_values(&[&code.to_string()]).inc();
    }

    /// Records a shared rate-limit statement decided in memory instead (see the metric).
    pub(crate) fn rate_limit_fallback(&self, limit: &str) {
        self.limit_fallbacks.with_label_values(&[limit]).inc();
    }

    /// Records one round of the write limit's sync.
    pub(crate) fn write_limit_synced(&self) {
        self.write_syncs.inc();
    }

    /// Records a document cache lookup that found the document (`true`) or did not.
    pub(crate) fn document_lookup(&self, hit: bool) {
        let result = if hit { "hit" } else { "miss" };
        self.documents.with_label_values(&[result]).inc();
    }

    /// Records a document evicted from the document cache to make room.
    pub(crate) fn document_evicted(&self) {
        self.evictions.inc();
    }

    /// The text exposition of every metric, with the pool sampled now.
    pub fn render(&self, db: &DbPool) -> String {
        let status = db.status();
        let waiting = i64::try_from(status.waiting).unwrap_or(i64::MAX);
        let size = i64::try_from(status.size).unwrap_or(i64::MAX);
        let available = i64::try_from(status.available).unwrap_or(i64::MAX);
        let max = i64::try_from(status.max_size).unwrap_or(i64::MAX);
        self.pool.with_label_values(&["max"]).set(max);
        self.pool.with_label_values(&["open"]).set(size);
        self.pool.with_label_values(&["idle"]).set(available);
        self.pool
            .with_label_values(&["in_use"])
            .set(size - available);
        self.pool.with_label_values(&["waiting"]).set(waiting);
        let mut out = Vec::new();
        if let Err(error) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::error!(%error, "encoding metrics");
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

/// One open connection in `http_connections_open` (or socket in `ws_connections_open`),
/// until dropped.
pub(crate) struct OpenConnection(IntGauge);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_labels_are_bounded() -> anyhow::Result<()> {
        let metrics = Metrics::new()?;
        assert_eq!(metrics.operation_label(None), ANONYMOUS_OPERATION);
        for i in 0..MAX_OPERATION_NAMES {
            assert_eq!(
                metrics.operation_label(Some(&format!("Op{i}"))),
                format!("Op{i}")
            );
        }
        assert_eq!(metrics.operation_label(Some("OneTooMany")), "other");
        assert_eq!(metrics.operation_label(Some("Op3")), "Op3");
        Ok(())
    }
}
