//! Watches each GraphQL request: its operation name (from the parsed document) goes into
//! the request's log span and the metrics, with its outcome and latency; signup and login
//! outcomes are counted too.

use std::{
    sync::{Arc, Mutex},
    time::Instant,
};

use async_graphql::{
    Response, ServerResult, Value, Variables,
    extensions::{
        Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextRequest, NextResolve,
        ResolveInfo,
    },
    parser::types::ExecutableDocument,
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
    operation: Mutex<Option<String>>,
}

#[async_graphql::async_trait::async_trait]
impl Extension for Observer {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let started = Instant::now();
        let response = next.run(ctx).await;
        let operation = self
            .operation
            .lock()
            .ok()
            .and_then(|op| op.clone())
            .unwrap_or_else(|| crate::metrics::UNKNOWN_OPERATION.to_owned());
        let outcome = response.errors.first().map_or("OK", code_of);
        self.metrics
            .observe_request(&operation, outcome, started.elapsed().as_secs_f64());
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
        let name = document
            .operations
            .iter()
            .find(|(name, _)| requested.is_none() || name.map(|n| n.as_str()) == requested)
            .and_then(|(name, _)| name.map(|n| n.to_string()));
        let label = self.metrics.operation_label(name.as_deref());
        tracing::Span::current().record("operation", label.as_str());
        if let Ok(mut operation) = self.operation.lock() {
            *operation = Some(label);
        }
        Ok(document)
    }

    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        let field = info.name;
        let auth = info.path_node.parent.is_none() && matches!(field, "signup" | "login");
        let result = next.run(ctx, info).await;
        if auth {
            let outcome = result.as_ref().err().map_or("OK", code_of);
            self.metrics.observe_auth(field, outcome);
        }
        result
    }
}

/// The `operationName` a request asked for, placed in its data by the HTTP layer.
pub struct OperationName(pub Option<String>);
