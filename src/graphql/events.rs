//! Live updates: the `todoEvents` subscription. Its events come from the change feed of
//! the viewer's own account, the only account a subscription can follow: there is no
//! argument that names one.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex, PoisonError},
};

use async_graphql::{Context, Enum, ID, Object, Subscription};
use futures_util::Stream;

use super::{
    AppState, ContextExt, ids,
    sync::cursor::{self, Since},
    todos::TodoObject,
};
use crate::{
    auth::UserId,
    error::AppError,
    feed::{FeedEvent, Follower},
    store::changes::{self, Change, Position, Scan},
    ws,
};

/// Changes read per round trip while replaying.
const REPLAY_PAGE: usize = 200;

/// What happened to a todo.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum TodoEventKind {
    /// It was created.
    Created,
    /// It changed.
    Updated,
    /// It was deleted.
    Deleted,
    /// Events were lost (this connection fell behind, or the server lost its notification
    /// stream): call `changes(since: cursor)` with this event's cursor to catch up.
    Resync,
}

/// One change to one of the viewer's todos.
pub(crate) struct TodoEvent {
    kind: TodoEventKind,
    todo_id: Option<ID>,
    todo: Option<TodoObject>,
    cursor: String,
}

/// A change to one of the viewer's todos, from any device or replica.
#[Object]
impl TodoEvent {
    /// What happened.
    async fn kind(&self) -> TodoEventKind {
        self.kind
    }
    /// The todo's id; null only for RESYNC.
    async fn todo_id(&self) -> Option<&ID> {
        self.todo_id.as_ref()
    }
    /// The todo as it is after the change (a later change may already show); null for
    /// DELETED and RESYNC.
    async fn todo(&self) -> Option<&TodoObject> {
        self.todo.as_ref()
    }
    /// A sync cursor: `changes(since: cursor)` continues right after this event, and
    /// `todoEvents(since: cursor)` resumes here after a reconnect.
    async fn cursor(&self) -> &str {
        &self.cursor
    }
}

/// The subscription root's todo part.
#[derive(Default)]
pub(crate) struct TodoSubscription;

#[Subscription]
impl TodoSubscription {
    /// The viewer's todo changes, from every device and replica, in the order they were
    /// committed; bulk mutations give one event per changed todo. Changes of one todo that
    /// commit close together may arrive as one event carrying its latest state (a todo
    /// created and renamed at once: one CREATED). With `since` (a cursor from `changes` or
    /// from an earlier event) the changes missed since then are replayed first, then live
    /// ones follow with no gap and no repeat. A cursor too old for the deletions kept, or
    /// from inside a full resync, gives one RESYNC event first. RESYNC also means this
    /// connection fell behind or the server lost its notification stream: call
    /// `changes(since:)` with its cursor. Needs a signed-in viewer (`UNAUTHENTICATED`
    /// otherwise); a cut, altered or another viewer's cursor is `BAD_USER_INPUT`.
    async fn todo_events(
        &self,
        ctx: &Context<'_>,
        since: Option<String>,
    ) -> Result<impl Stream<Item = TodoEvent> + use<>, AppError> {
        let owner = ctx.viewer()?.user_id().clone();
        let state = ctx.state()?.clone();
        let replay = match since {
            Some(raw) => {
                let from = cursor::decode(&state.cursor_keys, &owner, &raw, "since")?;
                Some((from, raw))
            }
            None => None,
        };
        // Follow first, then replay: whatever commits during the replay is in the feed.
        let follower = state.feed.follow(&owner).await?;
        let phase = match replay {
            Some((Since::Changes { todos, tombstones }, _)) => Phase::Replay { todos, tombstones },
            // A cursor from inside a full resync or from another deployment: the client
            // has to finish (or start) its resync with `changes`, from this same cursor.
            Some((_, raw)) => Phase::Resync(raw),
            None => Phase::Live { skip_through: None },
        };
        let start = match &phase {
            Phase::Resync(raw) => raw.clone(),
            _ => cursor::encode(&state.cursor_keys, &owner, &Since::at(follower.position())),
        };
        let source = Events {
            state,
            owner,
            follower,
            phase,
            pending: VecDeque::new(),
        };
        // The cursors of the last two events yielded: when the socket had to drop the
        // last one, the RESYNC in its place points just before it.
        let delivered = Arc::new(Mutex::new([start.clone(), start]));
        let track = delivered.clone();
        let events = futures_util::stream::unfold(source, move |mut source| {
            let track = track.clone();
            async move {
                let event = source.next().await;
                let mut cursors = track.lock().unwrap_or_else(PoisonError::into_inner);
                cursors.swap(0, 1);
                cursors[1].clone_from(&event.cursor);
                drop(cursors);
                Some((event, source))
            }
        });
        Ok(ws::resync_on_overflow(ctx, events, move || {
            let cursors = delivered.lock().unwrap_or_else(PoisonError::into_inner);
            TodoEvent::resync(cursors[0].clone())
        }))
    }
}

enum Phase {
    /// Reading the log beyond these places (todos and tombstones, as a sync cursor has
    /// them).
    Replay {
        todos: Position,
        tombstones: Position,
    },
    /// The client's cursor cannot be replayed: one RESYNC carrying it, then live events.
    Resync(String),
    /// Passing on the feed's events, skipping those the replay already gave.
    Live { skip_through: Option<Position> },
}

/// One subscription's events: the replay, then the live feed.
struct Events {
    state: AppState,
    owner: UserId,
    follower: Follower,
    phase: Phase,
    pending: VecDeque<TodoEvent>,
}

impl Events {
    async fn next(&mut self) -> TodoEvent {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return event;
            }
            match &mut self.phase {
                Phase::Replay { todos, tombstones } => {
                    let (todos, tombstones) = (todos.clone(), tombstones.clone());
                    self.replay_page(todos, tombstones).await;
                }
                Phase::Resync(raw) => {
                    let cursor = std::mem::take(raw);
                    self.follower.count_resync("cursor");
                    self.phase = Phase::Live { skip_through: None };
                    return TodoEvent::resync(cursor);
                }
                Phase::Live { skip_through } => {
                    let event = self.follower.next().await;
                    let skip = match (&*event, &*skip_through) {
                        (FeedEvent::Change { change, .. }, Some(through)) => {
                            change.position() <= *through
                        }
                        _ => false,
                    };
                    if !skip {
                        return self.shape(&event);
                    }
                }
            }
        }
    }

    /// Queues one page of the replay, and moves to the live feed after the last.
    async fn replay_page(&mut self, todos: Position, tombstones: Position) {
        let scan = Scan {
            todos: Some(&todos),
            tombstones: Some(&tombstones),
        };
        let page = match self.state.db.get().await {
            Ok(mut conn) => changes::read(&mut conn, &self.owner, scan, REPLAY_PAGE).await,
            Err(error) => Err(error),
        };
        let resume = Since::Changes {
            todos: todos.clone(),
            tombstones: tombstones.clone(),
        };
        match page {
            Ok(Some(page)) => {
                let mut last = todos.clone().max(tombstones.clone());
                for change in page.changes {
                    let created = matches!(&change, Change::Upserted(t) if t.created_seq() > todos.seen_through());
                    last = change.position();
                    let event = self.change(&change, created);
                    self.pending.push_back(event);
                }
                self.phase = if page.has_more {
                    Phase::Replay {
                        todos: todos.max(last.clone()),
                        tombstones: tombstones.max(last),
                    }
                } else {
                    Phase::Live {
                        skip_through: Some(last),
                    }
                };
            }
            // Older than the tombstones kept: the client's `changes` will say fullResync.
            Ok(None) => {
                self.follower.count_resync("cursor");
                let cursor = cursor::encode(&self.state.cursor_keys, &self.owner, &resume);
                self.pending.push_back(TodoEvent::resync(cursor));
                self.phase = Phase::Live { skip_through: None };
            }
            Err(error) => {
                // Nothing is lost: the client reads the log from the place it gave.
                tracing::warn!(%error, "replaying the change log failed");
                self.follower.count_resync("database");
                let cursor = cursor::encode(&self.state.cursor_keys, &self.owner, &resume);
                self.pending.push_back(TodoEvent::resync(cursor));
                self.phase = Phase::Live { skip_through: None };
            }
        }
    }

    fn shape(&self, event: &FeedEvent) -> TodoEvent {
        match event {
            FeedEvent::Change { change, created } => self.change(change, *created),
            FeedEvent::Resync { after, .. } => TodoEvent::resync(self.cursor(after)),
        }
    }

    fn cursor(&self, position: &Position) -> String {
        cursor::encode(&self.state.cursor_keys, &self.owner, &Since::at(position))
    }

    fn change(&self, change: &Change, created: bool) -> TodoEvent {
        let cursor = self.cursor(&change.position());
        match change {
            Change::Upserted(todo) => TodoEvent {
                kind: if created {
                    TodoEventKind::Created
                } else {
                    TodoEventKind::Updated
                },
                todo_id: Some(ids::encode(ids::Kind::Todo, &todo.id)),
                todo: Some(TodoObject(todo.clone())),
                cursor,
            },
            Change::Deleted { id, .. } => TodoEvent {
                kind: TodoEventKind::Deleted,
                todo_id: Some(ids::encode(ids::Kind::Todo, id)),
                todo: None,
                cursor,
            },
        }
    }
}

impl TodoEvent {
    fn resync(cursor: String) -> Self {
        Self {
            kind: TodoEventKind::Resync,
            todo_id: None,
            todo: None,
            cursor,
        }
    }
}
