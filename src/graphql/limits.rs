//! Limits on the GraphQL document, checked before GraphQL runs (once per distinct document:
//! the document cache keeps the outcome), in an order where each check bounds the work of
//! the next:
//!
//! 1. size in bytes, then a scan (no parsing) for tokens and bracket nesting, since the
//!    parser recurses once per bracket;
//! 2. the parse, once (the document cache keeps it and hands async-graphql a copy);
//! 3. unknown fragments and fragment cycles, before anything follows a spread;
//! 4. aliases, selections and directives as written, `__typename` included; fields with
//!    fragments inlined (measured per fragment, never by inlining: see `shape`); depth,
//!    with `__schema`/`__type` subtrees held to their own larger bound and no more than two
//!    nested type lists; at most one password- or token-checking mutation per document.
//!
//! Complexity is async-graphql's own limit, with connection costs set on the fields; its
//! walk inlines fragments, which step 4 has bounded. These checks are not an async-graphql
//! extension on purpose: any extension adds a layer to every field's resolution, and a page
//! of todos has a few hundred fields.

mod lexer;
mod shape;

#[cfg(test)]
mod proptests;

use std::collections::HashSet;

#[cfg(test)]
use async_graphql::Request;
use async_graphql::{
    ServerError,
    parser::types::{ExecutableDocument, OperationType, Selection, SelectionSet},
};

use crate::error::AppError;

/// Mutations that check a password or a refresh token: one per document, so one request
/// is one guess.
const AUTH_MUTATIONS: [&str; 5] = [
    "signup",
    "login",
    "refreshSession",
    "changePassword",
    "deleteAccount",
];

/// The deepest bracket nesting (`{`, `[`, `(`) the parser is given: well below what its
/// recursion can take on a worker's stack, and above every depth limit the settings allow.
pub const MAX_NESTING: usize = 64;

/// The most nested introspection type lists (`fields`, `interfaces`, `possibleTypes`,
/// `inputFields`): every introspection query of GraphiQL and the code generators nests two.
const MAX_TYPE_LISTS: usize = 2;

/// The configured limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Deepest nesting outside introspection.
    pub depth: usize,
    /// Deepest nesting inside `__schema` and `__type`, counted from the root.
    pub introspection_depth: usize,
    /// Most aliases, as written.
    pub aliases: usize,
    /// Most field selections, as written.
    pub selections: usize,
    /// Most field selections with fragments inlined, over all operations.
    pub fields: usize,
    /// Most directives, as written.
    pub directives: usize,
    /// Largest document in bytes.
    pub bytes: usize,
    /// Most lexical tokens.
    pub tokens: usize,
    /// Whether `__schema` and `__type` may be asked for.
    pub introspection: bool,
}

/// What a request's document says about the operation that would run.
#[derive(Debug, Clone, Default)]
pub struct Operation {
    /// Its name, if it has one.
    pub name: Option<String>,
    /// Whether it is a mutation or subscription (refused over GET).
    pub writes: bool,
    /// Whether it is a subscription (a stream of answers).
    pub subscription: bool,
    /// The auth mutation it runs, if any (at most one per document).
    pub auth: Option<&'static str>,
}

/// What a request's document is, for the request's `operationName`: see [`Vetted::inspect`].
pub struct Inspection {
    /// The operation, when the document parsed.
    pub operation: Option<Operation>,
    /// Why the request must not run, if it must not.
    pub refusal: Option<ServerError>,
    /// Whether the document is known to pass async-graphql's full validation, when that
    /// cannot depend on what it is sent with.
    pub validity: Option<crate::documents::Validity>,
}

fn refusal(reason: &'static str, message: String) -> ServerError {
    AppError::QueryRefused { reason, message }.to_server_error("-")
}

/// A document checked once, as the document cache keeps it: parsed when it parses, and
/// refused when a limit (or the parse) refuses it.
#[derive(Debug)]
pub struct Vetted {
    /// The parsed document; `None` when it did not parse or a pre-parse limit refused it.
    pub document: Option<ExecutableDocument>,
    /// Why the document must not run, if it must not.
    pub refusal: Option<ServerError>,
}

impl Vetted {
    /// What the document says about the operation `wanted` (or its only one), and the
    /// refusal: the part of a check that depends on the request's `operationName`.
    pub fn inspect(&self, wanted: Option<&str>) -> Inspection {
        Inspection {
            operation: self
                .document
                .as_ref()
                .and_then(|document| operation(document, wanted)),
            refusal: self.refusal.clone(),
            validity: None,
        }
    }
}

impl Limits {
    /// Refuses a document over the size limit: the one check cheaper than hashing it.
    pub fn check_size(&self, query: &str) -> Result<(), ServerError> {
        if query.len() > self.bytes {
            return Err(refusal(
                "DOCUMENT_TOO_LARGE",
                format!("the query is larger than {} bytes", self.bytes),
            ));
        }
        Ok(())
    }

    /// Checks a document's text against every limit, parsing it once when the scan lets
    /// it through.
    pub fn vet(&self, query: &str) -> Vetted {
        let refused = |error| Vetted {
            document: None,
            refusal: Some(error),
        };
        if let Err(error) = self.check_size(query) {
            return refused(error);
        }
        let scan = lexer::scan(query, self.tokens, MAX_NESTING);
        if scan.tokens > self.tokens {
            return refused(refusal(
                "TOO_MANY_TOKENS",
                format!("the query has more than {} tokens", self.tokens),
            ));
        }
        if scan.nesting > MAX_NESTING {
            return refused(refusal(
                "QUERY_TOO_DEEP",
                format!("the query nests brackets deeper than {MAX_NESTING} levels"),
            ));
        }
        match async_graphql::parser::parse_query(query) {
            Ok(document) => Vetted {
                refusal: self.check(&document).err(),
                document: Some(document),
            },
            Err(error) => refused(error.into()),
        }
    }

    /// Checks a request's document, uncached, and leaves the parsed document in the
    /// request: the unit tests' way in.
    #[cfg(test)]
    pub fn inspect(&self, request: &mut Request) -> Inspection {
        let vetted = self.vet(&request.query);
        let inspection = vetted.inspect(request.operation_name.as_deref());
        if let Some(document) = vetted.document {
            request.set_parsed_query(document);
        }
        inspection
    }

    fn check(&self, document: &ExecutableDocument) -> Result<(), ServerError> {
        let measure = shape::measure(document, &AUTH_MUTATIONS).map_err(|broken| match broken {
            shape::Broken::UnknownFragment(name) => refusal(
                "UNKNOWN_FRAGMENT",
                format!("the query spreads fragment {name:?}, which it does not define"),
            ),
            shape::Broken::FragmentCycle(name) => refusal(
                "FRAGMENT_CYCLE",
                format!("fragment {name:?} spreads itself, directly or through others"),
            ),
        })?;
        let written = measure.written;
        let over = |what: &str, reason: &'static str, n: u64, max: usize| {
            (n > max as u64).then(|| {
                refusal(
                    reason,
                    format!("the query has {n} {what}; at most {max} are allowed"),
                )
            })
        };
        let fields = measure
            .operations
            .iter()
            .fold(0_u64, |sum, op| sum.saturating_add(op.fields));
        let auth = measure
            .operations
            .iter()
            .fold(0_u64, |sum, op| sum.saturating_add(op.auth));
        let counted = [
            (
                "aliases",
                "TOO_MANY_ALIASES",
                written.aliases as u64,
                self.aliases,
            ),
            (
                "field selections",
                "TOO_MANY_SELECTIONS",
                written.selections as u64,
                self.selections,
            ),
            (
                "fields once its fragments are inlined",
                "TOO_MANY_SELECTIONS",
                fields,
                self.fields,
            ),
            (
                "directives",
                "TOO_MANY_DIRECTIVES",
                written.directives as u64,
                self.directives,
            ),
            (
                "password- or token-checking mutations (signup, login, refreshSession, \
                 changePassword, deleteAccount)",
                "TOO_MANY_AUTH_OPERATIONS",
                auth,
                1,
            ),
        ];
        if let Some(error) = counted
            .into_iter()
            .find_map(|(what, reason, n, max)| over(what, reason, n, max))
        {
            return Err(error);
        }
        if !self.introspection && written.introspection > 0 {
            return Err(refusal(
                "INTROSPECTION_DISABLED",
                "introspection is disabled on this server".to_owned(),
            ));
        }
        let full_depth = self.introspection_depth.max(self.depth);
        for shape in &measure.operations {
            if shape.depth > self.depth {
                return Err(refusal(
                    "QUERY_TOO_DEEP",
                    format!("the query is nested deeper than {} levels", self.depth),
                ));
            }
            if shape.full_depth > full_depth {
                return Err(refusal(
                    "QUERY_TOO_DEEP",
                    format!("the introspection query is nested deeper than {full_depth} levels"),
                ));
            }
            if shape.type_lists > MAX_TYPE_LISTS {
                return Err(refusal(
                    "QUERY_TOO_DEEP",
                    format!(
                        "the introspection query nests fields, interfaces, possibleTypes or \
                         inputFields more than {MAX_TYPE_LISTS} deep"
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// The operation `wanted` (or the only one) of a document.
fn operation(document: &ExecutableDocument, wanted: Option<&str>) -> Option<Operation> {
    let (name, definition) = document
        .operations
        .iter()
        .find(|(name, _)| wanted.is_none() || name.map(|n| n.as_str()) == wanted)?;
    let mut seen = HashSet::new();
    Some(Operation {
        name: name.map(|n| n.to_string()),
        writes: definition.node.ty != OperationType::Query,
        subscription: definition.node.ty == OperationType::Subscription,
        auth: root_auth(document, &definition.node.selection_set.node, &mut seen),
    })
}

/// The first auth mutation among a root selection's fields, fragments followed once each
/// (so a cycle, refused later, cannot loop here).
fn root_auth<'d>(
    document: &'d ExecutableDocument,
    set: &'d SelectionSet,
    seen: &mut HashSet<&'d str>,
) -> Option<&'static str> {
    set.items.iter().find_map(|item| match &item.node {
        Selection::Field(field) => {
            let name = field.node.name.node.as_str();
            AUTH_MUTATIONS.into_iter().find(|auth| *auth == name)
        }
        Selection::InlineFragment(inline) => {
            root_auth(document, &inline.node.selection_set.node, seen)
        }
        Selection::FragmentSpread(spread) => {
            let name = spread.node.fragment_name.node.as_str();
            let fragment = document.fragments.get(name).filter(|_| seen.insert(name))?;
            root_auth(document, &fragment.node.selection_set.node, seen)
        }
    })
}

#[cfg(test)]
mod tests;
