//! Where SQLite's calls run: on the blocking pool by default, or right on the calling
//! worker thread inside [`in_place`].
//!
//! A call on the blocking pool costs two thread hand-offs, and a request waits behind other
//! tasks to be scheduled again after each: for a page of todos that was a third of the CPU
//! and, while a write transaction held SQLite's one write turn, most of its latency. A
//! statement whose work is bounded by a page or one row (and that never waits for a lock:
//! this process's writers queue for the `Writer` before they begin) finishes in
//! microseconds, faster than the hand-off; statements whose cost grows with an account's
//! size (search, bulk writes, deleting an account) stay on the pool, off the workers.

use std::{
    error::Error,
    pin::Pin,
    task::{Context, Poll},
};

use diesel_async::sync_connection_wrapper::SpawnBlocking;
use futures_util::future::BoxFuture;
use tokio::task::JoinHandle;

tokio::task_local! {
    static IN_PLACE: ();
}

/// Runs `work` with its SQLite calls on the calling thread (see the module docs): for work
/// whose every statement reads or writes a bounded number of rows. PostgreSQL ignores it.
pub(crate) async fn in_place<F: Future>(work: F) -> F::Output {
    IN_PLACE.scope((), work).await
}

/// The [`SpawnBlocking`] of the SQLite connections.
#[derive(Clone, Copy, Default)]
pub struct SqliteRuntime;

impl SpawnBlocking for SqliteRuntime {
    fn spawn_blocking<'a, R>(
        &mut self,
        task: impl FnOnce() -> R + Send + 'static,
    ) -> BoxFuture<'a, Result<R, Box<dyn Error + Send + Sync + 'static>>>
    where
        R: Send + 'static,
    {
        if IN_PLACE.try_with(|_| ()).is_ok() {
            return Box::pin(std::future::ready(Ok(task())));
        }
        Box::pin(Offloaded(tokio::task::spawn_blocking(task)))
    }

    fn get_runtime() -> Self {
        Self
    }
}

/// A call on the blocking pool. Dropped before it finishes (a cancelled request), it waits
/// for the call to end, so the connection goes back to the pool idle.
struct Offloaded<R>(JoinHandle<R>);

impl<R> Future for Offloaded<R> {
    type Output = Result<R, Box<dyn Error + Send + Sync + 'static>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx).map_err(Into::into)
    }
}

impl<R> Drop for Offloaded<R> {
    fn drop(&mut self) {
        if self.0.is_finished() {
            return;
        }
        // Only a multi-threaded runtime can wait here; elsewhere the next user of the
        // connection waits for its lock instead.
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread {
            let join = &mut self.0;
            tokio::task::block_in_place(|| {
                let _ = handle.block_on(join);
            });
        }
    }
}
