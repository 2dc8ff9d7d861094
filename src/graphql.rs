//! The GraphQL schema: roots merged from one file per domain, and the context helpers
//! every resolver uses to learn who is asking and to reach the database.

mod account;
mod events;
mod ids;
mod limits;
mod node;
mod paging;
mod plain;
mod scalars;
mod session_cookie;
mod sessions;
pub(crate) mod sync;
mod text;
mod todos;
mod users;

use async_graphql::{Context, MergedObject, MergedSubscription, Schema, ValidationMode};

use crate::{auth::Viewer, db::DbConn, error::AppError, error::AuthFailure};

pub use limits::{Inspection, Limits, Vetted};
pub use scalars::DateTime;

/// The schema type served at `/graphql`.
pub type TodoSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// Every query, merged from the domains.
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct QueryRoot(
    users::UserQuery,
    node::NodeQuery,
    todos::TodoQuery,
    sync::SyncQuery,
);

/// Every mutation, merged from the domains.
#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct MutationRoot(
    account::AccountMutation,
    todos::TodoMutation,
    todos::TodoBulkMutation,
    sessions::SessionMutation,
);

/// Every subscription, merged from the domains.
#[derive(MergedSubscription, Default)]
#[graphql(name = "Subscription")]
pub struct SubscriptionRoot(events::TodoSubscription);

/// What resolvers share: the pool, the account workflows and the limits on writing.
#[derive(Clone)]
pub struct AppState {
    /// The database pool.
    pub(crate) db: crate::db::DbPool,
    /// Signup, login, sessions and the account's lifecycle.
    pub(crate) accounts: crate::accounts::Accounts,
    /// The most todos one account may hold.
    pub(crate) max_todos: u32,
    /// Todo writes per account.
    pub(crate) writes: std::sync::Arc<crate::write_limit::WriteLimit>,
    /// Where todo writes report the owner's new change-log head.
    pub(crate) feed: crate::feed::ChangeFeed,
    /// The keys that seal and open sync cursors.
    pub(crate) cursor_keys: sync::cursor::CursorKeys,
}

/// How the schema guards itself.
#[derive(Debug, Clone, Copy)]
pub struct SchemaOptions {
    /// The largest query cost.
    pub max_complexity: usize,
    /// Production: no introspection and no field suggestions.
    pub production: bool,
}

/// The schema, built twice over the same state: once validating every request in full, and
/// once checking only what can change between two runs of one document (its cost, which
/// variables may set, and fragment cycles), for documents already known to pass the full
/// validation whatever they are sent with (see `documents::Validity`). The full rules are
/// a sixth of a small query's CPU.
#[derive(Clone)]
pub struct Schemas {
    /// Every rule of the GraphQL specification, on every request.
    pub full: TodoSchema,
    /// The cost and cycle checks only.
    pub known_valid: TodoSchema,
}

/// Builds the schemas over `state`, guarded by `guards`. (The document limits are checked
/// before execution, once per distinct document: see [`Limits::vet`].)
pub fn build(state: AppState, guards: SchemaOptions) -> Schemas {
    let schema = |mode| {
        let mut builder = Schema::build(
            QueryRoot::default(),
            MutationRoot::default(),
            SubscriptionRoot::default(),
        )
        .data(state.clone())
        .validation_mode(mode)
        .limit_complexity(guards.max_complexity)
        // The document checks bound nesting before execution (brackets at 64); this bound
        // only keeps the engine's own recursion in check.
        .limit_recursive_depth(64);
        if guards.production {
            builder = builder.disable_introspection().disable_suggestions();
        }
        builder.finish()
    };
    Schemas {
        full: schema(ValidationMode::Strict),
        known_valid: schema(ValidationMode::Fast),
    }
}

/// The schema's SDL, as committed in `schema.graphql`.
pub fn sdl() -> String {
    Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot::default(),
    )
    .finish()
    .sdl()
}

/// What resolvers ask of their context.
pub(crate) trait ContextExt {
    /// The authenticated viewer, or `UNAUTHENTICATED`.
    fn viewer(&self) -> Result<&Viewer, AppError>;
    /// The viewer, after counting one todo write against their `WRITE_RATE_LIMIT`.
    fn writer(&self) -> Result<&Viewer, AppError>;
    /// The shared state.
    fn state(&self) -> Result<&AppState, AppError>;
    /// A pooled database connection.
    async fn conn(&self) -> Result<DbConn, AppError>;
}

impl ContextExt for Context<'_> {
    fn viewer(&self) -> Result<&Viewer, AppError> {
        self.data_opt::<Viewer>()
            .ok_or(AppError::Unauthenticated(AuthFailure::Missing))
    }

    fn writer(&self) -> Result<&Viewer, AppError> {
        let viewer = self.viewer()?;
        self.state()?.writes.check(viewer.user_id())?;
        Ok(viewer)
    }

    fn state(&self) -> Result<&AppState, AppError> {
        self.data::<AppState>().map_err(|e| {
            AppError::Internal(anyhow::anyhow!("schema built without state: {}", e.message))
        })
    }

    async fn conn(&self) -> Result<DbConn, AppError> {
        self.state()?.db.get().await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn committed_schema_matches_the_code() {
        let committed = include_str!("../schema.graphql");
        assert!(
            committed == super::sdl(),
            "schema.graphql is stale: run `cargo run -- print-schema > schema.graphql`"
        );
    }
}
