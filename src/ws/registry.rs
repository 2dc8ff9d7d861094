//! How many sockets are open on this instance, per session and per user; each place is a
//! guard that gives itself back when dropped, so a socket that ends in any way frees it.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
};

use tokio::sync::watch;

use super::{WsOptions, protocol::Close};
use crate::auth::Viewer;

/// The socket counts of this instance.
pub(crate) struct Registry {
    /// Open sockets; a watch, so that shutdown can wait for zero.
    open: watch::Sender<usize>,
    max_open: usize,
    bound: Mutex<Bound>,
    max_per_session: usize,
    max_per_user: usize,
}

#[derive(Default)]
struct Bound {
    sessions: HashMap<String, usize>,
    users: HashMap<String, usize>,
}

impl Registry {
    /// Empty, with the limits of `options`.
    pub(crate) fn new(options: &WsOptions) -> Self {
        Self {
            open: watch::Sender::new(0),
            max_open: options.max_connections,
            bound: Mutex::default(),
            max_per_session: options.max_per_session,
            max_per_user: options.max_per_user,
        }
    }

    /// A place for one more open socket, or `None` at the limit.
    pub(crate) fn open(self: &Arc<Self>) -> Option<Slot> {
        let max = self.max_open;
        let taken = self.open.send_if_modified(|open| {
            let room = *open < max;
            if room {
                *open += 1;
            }
            room
        });
        taken.then(|| Slot(Arc::clone(self)))
    }

    /// Counts a socket as the viewer's, or refuses it (close 1008) when their session or
    /// account already has the most sockets allowed.
    pub(crate) fn bind(self: &Arc<Self>, viewer: &Viewer) -> Result<Binding, Close> {
        let session = viewer.session_id().as_str().to_owned();
        let user = viewer.user_id().as_str().to_owned();
        let mut bound = self.bound.lock().unwrap_or_else(PoisonError::into_inner);
        if bound.sessions.get(&session).copied().unwrap_or(0) >= self.max_per_session {
            return Err(Close::SESSION_SOCKETS);
        }
        if bound.users.get(&user).copied().unwrap_or(0) >= self.max_per_user {
            return Err(Close::USER_SOCKETS);
        }
        *bound.sessions.entry(session.clone()).or_default() += 1;
        *bound.users.entry(user.clone()).or_default() += 1;
        Ok(Binding {
            registry: Arc::clone(self),
            session,
            user,
        })
    }

    /// Resolves once no socket is open.
    pub(crate) async fn all_closed(&self) {
        let mut open = self.open.subscribe();
        let _ = open.wait_for(|open| *open == 0).await;
    }
}

/// One open socket, counted until dropped.
pub(crate) struct Slot(Arc<Registry>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0
            .open
            .send_modify(|open| *open = open.saturating_sub(1));
    }
}

/// One socket counted for its session and user, until dropped.
pub(crate) struct Binding {
    registry: Arc<Registry>,
    session: String,
    user: String,
}

impl Drop for Binding {
    fn drop(&mut self) {
        let mut guard = self
            .registry
            .bound
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let bound = &mut *guard;
        for (map, key) in [
            (&mut bound.sessions, &self.session),
            (&mut bound.users, &self.user),
        ] {
            if let Some(count) = map.get_mut(key) {
                *count -= 1;
                if *count == 0 {
                    map.remove(key);
                }
            }
        }
    }
}
