//! Limits on the GraphQL document, checked by the HTTP layer before GraphQL runs:
//! size in bytes and tokens, aliases, selections and directives (over the whole document
//! as written, `__typename` included), depth (fragments inlined, introspection excepted),
//! and at most one auth mutation per document, so one request is one password guess.
//!
//! Complexity is async-graphql's own limit, with connection costs set on the fields. These
//! checks are not an async-graphql extension on purpose: any extension adds a layer to
//! every field's resolution, and a page of todos has a few hundred fields.

use std::collections::HashMap;

use async_graphql::{
    Name, Request, ServerError, ServerResult,
    parser::types::{
        ExecutableDocument, FragmentDefinition, OperationType, Selection, SelectionSet,
    },
};

/// Mutations that check a password or a refresh token: one per document.
const AUTH_MUTATIONS: [&str; 3] = ["signup", "login", "refreshSession"];

/// The configured limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Deepest nesting.
    pub depth: usize,
    /// Most aliases.
    pub aliases: usize,
    /// Most field selections.
    pub selections: usize,
    /// Most directives.
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
    /// `signup` or `login` when it is one (at most one per document).
    pub auth: Option<&'static str>,
}

/// The result of [`Limits::inspect`].
pub struct Inspection {
    /// The operation, when the document parsed.
    pub operation: Option<Operation>,
    /// Why the request must not run, if it must not.
    pub refusal: Option<ServerError>,
}

impl Limits {
    /// Checks a request's document against the limits and learns its operation. The
    /// parsed document stays in the request, so async-graphql does not parse it again.
    pub fn inspect(&self, request: &mut Request) -> Inspection {
        let refused = |error| Inspection {
            operation: None,
            refusal: Some(error),
        };
        if request.query.len() > self.bytes {
            return refused(refusal(
                "DOCUMENT_TOO_LARGE",
                format!("the query is larger than {} bytes", self.bytes),
            ));
        }
        if count_tokens(&request.query, self.tokens) > self.tokens {
            return refused(refusal(
                "TOO_MANY_TOKENS",
                format!("the query has more than {} tokens", self.tokens),
            ));
        }
        let wanted = request.operation_name.clone();
        let document = match request.parsed_query() {
            Ok(document) => document,
            Err(error) => return refused(error),
        };
        let operation = operation(document, wanted.as_deref());
        Inspection {
            operation,
            refusal: self.check(document).err(),
        }
    }
}

/// The operation `wanted` (or the only one) of a document.
fn operation(document: &ExecutableDocument, wanted: Option<&str>) -> Option<Operation> {
    let (name, definition) = document
        .operations
        .iter()
        .find(|(name, _)| wanted.is_none() || name.map(|n| n.as_str()) == wanted)?;
    let auth = definition
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
        });
    Some(Operation {
        name: name.map(|n| n.to_string()),
        writes: definition.node.ty != OperationType::Query,
        auth,
    })
}

impl Limits {
    fn check(&self, document: &ExecutableDocument) -> ServerResult<()> {
        let mut counts = Counts::default();
        for (_, operation) in document.operations.iter() {
            counts.directives += operation.node.directives.len();
            count_set(&operation.node.selection_set.node, &mut counts);
        }
        for fragment in document.fragments.values() {
            counts.directives += fragment.node.directives.len();
            count_set(&fragment.node.selection_set.node, &mut counts);
        }
        let over = |what: &str, reason: &str, n: usize, max: usize| {
            (n > max).then(|| {
                refusal(
                    reason,
                    format!("the query has {n} {what}; at most {max} are allowed"),
                )
            })
        };
        let refused = over("aliases", "TOO_MANY_ALIASES", counts.aliases, self.aliases)
            .or_else(|| {
                over(
                    "field selections",
                    "TOO_MANY_SELECTIONS",
                    counts.selections,
                    self.selections,
                )
            })
            .or_else(|| {
                over(
                    "directives",
                    "TOO_MANY_DIRECTIVES",
                    counts.directives,
                    self.directives,
                )
            })
            .or_else(|| {
                over(
                    "auth mutations (signup, login, refreshSession)",
                    "TOO_MANY_AUTH_OPERATIONS",
                    counts.auth,
                    1,
                )
            });
        if let Some(error) = refused {
            return Err(error);
        }
        if !self.introspection && counts.introspection > 0 {
            return Err(refusal(
                "INTROSPECTION_DISABLED",
                "introspection is disabled on this server".to_owned(),
            ));
        }
        for (_, operation) in document.operations.iter() {
            let depth = depth(
                &operation.node.selection_set.node,
                &document.fragments,
                0,
                self.depth,
            );
            if depth > self.depth {
                return Err(refusal(
                    "QUERY_TOO_DEEP",
                    format!("the query is nested deeper than {} levels", self.depth),
                ));
            }
        }
        Ok(())
    }
}

#[derive(Default)]
struct Counts {
    aliases: usize,
    selections: usize,
    directives: usize,
    auth: usize,
    introspection: usize,
}

/// Counts one selection set as written (fragment spreads are counted where defined).
fn count_set(set: &SelectionSet, counts: &mut Counts) {
    for selection in &set.items {
        match &selection.node {
            Selection::Field(field) => {
                let field = &field.node;
                counts.selections += 1;
                counts.aliases += usize::from(field.alias.is_some());
                counts.directives += field.directives.len();
                let name = field.name.node.as_str();
                counts.auth += usize::from(AUTH_MUTATIONS.contains(&name));
                counts.introspection += usize::from(matches!(name, "__schema" | "__type"));
                count_set(&field.selection_set.node, counts);
            }
            Selection::FragmentSpread(spread) => counts.directives += spread.node.directives.len(),
            Selection::InlineFragment(inline) => {
                counts.directives += inline.node.directives.len();
                count_set(&inline.node.selection_set.node, counts);
            }
        }
    }
}

/// The depth of a selection set with fragments inlined; stops descending past `max`, so
/// fragment cycles (refused later by validation) cannot loop here.
fn depth(
    set: &SelectionSet,
    fragments: &HashMap<Name, async_graphql::Positioned<FragmentDefinition>>,
    at: usize,
    max: usize,
) -> usize {
    if at > max {
        return at;
    }
    let mut deepest = at;
    for selection in &set.items {
        let below = match &selection.node {
            Selection::Field(field) => {
                let name = field.node.name.node.as_str();
                if name == "__schema"
                    || name == "__type"
                    || field.node.selection_set.node.items.is_empty()
                {
                    at + 1
                } else {
                    depth(&field.node.selection_set.node, fragments, at + 1, max)
                }
            }
            Selection::FragmentSpread(spread) => fragments
                .get(&spread.node.fragment_name.node)
                .map_or(at, |f| {
                    depth(&f.node.selection_set.node, fragments, at, max)
                }),
            Selection::InlineFragment(inline) => {
                depth(&inline.node.selection_set.node, fragments, at, max)
            }
        };
        deepest = deepest.max(below);
    }
    deepest
}

fn refusal(reason: &str, message: String) -> ServerError {
    let mut error = ServerError::new(message, None);
    let ext = error.extensions.get_or_insert_with(Default::default);
    ext.set("code", "BAD_USER_INPUT");
    ext.set("field", "query");
    ext.set("reason", reason);
    error
}

/// Counts GraphQL lexical tokens (names, numbers, strings, punctuators), stopping once past
/// `stop_after` so a huge document costs no more than the limit.
fn count_tokens(query: &str, stop_after: usize) -> usize {
    let bytes = query.as_bytes();
    let (mut i, mut n) = (0, 0);
    while i < bytes.len() && n <= stop_after {
        match bytes[i] {
            b' ' | b'\t' | b'\n' | b'\r' | b',' => i += 1,
            0xEF if bytes[i..].starts_with("\u{feff}".as_bytes()) => i += 3,
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                n += 1;
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    i += if bytes[i..].starts_with(b"\\\"\"\"") {
                        4
                    } else {
                        1
                    };
                }
                i += 3;
            }
            b'"' => {
                n += 1;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'.' if bytes[i..].starts_with(b"...") => {
                n += 1;
                i += 3;
            }
            c if c.is_ascii_alphanumeric() || c == b'_' || c == b'-' => {
                n += 1;
                i += 1;
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric()
                        || matches!(bytes[i], b'_' | b'.' | b'+' | b'-'))
                {
                    i += 1;
                }
            }
            _ => {
                n += 1;
                i += 1;
            }
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        depth: 3,
        aliases: 2,
        selections: 6,
        directives: 1,
        bytes: 1000,
        tokens: 100,
        introspection: false,
    };

    fn reason(query: &str) -> Option<String> {
        let document = async_graphql::parser::parse_query(query).ok()?;
        let error = LIMITS.check(&document).err()?;
        let ext = error.extensions?;
        Some(ext.get("reason")?.to_string().trim_matches('"').to_owned())
    }

    #[test]
    fn the_selected_operation_is_named_and_classified() {
        let mut request =
            Request::new("query A { me { id } } mutation B { login { x } }").operation_name("B");
        let inspection = LIMITS.inspect(&mut request);
        let operation = inspection.operation.unwrap_or_default();
        assert_eq!(operation.name.as_deref(), Some("B"));
        assert!(operation.writes);
        assert_eq!(operation.auth, Some("login"));
        let mut anonymous = Request::new("{ me { id } }");
        let operation = LIMITS.inspect(&mut anonymous).operation.unwrap_or_default();
        assert!(operation.name.is_none() && !operation.writes);
        let mut broken = Request::new("{ me {");
        let inspection = LIMITS.inspect(&mut broken);
        assert!(inspection.operation.is_none() && inspection.refusal.is_some());
    }

    #[test]
    fn tokens_are_counted_like_a_lexer_would() {
        assert_eq!(count_tokens("{ a(x: \"s, t\") { b } }", 100), 11);
        assert_eq!(count_tokens("# comment\n{ ...F }", 100), 4);
        assert_eq!(count_tokens("{ a(n: -1.5e3) }", 100), 8);
    }

    #[test]
    fn each_limit_names_its_reason() {
        assert_eq!(reason("{ a b c }"), None);
        assert_eq!(
            reason("{ x: a y: b z: c }").as_deref(),
            Some("TOO_MANY_ALIASES")
        );
        assert_eq!(
            reason("{ a b c d e f g }").as_deref(),
            Some("TOO_MANY_SELECTIONS")
        );
        assert_eq!(
            reason("{ a @skip(if: true) b @skip(if: true) }").as_deref(),
            Some("TOO_MANY_DIRECTIVES")
        );
        assert_eq!(
            reason("{ a { b { c { d } } } }").as_deref(),
            Some("QUERY_TOO_DEEP")
        );
        assert_eq!(
            reason("mutation { login signup }").as_deref(),
            Some("TOO_MANY_AUTH_OPERATIONS")
        );
    }

    #[test]
    fn fragments_count_toward_depth_and_cycles_end() {
        assert_eq!(
            reason("{ a { ...F } } fragment F on T { b { c { d } } }").as_deref(),
            Some("QUERY_TOO_DEEP")
        );
        assert_eq!(
            reason("{ a { ...F } } fragment F on T { b { ...F } }").as_deref(),
            Some("QUERY_TOO_DEEP")
        );
    }

    #[test]
    fn introspection_is_not_held_to_the_depth_limit() {
        let open = Limits {
            introspection: true,
            ..LIMITS
        };
        let deep = "{ __schema { types { fields { type { name } } } } }";
        let document = async_graphql::parser::parse_query(deep).unwrap_or_else(|e| panic!("{e}"));
        assert!(open.check(&document).is_ok());
        assert_eq!(
            reason("{ __type(name: \"Todo\") { name } }").as_deref(),
            Some("INTROSPECTION_DISABLED")
        );
    }
}
