//! Property tests of the document checks: generated documents with cycles, diamonds and
//! doubling chains of fragments, deep nesting, aliases and directives, and raw token soup.
//! The checks must never panic, must do work linear in the document as written, must
//! refuse every cycle and unknown fragment, and must measure what a naive inliner counts.

use std::collections::HashSet;

use async_graphql::Request;
use proptest::prelude::*;

use super::{Limits, shape};

const NAMES: [&str; 7] = ["a", "b", "__typename", "login", "fields", "__type", "c"];

#[derive(Debug, Clone)]
enum Item {
    Field {
        name: usize,
        alias: bool,
        directive: bool,
        children: Vec<Item>,
    },
    Spread(usize),
    Inline(Vec<Item>),
}

#[derive(Debug, Clone)]
struct Doc {
    fragments: Vec<Vec<Item>>,
    operations: Vec<Vec<Item>>,
}

fn item() -> impl Strategy<Value = Item> {
    let leaf = prop_oneof![
        (0..NAMES.len(), any::<bool>(), any::<bool>()).prop_map(|(name, alias, directive)| {
            Item::Field {
                name,
                alias,
                directive,
                children: vec![],
            }
        }),
        (0..12_usize).prop_map(Item::Spread),
    ];
    leaf.prop_recursive(12, 96, 4, |inner| {
        prop_oneof![
            (
                0..NAMES.len(),
                any::<bool>(),
                any::<bool>(),
                prop::collection::vec(inner.clone(), 1..4)
            )
                .prop_map(|(name, alias, directive, children)| Item::Field {
                    name,
                    alias,
                    directive,
                    children
                }),
            prop::collection::vec(inner, 1..4).prop_map(Item::Inline),
        ]
    })
}

fn doc() -> impl Strategy<Value = Doc> {
    (
        prop::collection::vec(prop::collection::vec(item(), 1..4), 0..10),
        prop::collection::vec(prop::collection::vec(item(), 1..4), 1..3),
    )
        .prop_map(|(fragments, operations)| Doc {
            fragments,
            operations,
        })
}

/// Documents whose fragments spread only later fragments: no cycle, no unknown name, and
/// chains that can double.
fn acyclic_doc() -> impl Strategy<Value = Doc> {
    doc().prop_map(|mut doc| {
        let n = doc.fragments.len();
        for (i, fragment) in doc.fragments.iter_mut().enumerate() {
            retarget(fragment, i + 1, n);
        }
        for operation in &mut doc.operations {
            retarget(operation, 0, n);
        }
        doc
    })
}

/// Points every spread in `items` at a fragment in `from..to`, or makes it a field.
fn retarget(items: &mut [Item], from: usize, to: usize) {
    for item in items {
        match item {
            Item::Field { children, .. } | Item::Inline(children) => retarget(children, from, to),
            Item::Spread(s) if from < to => *s = from + *s % (to - from),
            Item::Spread(_) => {
                *item = Item::Field {
                    name: 0,
                    alias: false,
                    directive: false,
                    children: vec![],
                }
            }
        }
    }
}

impl Doc {
    /// The fragment a spread names, `None` for the unknown one.
    fn target(&self, spread: usize) -> Option<usize> {
        (spread < self.fragments.len()).then_some(spread)
    }

    fn render(&self) -> String {
        let mut out = String::new();
        for (i, operation) in self.operations.iter().enumerate() {
            out.push_str(&format!("query Q{i} "));
            self.render_set(operation, &mut out);
        }
        for (i, fragment) in self.fragments.iter().enumerate() {
            out.push_str(&format!(" fragment F{i} on Query "));
            self.render_set(fragment, &mut out);
        }
        out
    }

    fn render_set(&self, items: &[Item], out: &mut String) {
        out.push_str("{ ");
        for (i, item) in items.iter().enumerate() {
            match item {
                Item::Field {
                    name,
                    alias,
                    directive,
                    children,
                } => {
                    if *alias {
                        out.push_str(&format!("x{i}: "));
                    }
                    out.push_str(NAMES[*name]);
                    if *directive {
                        out.push_str(" @skip(if: false)");
                    }
                    out.push(' ');
                    if !children.is_empty() {
                        self.render_set(children, out);
                    }
                }
                Item::Spread(target) => match self.target(*target) {
                    Some(f) => out.push_str(&format!("...F{f} ")),
                    None => out.push_str("...Nope "),
                },
                Item::Inline(children) => {
                    out.push_str("... ");
                    self.render_set(children, out);
                }
            }
        }
        out.push_str("} ");
    }

    /// Whether any fragment reaches itself, or any spread names no fragment.
    fn broken(&self) -> bool {
        fn spreads(items: &[Item], found: &mut Vec<usize>) {
            for item in items {
                match item {
                    Item::Field { children, .. } | Item::Inline(children) => {
                        spreads(children, found)
                    }
                    Item::Spread(s) => found.push(*s),
                }
            }
        }
        let mut unknown = false;
        let edges: Vec<Vec<usize>> = self
            .fragments
            .iter()
            .map(|f| {
                let mut found = Vec::new();
                spreads(f, &mut found);
                unknown |= found.iter().any(|s| self.target(*s).is_none());
                found
            })
            .collect();
        for operation in &self.operations {
            let mut found = Vec::new();
            spreads(operation, &mut found);
            unknown |= found.iter().any(|s| self.target(*s).is_none());
        }
        let reaches_itself = |start: usize| {
            let mut seen = HashSet::new();
            let mut stack = edges[start].clone();
            while let Some(next) = stack.pop() {
                if next == start {
                    return true;
                }
                if next < edges.len() && seen.insert(next) {
                    stack.extend(edges[next].iter().copied());
                }
            }
            false
        };
        unknown || (0..self.fragments.len()).any(reaches_itself)
    }

    /// Fields and depth by really inlining (only for documents that are not broken).
    fn inlined(&self, items: &[Item]) -> (u64, usize) {
        let (mut fields, mut depth) = (0_u64, 0);
        for item in items {
            let (f, d) = match item {
                Item::Field { name, children, .. } => {
                    let (f, d) = self.inlined(children);
                    let d = if matches!(NAMES[*name], "__type") {
                        1
                    } else {
                        d + 1
                    };
                    (f + 1, d)
                }
                Item::Spread(s) => self.inlined(&self.fragments[*s]),
                Item::Inline(children) => self.inlined(children),
            };
            fields = fields.saturating_add(f);
            depth = depth.max(d);
        }
        (fields, depth)
    }
}

const OPEN: Limits = Limits {
    depth: 40,
    introspection_depth: 40,
    aliases: 10_000,
    selections: 10_000,
    fields: usize::MAX,
    directives: 10_000,
    bytes: 1 << 20,
    tokens: 1 << 20,
    introspection: true,
};

fn reason(query: &str) -> Option<String> {
    let inspection = OPEN.inspect(&mut Request::new(query));
    let ext = inspection.refusal?.extensions?;
    Some(ext.get("reason")?.to_string().trim_matches('"').to_owned())
}

/// Any text is answered: it parses into an operation, or it is refused as a client's
/// mistake (`BAD_USER_INPUT`, the parser's refusals included once shaped), never left
/// with neither.
fn answered(limits: &Limits, query: &str) -> Result<(), TestCaseError> {
    let inspection = limits.inspect(&mut Request::new(query));
    match inspection.refusal {
        Some(refusal) => {
            let mut response = async_graphql::Response::from_errors(vec![refusal]);
            crate::error::shape_response(&mut response, "-");
            let code = crate::error::shaped_code(&response.errors[0]);
            prop_assert_eq!(code, "BAD_USER_INPUT", "{}", query);
        }
        None => prop_assert!(inspection.operation.is_some(), "{query}"),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn cycles_and_unknown_fragments_never_pass(doc in doc()) {
        let query = doc.render();
        let reason = reason(&query);
        if doc.broken() {
            prop_assert!(
                matches!(reason.as_deref(), Some("FRAGMENT_CYCLE" | "UNKNOWN_FRAGMENT")),
                "{query} -> {reason:?}"
            );
        } else {
            prop_assert!(
                !matches!(reason.as_deref(), Some("FRAGMENT_CYCLE" | "UNKNOWN_FRAGMENT")),
                "{query} -> {reason:?}"
            );
        }
    }

    #[test]
    fn the_measure_matches_inlining_with_linear_work(doc in acyclic_doc()) {
        prop_assert!(!doc.broken());
        let query = doc.render();
        let parsed = async_graphql::parser::parse_query(&query);
        prop_assert!(parsed.is_ok(), "{query}");
        let Ok(document) = parsed else { return Ok(()) };
        let measured = shape::measure(&document, &["login"]);
        prop_assert!(measured.is_ok(), "{query}");
        let Ok(measured) = measured else { return Ok(()) };
        // Operations come in no particular order: compare them as sorted lists.
        let mut expected: Vec<_> = doc.operations.iter().map(|op| doc.inlined(op)).collect();
        let mut found: Vec<_> = measured.operations.iter().map(|s| (s.fields, s.depth)).collect();
        expected.sort_unstable();
        found.sort_unstable();
        prop_assert_eq!(found, expected, "{}", query);
        // Each selection as written is visited once to find spreads and once to measure.
        prop_assert!(measured.visits <= 2 * measured.written.selections + 2 * query.len());
    }

    #[test]
    fn token_soup_never_panics(tokens in prop::collection::vec(
        prop::sample::select(vec![
            "{", "}", "[", "]", "(", ")", "...", "a", "F", "fragment", "on", "query",
            "mutation", "\"s\"", "\"\"\"", "#", "$v", ":", "@d", "1", "-", "=", "!", "__schema",
        ]),
        0..3000,
    )) {
        let query = tokens.join(" ");
        answered(&OPEN, &query)?;
        answered(&super::tests::LIMITS, &query)?;
    }

    #[test]
    fn any_text_never_panics(query in "\\PC{0,2000}") {
        answered(&OPEN, &query)?;
        answered(&super::tests::LIMITS, &query)?;
    }
}

#[test]
fn a_doubling_chain_is_refused_without_being_walked() {
    let query = super::tests::doubling_chain(60, "Query");
    let document = async_graphql::parser::parse_query(&query).unwrap_or_else(|e| panic!("{e}"));
    let measured = shape::measure(&document, &[]).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(measured.operations[0].fields, 1 << 60);
    assert!(measured.visits < 400, "{}", measured.visits);
    assert_eq!(reason(&query), None);
    let limits = Limits {
        fields: 2000,
        ..OPEN
    };
    let inspection = limits.inspect(&mut Request::new(query));
    assert!(inspection.refusal.is_some());
}
