//! Watches each GraphQL request: its operation name (from the parsed document) goes into
//! the request's log span and the metrics, with its outcome and latency; signup and login
//! outcomes are counted too. There is deliberately no per-field hook: it would cost every
//! field of every list an extra boxed future.

use std::{
    sync::{Arc, Mutex},
    time::Instant,
};

use async_graphql::{
    Response, ServerResult, Variables,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextRequest},
    parser::types::{ExecutableDocument, Selection},
};

use crate::{error::code_of, metrics::Metrics};

/// The extension factory: one [`Observer`] per request.
pub struct Observe(pub Arc<Metrics>);

impl ExtensionFactory for Observe {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Observer {
            metrics: Arc::clone(&self.0),
            operation: Mutex::new(None),
        })
    }
}

struct Observer {
    metrics: Arc<Metrics>,
    operation: Mutex<Option<Operation>>,
}

/// What the parsed document says about the operation that will run.
#[derive(Clone)]
struct Operation {
    /// Its metrics label.
    label: String,
    /// `signup` or `login` when it is one (at most one per document).
    auth: Option<&'static str>,
}

#[async_graphql::async_trait::async_trait]
impl Extension for Observer {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let started = Instant::now();
        let response = next.run(ctx).await;
        let operation = self.operation.lock().ok().and_then(|op| op.clone());
        let label = operation
            .as_ref()
            .map_or(crate::metrics::UNKNOWN_OPERATION, |op| op.label.as_str());
        let outcome = response.errors.first().map_or("OK", code_of);
        self.metrics
            .observe_request(label, outcome, started.elapsed().as_secs_f64());
        if let Some(mutation) = operation.and_then(|op| op.auth) {
            self.metrics.observe_auth(mutation, outcome);
        }
        response
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        let requested = ctx.data_opt::<OperationName>().and_then(|n| n.0.as_deref());
        let selected = document
            .operations
            .iter()
            .find(|(name, _)| requested.is_none() || name.map(|n| n.as_str()) == requested);
        let name = selected.and_then(|(name, _)| name.map(|n| n.to_string()));
        let auth = selected.and_then(|(_, operation)| {
            operation
                .node
                .selection_set
                .node
                .items
                .iter()
                .find_map(|item| match &item.node {
                    Selection::Field(field) => match field.node.name.node.as_str() {
                        "signup" => Some("signup"),
                        "login" => Some("login"),
                        _ => None,
                    },
                    _ => None,
                })
        });
        let label = self.metrics.operation_label(name.as_deref());
        tracing::Span::current().record("operation", label.as_str());
        if let Ok(mut operation) = self.operation.lock() {
            *operation = Some(Operation { label, auth });
        }
        Ok(document)
    }
}

/// The `operationName` a request asked for, placed in its data by the HTTP layer.
pub struct OperationName(pub Option<String>);
