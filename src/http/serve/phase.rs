//! The phase of one connection, and the IO deadline each phase sets.
//!
//! - **Idle** (no request in flight, nothing received since idle began): the connection is
//!   closed `keep_alive` after idle began (after it opened, or after its last response).
//! - **Head** (bytes received, no request handed to the service yet): closed `header_read`
//!   after the first of those bytes.
//! - **Busy** (a request in flight): no IO deadline; the handler bounds the body read and
//!   the request timeout bounds the execution.
//! - **Upgraded** (a `101 Switching Protocols` went out): no deadline ever again; the
//!   upgraded protocol keeps its own.
//!
//! [`PhasedIo`] wraps the socket and fails a read or write left pending past the deadline
//! with [`io::ErrorKind::TimedOut`], which ends the connection; [`Tracked`] wraps the
//! service and marks requests in flight. Both share one [`Phase`].

use std::{
    io,
    pin::Pin,
    sync::{Arc, Mutex, PoisonError},
    task::{Context, Poll},
    time::Duration,
};

use axum::http::{Request, Response, StatusCode};
use futures_util::{future::BoxFuture, task::AtomicWaker};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    time::{Instant, Sleep},
};

/// How long a connection may stay in each phase that has a deadline.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeouts {
    /// Idle: no request in flight and nothing received.
    pub(crate) keep_alive: Duration,
    /// From the first byte of a request to its complete head.
    pub(crate) header_read: Duration,
}

/// The phase of one connection, shared by its IO and its service.
pub(crate) struct Phase {
    timeouts: Timeouts,
    state: Mutex<State>,
    // The IO task may sit in a pending read with no deadline while a request runs on
    // another task; it is woken when the request ends so that it arms the idle deadline.
    read_waker: AtomicWaker,
    write_waker: AtomicWaker,
}

struct State {
    in_flight: usize,
    upgraded: bool,
    idle_since: Instant,
    first_byte: Option<Instant>,
    timed_out: Option<&'static str>,
}

impl Phase {
    /// A fresh connection: idle from now.
    pub(crate) fn new(timeouts: Timeouts) -> Arc<Self> {
        Arc::new(Self {
            timeouts,
            state: Mutex::new(State {
                in_flight: 0,
                upgraded: false,
                idle_since: Instant::now(),
                first_byte: None,
                timed_out: None,
            }),
            read_waker: AtomicWaker::new(),
            write_waker: AtomicWaker::new(),
        })
    }

    /// The phase whose deadline closed the connection (`idle` or `header`), if one did.
    pub(crate) fn timed_out(&self) -> Option<&'static str> {
        self.state().timed_out
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The current deadline and the name of its phase; `None` while busy or upgraded.
    fn deadline(&self) -> Option<(Instant, &'static str)> {
        let state = self.state();
        if state.upgraded || state.in_flight > 0 {
            return None;
        }
        Some(match state.first_byte {
            Some(first) => (first + self.timeouts.header_read, "header"),
            None => (state.idle_since + self.timeouts.keep_alive, "idle"),
        })
    }

    fn received(&self) {
        let mut state = self.state();
        if state.in_flight == 0 && state.first_byte.is_none() {
            state.first_byte = Some(Instant::now());
        }
    }

    /// Marks a request in flight until the returned guard is dropped.
    pub(crate) fn begin(self: &Arc<Self>) -> Busy {
        self.state().in_flight += 1;
        Busy(Arc::clone(self))
    }

    /// `Ready(TimedOut)` once the deadline has passed; otherwise `Pending`, with `sleep` armed
    /// to wake the task at the deadline.
    fn expire(&self, sleep: &mut Option<Pin<Box<Sleep>>>, cx: &mut Context<'_>) -> Poll<io::Error> {
        let Some((deadline, phase)) = self.deadline() else {
            return Poll::Pending;
        };
        let sleep = sleep.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if sleep.deadline() != deadline {
            sleep.as_mut().reset(deadline);
        }
        if sleep.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        self.state().timed_out.get_or_insert(phase);
        Poll::Ready(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("{phase} deadline passed"),
        ))
    }
}

/// A request in flight; dropping it ends the request and starts an idle period.
pub(crate) struct Busy(Arc<Phase>);

impl Busy {
    /// The response switched protocols: no deadlines from now on.
    fn upgraded(&self) {
        self.0.state().upgraded = true;
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        let mut state = self.0.state();
        state.in_flight = state.in_flight.saturating_sub(1);
        if state.in_flight == 0 {
            state.idle_since = Instant::now();
            state.first_byte = None;
        }
        drop(state);
        self.0.read_waker.wake();
        self.0.write_waker.wake();
    }
}

/// A connection's IO, failing reads and writes left pending past the phase's deadline.
pub(crate) struct PhasedIo<T> {
    inner: T,
    phase: Arc<Phase>,
    read_sleep: Option<Pin<Box<Sleep>>>,
    write_sleep: Option<Pin<Box<Sleep>>>,
}

impl<T> PhasedIo<T> {
    /// Wraps `inner`, whose phase `phase` tracks.
    pub(crate) fn new(inner: T, phase: Arc<Phase>) -> Self {
        Self {
            inner,
            phase,
            read_sleep: None,
            write_sleep: None,
        }
    }

    fn write_pending<R>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<R>> {
        self.phase.write_waker.register(cx.waker());
        self.phase.expire(&mut self.write_sleep, cx).map(Err)
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for PhasedIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.phase.received();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            Poll::Pending => {
                this.phase.read_waker.register(cx.waker());
                this.phase.expire(&mut this.read_sleep, cx).map(Err)
            }
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for PhasedIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_write(cx, buf) {
            Poll::Pending => this.write_pending(cx),
            ready => ready,
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_write_vectored(cx, bufs) {
            Poll::Pending => this.write_pending(cx),
            ready => ready,
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_flush(cx) {
            Poll::Pending => this.write_pending(cx),
            ready => ready,
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_shutdown(cx) {
            Poll::Pending => this.write_pending(cx),
            ready => ready,
        }
    }
}

/// A connection's service, marking each request busy until its response is ready.
pub(crate) struct Tracked<S> {
    inner: S,
    phase: Arc<Phase>,
}

impl<S> Tracked<S> {
    /// Wraps the connection's service `inner`.
    pub(crate) fn new(inner: S, phase: Arc<Phase>) -> Self {
        Self { inner, phase }
    }
}

impl<S, B, R> hyper::service::Service<Request<B>> for Tracked<S>
where
    S: hyper::service::Service<Request<B>, Response = Response<R>>,
    S::Future: Send + 'static,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response<R>, S::Error>>;

    fn call(&self, request: Request<B>) -> Self::Future {
        let busy = self.phase.begin();
        let response = self.inner.call(request);
        Box::pin(async move {
            let response = response.await;
            if response
                .as_ref()
                .is_ok_and(|r| r.status() == StatusCode::SWITCHING_PROTOCOLS)
            {
                busy.upgraded();
            }
            drop(busy);
            response
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _, DuplexStream};

    const SHORT: Duration = Duration::from_millis(150);
    const LONG: Duration = Duration::from_secs(5);
    // The box running the tests may be loaded: a deadline may fire this much late.
    const SLACK: Duration = Duration::from_secs(2);

    fn pair(keep_alive: Duration, header_read: Duration) -> (PhasedIo<DuplexStream>, DuplexStream) {
        let (server, client) = tokio::io::duplex(64);
        let phase = Phase::new(Timeouts {
            keep_alive,
            header_read,
        });
        (PhasedIo::new(server, phase), client)
    }

    /// Reads until an error; returns it and how long it took.
    async fn read_error(io: &mut PhasedIo<DuplexStream>) -> (io::ErrorKind, Duration) {
        let started = Instant::now();
        let mut buf = [0_u8; 16];
        let limit = LONG + SLACK;
        loop {
            match tokio::time::timeout(limit, io.read(&mut buf)).await {
                Ok(Ok(n)) if n > 0 => continue,
                Ok(Ok(_)) => panic!("EOF instead of a deadline"),
                Ok(Err(error)) => return (error.kind(), started.elapsed()),
                Err(_) => panic!("no deadline within {limit:?}"),
            }
        }
    }

    #[tokio::test]
    async fn an_idle_connection_times_out_at_keep_alive() {
        let (mut io, _client) = pair(SHORT, LONG);
        let (kind, took) = read_error(&mut io).await;
        assert_eq!(kind, io::ErrorKind::TimedOut);
        assert!(took >= SHORT && took < SHORT + SLACK, "{took:?}");
        assert_eq!(io.phase.timed_out(), Some("idle"));
    }

    #[tokio::test]
    async fn the_header_clock_starts_at_the_first_byte_and_is_not_reset_by_more() {
        let (mut io, mut client) = pair(LONG, Duration::from_millis(600));
        let trickle = tokio::spawn(async move {
            for _ in 0..20 {
                if client.write_all(b"G").await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        let (kind, took) = read_error(&mut io).await;
        assert_eq!(kind, io::ErrorKind::TimedOut);
        assert!(
            took >= Duration::from_millis(600) && took < LONG,
            "{took:?}"
        );
        assert_eq!(io.phase.timed_out(), Some("header"));
        trickle.abort();
    }

    #[tokio::test]
    async fn a_busy_connection_has_no_deadline_and_idles_again_after() {
        let (mut io, _client) = pair(SHORT, SHORT);
        let busy = io.phase.begin();
        let phase = Arc::clone(&io.phase);
        let reader = tokio::spawn(async move { read_error(&mut io).await });
        tokio::time::sleep(SHORT * 4).await;
        assert!(!reader.is_finished(), "a deadline cut a busy connection");
        assert_eq!(phase.timed_out(), None);
        let ended = Instant::now();
        drop(busy);
        let (kind, _) = reader.await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(kind, io::ErrorKind::TimedOut);
        let took = ended.elapsed();
        assert!(took >= SHORT && took < SHORT + SLACK, "{took:?}");
    }

    #[tokio::test]
    async fn an_upgraded_connection_has_no_deadline() {
        let (mut io, _client) = pair(SHORT, SHORT);
        let busy = io.phase.begin();
        busy.upgraded();
        drop(busy);
        let mut buf = [0_u8; 1];
        let read = tokio::time::timeout(SHORT * 4, io.read(&mut buf)).await;
        assert!(read.is_err(), "the read ended: {read:?}");
    }

    #[tokio::test]
    async fn a_write_the_client_never_reads_times_out_while_idle() {
        let (mut io, _client) = pair(SHORT, LONG);
        let started = Instant::now();
        let write = tokio::time::timeout(LONG, io.write_all(&[b'x'; 4096])).await;
        let took = started.elapsed();
        let kind = write.map(|w| w.err().map(|e| e.kind()));
        assert_eq!(kind, Ok(Some(io::ErrorKind::TimedOut)), "{took:?}");
        assert!(took >= SHORT && took < SHORT + SLACK, "{took:?}");
    }
}
