//! Todos: the `Todo` type and `Priority`, their queries and mutations. Every resolver takes
//! the owner from `ctx.viewer()?`; the store cannot be called without it.

mod bulk;
mod plan;

use async_graphql::{Context, Enum, ID, InputObject, Lookahead, MaybeUndefined, Object};

use super::{ContextExt, DateTime, ids, paging, plain, text};
use crate::{
    error::AppError,
    store::todos::{self, Columns, NewTodo, TodoChanges},
};

pub(crate) use bulk::TodoBulkMutation;
#[cfg(test)]
pub(crate) use plan::tests as plan_tests;

const TITLE_MAX: usize = 500;
const NOTES_MAX: usize = 10_000;

/// A todo, seen by its owner: the schema's `Todo` over the store's row.
#[derive(Clone)]
pub(crate) struct TodoObject(pub(crate) todos::Todo);

/// Something to do.
#[Object(name = "Todo")]
impl TodoObject {
    /// Opaque global id.
    pub(crate) async fn id(&self) -> ID {
        self.global_id()
    }
    /// Trimmed, 1 to 500 characters.
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// Free text, at most 10,000 characters.
    async fn notes(&self) -> Option<&str> {
        self.0.notes.as_deref()
    }
    /// Whether it is done.
    async fn completed(&self) -> bool {
        self.0.completed
    }
    /// When it was marked completed; null while open.
    async fn completed_at(&self) -> Option<DateTime> {
        self.0.completed_at().map(Into::into)
    }
    /// How urgent it is.
    async fn priority(&self) -> Priority {
        self.0.priority().into()
    }
    /// When it is due, if ever.
    async fn due_at(&self) -> Option<DateTime> {
        self.0.due_at().map(Into::into)
    }
    /// When it was created.
    async fn created_at(&self) -> DateTime {
        self.0.created_at().into()
    }
    /// When it last changed.
    async fn updated_at(&self) -> DateTime {
        self.0.updated_at().into()
    }
    /// Starts at 1 and grows by 1 with every change; pass it as `expectedVersion` to
    /// `updateTodo` to refuse lost updates.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// The `clientId` it was created with, if any (lower-case, hyphenated UUID).
    async fn client_id(&self) -> Option<&str> {
        self.0.client_id()
    }
}

impl TodoObject {
    fn global_id(&self) -> ID {
        ids::encode(ids::Kind::Todo, &self.0.id)
    }
}

/// The columns that the fields selected on `Todo` in `selections` read; a read fetches
/// only these. Fragments count; `@skip`/`@include` are not evaluated, so a field they may
/// drop is still fetched, never the other way round.
pub(crate) fn selected_columns(selections: &[Lookahead<'_>]) -> Columns {
    let wants = |name: &str| selections.iter().any(|s| s.field(name).exists());
    Columns {
        title: wants("title"),
        notes: wants("notes"),
        completed: wants("completed"),
        completed_at: wants("completedAt"),
        priority: wants("priority"),
        due_at: wants("dueAt"),
        version: wants("version"),
        created_at: wants("createdAt"),
        updated_at: wants("updatedAt"),
        client_id: wants("clientId"),
    }
}

/// How urgent a todo is; stored as 0 to 3 so that sorting by it means something.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Priority {
    /// No priority (the default).
    None,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
}

impl Priority {
    /// The value's name in the schema, as the `Enum` derive spells it.
    pub(crate) fn name(self) -> &'static str {
        use async_graphql::resolver_utils::EnumType as _;
        Self::items()
            .iter()
            .find(|item| item.value == self)
            .map_or("", |item| item.name)
    }
}

impl From<Priority> for todos::Priority {
    fn from(priority: Priority) -> Self {
        match priority {
            Priority::None => Self::None,
            Priority::Low => Self::Low,
            Priority::Medium => Self::Medium,
            Priority::High => Self::High,
        }
    }
}

impl From<todos::Priority> for Priority {
    fn from(priority: todos::Priority) -> Self {
        match priority {
            todos::Priority::None => Self::None,
            todos::Priority::Low => Self::Low,
            todos::Priority::Medium => Self::Medium,
            todos::Priority::High => Self::High,
        }
    }
}

/// A new todo.
#[derive(InputObject)]
pub(crate) struct CreateTodoInput {
    /// Trimmed; 1 to 500 characters.
    title: String,
    /// At most 10,000 characters.
    notes: Option<String>,
    /// Defaults to NONE.
    priority: Option<Priority>,
    /// When it is due.
    due_at: Option<DateTime>,
    /// Defaults to false.
    completed: Option<bool>,
    /// A UUID the client made for this todo, unique among the viewer's todos, that makes
    /// the create safe to retry (offline replay, a lost answer): a create with a clientId
    /// the viewer already used creates nothing and returns the todo the first one made, as
    /// it is now; with other fields (compared after trimming the title) it is
    /// `BAD_USER_INPUT` with `reason: CLIENT_ID_REUSED`; when that todo has since been
    /// deleted it is `NOT_FOUND`. Any UUID spelling is accepted and stored lower-case and
    /// hyphenated. Other users' clientIds are invisible.
    client_id: Option<String>,
}

/// A partial update: a field left out is unchanged; an explicit null clears `notes` or
/// `dueAt`, and is `BAD_USER_INPUT` for `title`, `priority` and `completed`.
#[derive(InputObject)]
pub(crate) struct UpdateTodoInput {
    /// Trimmed; 1 to 500 characters.
    title: MaybeUndefined<String>,
    /// At most 10,000 characters; null clears.
    notes: MaybeUndefined<String>,
    /// New priority.
    priority: MaybeUndefined<Priority>,
    /// New due date; null clears.
    due_at: MaybeUndefined<DateTime>,
    /// Completing sets `completedAt`; reopening clears it.
    completed: MaybeUndefined<bool>,
}

/// Todo queries.
#[derive(Default)]
pub(crate) struct TodoQuery;

#[Object]
impl TodoQuery {
    /// One of the viewer's todos; null when it does not exist or is not the viewer's.
    async fn todo(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Result<Option<plain::One<TodoObject>>, AppError> {
        let viewer = ctx.viewer()?;
        let Some(raw) = ids::decode_todo(&id, "id")? else {
            return Ok(None);
        };
        let mut conn = ctx.conn().await?;
        let columns = selected_columns(&[ctx.look_ahead()]);
        Ok(todos::get(&mut conn, viewer.user_id(), &raw, columns)
            .await?
            .map(|todo| plain::One(TodoObject(todo))))
    }

    /// The viewer's todos, a Relay connection with keyset cursors. `first`/`last` default
    /// to 20 and may not exceed 100; cursors are valid only with the same `filter` and
    /// `orderBy`.
    #[expect(clippy::too_many_arguments, reason = "the Relay connection arguments")]
    #[graphql(complexity = "paging::cost(first, last, child_complexity)")]
    async fn todos(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<paging::TodoFilter>,
        order_by: Option<paging::TodoOrder>,
    ) -> Result<paging::TodoConnection, AppError> {
        let viewer = ctx.viewer()?;
        let args = paging::Args {
            first,
            after,
            last,
            before,
            filter,
            order_by,
        };
        let look = ctx.look_ahead();
        let columns = selected_columns(&[look.field("nodes"), look.field("edges").field("node")]);
        let mut conn = ctx.conn().await?;
        paging::TodoConnection::load(&mut conn, viewer.user_id().clone(), args, columns).await
    }
}

/// Todo mutations.
#[derive(Default)]
pub(crate) struct TodoMutation;

#[Object]
impl TodoMutation {
    /// Creates a todo for the viewer. `QUOTA_EXCEEDED` (with `limit`) when they already
    /// hold the most todos an account may. With `clientId`, a retry is safe: see
    /// `CreateTodoInput.clientId`.
    async fn create_todo(
        &self,
        ctx: &Context<'_>,
        input: CreateTodoInput,
    ) -> Result<TodoObject, AppError> {
        let viewer = ctx.writer()?;
        let new = NewTodo {
            title: check_title(&input.title)?,
            notes: check_notes(input.notes)?,
            priority: input.priority.map(Into::into).unwrap_or_default(),
            due_at: input.due_at.map(|d| d.0),
            completed: input.completed.unwrap_or(false),
            client_id: input
                .client_id
                .as_deref()
                .map(check_client_id)
                .transpose()?,
        };
        let state = ctx.state()?;
        let mut conn = ctx.conn().await?;
        let (todo, seq) = todos::create(&mut conn, viewer.user_id(), new, state.max_todos).await?;
        advanced(state, viewer, seq);
        Ok(TodoObject(todo))
    }

    /// Changes the fields given. With `expectedVersion`, a todo changed since is `CONFLICT`
    /// (with `currentVersion`) and nothing is written. `NOT_FOUND` when the todo does not
    /// exist or is not the viewer's.
    async fn update_todo(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateTodoInput,
        expected_version: Option<i32>,
    ) -> Result<TodoObject, AppError> {
        let viewer = ctx.writer()?;
        let changes = TodoChanges {
            title: required(input.title, "input.title")?
                .map(|t| check_title(&t))
                .transpose()?,
            notes: nullable(input.notes).map(check_notes).transpose()?,
            priority: required(input.priority, "input.priority")?.map(Into::into),
            due_at: nullable(input.due_at).map(|d| d.map(|d| d.0)),
            completed: required(input.completed, "input.completed")?,
        };
        let raw = ids::decode_todo(&id, "id")?.ok_or(AppError::NotFound)?;
        let mut conn = ctx.conn().await?;
        let (todo, seq) = todos::update(
            &mut conn,
            viewer.user_id(),
            &raw,
            &changes,
            expected_version,
        )
        .await?;
        advanced(ctx.state()?, viewer, seq);
        Ok(TodoObject(todo))
    }

    /// Deletes a todo and returns its id. `NOT_FOUND` when it does not exist or is not the
    /// viewer's.
    async fn delete_todo(&self, ctx: &Context<'_>, id: ID) -> Result<ID, AppError> {
        let viewer = ctx.writer()?;
        let raw = ids::decode_todo(&id, "id")?.ok_or(AppError::NotFound)?;
        let mut conn = ctx.conn().await?;
        let seq = todos::delete(&mut conn, viewer.user_id(), &raw)
            .await?
            .ok_or(AppError::NotFound)?;
        advanced(ctx.state()?, viewer, Some(seq));
        Ok(ids::encode(ids::Kind::Todo, &raw))
    }
}

/// Tells this process's followers of the viewer's account that a write took change `seq`
/// (other replicas hear of it through the write's own notification).
pub(super) fn advanced(state: &super::AppState, viewer: &crate::auth::Viewer, seq: Option<i64>) {
    if let Some(seq) = seq {
        state.feed.advanced(viewer.user_id(), seq);
    }
}

/// A field that may be left out but not set to null.
fn required<T>(value: MaybeUndefined<T>, field: &str) -> Result<Option<T>, AppError> {
    match value {
        MaybeUndefined::Undefined => Ok(None),
        MaybeUndefined::Null => Err(AppError::bad_input(
            field,
            format!("{field} cannot be null"),
        )),
        MaybeUndefined::Value(v) => Ok(Some(v)),
    }
}

/// A field that may be left out (`None`) or cleared (`Some(None)`).
fn nullable<T>(value: MaybeUndefined<T>) -> Option<Option<T>> {
    match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(Some(v)),
    }
}

fn check_title(raw: &str) -> Result<String, AppError> {
    let title = raw.trim();
    text::line(title, "input.title")?;
    let length = title.chars().count();
    if length == 0 {
        return Err(AppError::bad_input("input.title", "title cannot be empty"));
    }
    if length > TITLE_MAX {
        return Err(AppError::bad_input(
            "input.title",
            format!("title must be at most {TITLE_MAX} characters"),
        ));
    }
    Ok(title.to_owned())
}

/// A client id: any spelling of a UUID, kept in its canonical form.
fn check_client_id(raw: &str) -> Result<String, AppError> {
    uuid::Uuid::try_parse(raw)
        .map(|uuid| uuid.hyphenated().to_string())
        .map_err(|_| AppError::bad_input("input.clientId", "clientId must be a UUID"))
}

fn check_notes(notes: Option<String>) -> Result<Option<String>, AppError> {
    if let Some(notes) = &notes {
        text::multiline(notes, "input.notes")?;
    }
    if notes
        .as_deref()
        .is_some_and(|n| n.chars().count() > NOTES_MAX)
    {
        return Err(AppError::bad_input(
            "input.notes",
            format!("notes must be at most {NOTES_MAX} characters"),
        ));
    }
    Ok(notes)
}
