//! The document as it would run, with its fragments inlined, measured without inlining
//! them. Unknown fragments and fragment cycles are refused before anything follows a
//! spread; then each fragment is measured once, after the fragments it spreads, and a
//! spread reuses that measure. The work is linear in the document's size however much its
//! spreads multiply (a chain of fragments that each spread the next twice is 2^n fields
//! when inlined, and n small measures here). Recursion follows selection nesting only,
//! which the lexer has already bounded.

use std::collections::HashMap;

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};

/// The introspection lists that multiply an answer when nested in one another
/// (`possibleTypes { interfaces { possibleTypes ... } }`). The schema has no other fields
/// of these names, so they are counted wherever they appear.
const TYPE_LISTS: [&str; 4] = ["fields", "interfaces", "possibleTypes", "inputFields"];

/// How a selection set would run, fragments inlined. Counts saturate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Shape {
    /// Field selections.
    pub(super) fields: u64,
    /// Nesting depth, where `__schema` and `__type` count as one level.
    pub(super) depth: usize,
    /// Nesting depth counting every field.
    pub(super) full_depth: usize,
    /// The most [`TYPE_LISTS`] fields on one path.
    pub(super) type_lists: usize,
    /// Fields named in `auth_fields`.
    pub(super) auth: u64,
}

impl Shape {
    /// Adds a sibling's shape.
    fn add(&mut self, other: Shape) {
        self.fields = self.fields.saturating_add(other.fields);
        self.auth = self.auth.saturating_add(other.auth);
        self.depth = self.depth.max(other.depth);
        self.full_depth = self.full_depth.max(other.full_depth);
        self.type_lists = self.type_lists.max(other.type_lists);
    }
}

/// The document as written: every selection counted once, where it is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Written {
    /// Field selections, `__typename` included.
    pub(super) selections: usize,
    /// Aliased fields.
    pub(super) aliases: usize,
    /// Directives anywhere.
    pub(super) directives: usize,
    /// `__schema` and `__type` fields.
    pub(super) introspection: usize,
}

/// Why a document cannot be measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Broken {
    /// A spread of a fragment the document does not define.
    UnknownFragment(String),
    /// A fragment that spreads itself, directly or through others.
    FragmentCycle(String),
}

/// What [`measure`] found: the document as written, and each operation as it would run.
#[derive(Debug, Default)]
pub(super) struct Measure {
    /// The whole document as written.
    pub(super) written: Written,
    /// Each operation, fragments inlined.
    pub(super) operations: Vec<Shape>,
    /// Selections visited to measure, for the tests that hold the work linear.
    #[cfg_attr(
        not(test),
        expect(dead_code, reason = "read by the tests that hold the work linear")
    )]
    pub(super) visits: usize,
}

/// Measures `document`; `auth_fields` are the field names counted in [`Shape::auth`].
pub(super) fn measure(
    document: &ExecutableDocument,
    auth_fields: &[&str],
) -> Result<Measure, Broken> {
    let mut visits = 0;
    let order = fragment_order(document, &mut visits)?;
    let mut walk = Walk {
        fragments: HashMap::with_capacity(order.len()),
        written: Written::default(),
        auth_fields,
        visits,
    };
    for name in order {
        if let Some(fragment) = document.fragments.get(name) {
            walk.written.directives += fragment.node.directives.len();
            let shape = walk.set(&fragment.node.selection_set.node)?;
            walk.fragments.insert(name, shape);
        }
    }
    let mut operations = Vec::new();
    for (_, operation) in document.operations.iter() {
        walk.written.directives += operation.node.directives.len();
        operations.push(walk.set(&operation.node.selection_set.node)?);
    }
    Ok(Measure {
        written: walk.written,
        operations,
        visits: walk.visits,
    })
}

struct Walk<'d, 'a> {
    fragments: HashMap<&'d str, Shape>,
    written: Written,
    auth_fields: &'a [&'a str],
    visits: usize,
}

impl Walk<'_, '_> {
    fn set(&mut self, set: &SelectionSet) -> Result<Shape, Broken> {
        let mut shape = Shape::default();
        self.visits += set.items.len();
        for item in &set.items {
            let one = match &item.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    let name = field.name.node.as_str();
                    let introspection = matches!(name, "__schema" | "__type");
                    self.written.selections += 1;
                    self.written.aliases += usize::from(field.alias.is_some());
                    self.written.directives += field.directives.len();
                    self.written.introspection += usize::from(introspection);
                    let below = self.set(&field.selection_set.node)?;
                    Shape {
                        fields: below.fields.saturating_add(1),
                        depth: if introspection { 1 } else { below.depth + 1 },
                        full_depth: below.full_depth + 1,
                        type_lists: below.type_lists + usize::from(TYPE_LISTS.contains(&name)),
                        auth: below
                            .auth
                            .saturating_add(u64::from(self.auth_fields.contains(&name))),
                    }
                }
                Selection::FragmentSpread(spread) => {
                    self.written.directives += spread.node.directives.len();
                    let name = spread.node.fragment_name.node.as_str();
                    *self
                        .fragments
                        .get(name)
                        .ok_or_else(|| Broken::UnknownFragment(name.to_owned()))?
                }
                Selection::InlineFragment(inline) => {
                    self.written.directives += inline.node.directives.len();
                    self.set(&inline.node.selection_set.node)?
                }
            };
            shape.add(one);
        }
        Ok(shape)
    }
}

/// The fragments in an order where each comes after every fragment it spreads; refuses
/// unknown fragments and cycles. An explicit stack, so a long chain of fragments cannot
/// recurse.
fn fragment_order<'d>(
    document: &'d ExecutableDocument,
    visits: &mut usize,
) -> Result<Vec<&'d str>, Broken> {
    let mut spreads: HashMap<&str, Vec<&str>> = HashMap::with_capacity(document.fragments.len());
    let mut names: Vec<(&str, _)> = Vec::with_capacity(document.fragments.len());
    for (name, fragment) in &document.fragments {
        let mut found = Vec::new();
        spreads_in(&fragment.node.selection_set.node, &mut found, visits);
        if let Some(unknown) = found.iter().find(|n| !document.fragments.contains_key(**n)) {
            return Err(Broken::UnknownFragment((*unknown).to_owned()));
        }
        spreads.insert(name.as_str(), found);
        names.push((name.as_str(), fragment.pos));
    }
    // Document order, so the fragment named in a refusal does not depend on hashing.
    names.sort_by_key(|(_, pos)| (pos.line, pos.column));

    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Mark {
        Open,
        Done,
    }
    let mut marks: HashMap<&str, Mark> = HashMap::with_capacity(names.len());
    let mut order = Vec::with_capacity(names.len());
    let no_spreads = Vec::new();
    for (start, _) in names {
        if marks.contains_key(start) {
            continue;
        }
        marks.insert(start, Mark::Open);
        let mut stack = vec![(start, 0_usize)];
        while let Some(&(name, next)) = stack.last() {
            let children = spreads.get(name).unwrap_or(&no_spreads);
            match children.get(next) {
                Some(&child) => {
                    if let Some(top) = stack.last_mut() {
                        top.1 += 1;
                    }
                    match marks.get(child) {
                        Some(Mark::Open) => return Err(Broken::FragmentCycle(child.to_owned())),
                        Some(Mark::Done) => {}
                        None => {
                            marks.insert(child, Mark::Open);
                            stack.push((child, 0));
                        }
                    }
                }
                None => {
                    marks.insert(name, Mark::Done);
                    order.push(name);
                    stack.pop();
                }
            }
        }
    }
    Ok(order)
}

/// The names of the fragments spread anywhere in `set`.
fn spreads_in<'d>(set: &'d SelectionSet, found: &mut Vec<&'d str>, visits: &mut usize) {
    *visits += set.items.len();
    for item in &set.items {
        match &item.node {
            Selection::Field(field) => spreads_in(&field.node.selection_set.node, found, visits),
            Selection::FragmentSpread(spread) => {
                found.push(spread.node.fragment_name.node.as_str());
            }
            Selection::InlineFragment(inline) => {
                spreads_in(&inline.node.selection_set.node, found, visits)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measured(query: &str) -> Result<Measure, Broken> {
        let document =
            async_graphql::parser::parse_query(query).unwrap_or_else(|e| panic!("{e}: {query}"));
        measure(&document, &["login"])
    }

    fn first(query: &str) -> Shape {
        let measure = measured(query).unwrap_or_else(|e| panic!("{e:?}: {query}"));
        measure.operations.first().copied().unwrap_or_default()
    }

    #[test]
    fn fragments_are_measured_as_if_inlined() {
        let shape = first("{ a { ...F } } fragment F on T { b c { d } }");
        assert_eq!(shape.fields, 4);
        assert_eq!(shape.depth, 3);
        let inline = first("{ a { ... on T { b c { d } } } }");
        assert_eq!(inline, shape);
    }

    #[test]
    fn a_doubling_chain_is_counted_without_being_walked() {
        let chain = super::super::tests::doubling_chain;
        assert_eq!(first(&chain(40, "Q")).fields, 1 << 40);
        assert_eq!(first(&chain(70, "Q")).fields, u64::MAX);
    }

    #[test]
    fn cycles_and_unknown_fragments_are_refused() {
        assert_eq!(
            measured("{ ...A } fragment A on Q { ...A }").err(),
            Some(Broken::FragmentCycle("A".into()))
        );
        assert_eq!(
            measured("{ ...A } fragment A on Q { x { ...B } } fragment B on Q { ...A }").err(),
            Some(Broken::FragmentCycle("A".into()))
        );
        assert_eq!(
            measured("{ ...A } fragment A on Q { ...Nope }").err(),
            Some(Broken::UnknownFragment("Nope".into()))
        );
        assert_eq!(
            measured("{ ...Nope }").err(),
            Some(Broken::UnknownFragment("Nope".into()))
        );
        // A diamond is not a cycle.
        let shape = first(
            "{ ...A } fragment A on Q { ...B ...C } fragment B on Q { ...D } \
             fragment C on Q { ...D } fragment D on Q { x }",
        );
        assert_eq!(shape.fields, 2);
    }

    #[test]
    fn introspection_depth_and_lists_are_measured_apart() {
        let shape = first("{ __schema { types { fields { type { name } } } } me { id } }");
        assert_eq!(shape.depth, 2);
        assert_eq!(shape.full_depth, 5);
        assert_eq!(shape.type_lists, 1);
        let lists = first(
            "{ __schema { types { ...T } } } \
             fragment T on __Type { possibleTypes { interfaces { possibleTypes { name } } } }",
        );
        assert_eq!(lists.type_lists, 3);
    }

    #[test]
    fn the_document_as_written_is_counted_once() {
        let measure = measured(
            "query @a { x: f(a: 1) @b { ...F ...F } } fragment F on T @c { y: g __typename }",
        )
        .unwrap_or_default();
        assert_eq!(
            measure.written,
            Written {
                selections: 3,
                aliases: 2,
                directives: 3,
                introspection: 0
            }
        );
        assert_eq!(
            measured("mutation { a: login b: login }").map(|m| m.operations[0].auth),
            Ok(2)
        );
    }
}
