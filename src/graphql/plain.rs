//! Objects answered in one pass. async-graphql resolves every selected field of every object
//! as its own boxed future, polled through a `FuturesUnordered` per object: for a page of
//! twenty todos that is over a hundred allocations and wake-ups to copy values the row
//! already holds, the largest share of a list's CPU after the database. A [`Plain`] type
//! instead reads a selection set once into a plan (which fields, under which response
//! keys, in order) and writes each value from it synchronously, straight into JSON text:
//! building the engine's value tree (a hashed map per object), serializing it and freeing
//! it cost another third of a list request. The text travels through the engine as a
//! pre-written value (`execute::pre_written`), copied into the answer as it is.
//!
//! Only what the plan can answer exactly is planned: fields without arguments or
//! directives, `__typename`, and fragments (spread or inline, without directives) on the
//! type or an interface it implements. Anything else (a directive, a field the plan does
//! not know) leaves the whole selection set to async-graphql's own resolver, so the
//! answer is the same either way; a test compares the two paths field by field. The plan
//! skips async-graphql's per-field extension hooks: the schema registers no extension.

use std::collections::HashMap;

use async_graphql::{
    ContextSelectionSet, Name, OutputType, Positioned, ServerResult, Value,
    parser::types::{Field, FragmentDefinition, Selection, SelectionSet},
    registry::Registry,
    resolver_utils::resolve_list,
};

use crate::execute::{Json, pre_written};

/// A plan cannot follow fragments deeper than this; a validated document never nests them
/// anywhere near it (fragment cycles and the depth limit are refused first). However the
/// fragments repeat one another, a plan visits no more fields than the operation has once
/// they are inlined, which the document limits cap (2,000 by default), and it compares a
/// response key only with the distinct keys before it.
const MAX_FRAGMENT_NESTING: usize = 16;

/// The document's fragment definitions, by name.
pub(crate) type Fragments = HashMap<Name, Positioned<FragmentDefinition>>;

/// An object type that can answer a selection set from a plan.
pub(crate) trait Plain: OutputType + Sync {
    /// What one selection set asks of a value of this type.
    type Plan: Send + Sync;

    /// The plan of `set`, or `None` when only async-graphql's resolver can answer it.
    fn plan(set: &SelectionSet, fragments: &Fragments) -> Option<Self::Plan>;

    /// Writes this value's answer to the planned selection set.
    fn render(&self, plan: &Self::Plan, out: &mut Json);
}

/// The fields that a selection set selects on an object of type `names[0]` (which also
/// answers to the interfaces `names[1..]`), flattened through its fragments, each with its
/// response key and what `known` makes of it; `None` when something in it is not plain.
/// A response key selected twice keeps its first place, as async-graphql's merge does; a
/// repeated key with a sub-selection would need merging, so it is not planned.
pub(crate) fn plan_fields<K>(
    set: &SelectionSet,
    fragments: &Fragments,
    names: &[&str],
    known: &mut impl FnMut(&Field) -> Option<K>,
) -> Option<Vec<(Name, K)>> {
    let mut planned = Vec::with_capacity(set.items.len());
    let mut seen: Vec<(&Name, bool)> = Vec::with_capacity(set.items.len());
    collect(set, fragments, names, known, &mut planned, &mut seen, 0)?;
    Some(planned)
}

fn collect<'a, K>(
    set: &'a SelectionSet,
    fragments: &'a Fragments,
    names: &[&str],
    known: &mut impl FnMut(&Field) -> Option<K>,
    planned: &mut Vec<(Name, K)>,
    seen: &mut Vec<(&'a Name, bool)>,
    nesting: usize,
) -> Option<()> {
    if nesting > MAX_FRAGMENT_NESTING {
        return None;
    }
    let applies = |condition: Option<&Name>| condition.is_none_or(|c| names.contains(&c.as_str()));
    for selection in &set.items {
        match &selection.node {
            Selection::Field(field) => {
                let field = &field.node;
                if !field.directives.is_empty() || !field.arguments.is_empty() {
                    return None;
                }
                let key = &field.response_key().node;
                let leaf = field.selection_set.node.items.is_empty();
                if let Some((_, was_leaf)) = seen.iter().find(|(k, _)| *k == key) {
                    if leaf && *was_leaf {
                        continue;
                    }
                    return None;
                }
                seen.push((key, leaf));
                planned.push((key.clone(), known(field)?));
            }
            Selection::FragmentSpread(spread) => {
                if !spread.node.directives.is_empty() {
                    return None;
                }
                let fragment = &fragments.get(&spread.node.fragment_name.node)?.node;
                if !fragment.directives.is_empty() {
                    return None;
                }
                if !applies(Some(&fragment.type_condition.node.on.node)) {
                    return None;
                }
                let set = &fragment.selection_set.node;
                collect(set, fragments, names, known, planned, seen, nesting + 1)?;
            }
            Selection::InlineFragment(inline) => {
                let inline = &inline.node;
                if !inline.directives.is_empty() {
                    return None;
                }
                if !applies(inline.type_condition.as_ref().map(|c| &c.node.on.node)) {
                    return None;
                }
                let set = &inline.selection_set.node;
                collect(set, fragments, names, known, planned, seen, nesting + 1)?;
            }
        }
    }
    Some(())
}

/// Writes `plan` as one object, each field's value written by `value`.
pub(crate) fn render_fields<K>(
    plan: &[(Name, K)],
    out: &mut Json,
    mut value: impl FnMut(&K, &mut Json),
) {
    out.begin_object();
    for (i, (key, field)) in plan.iter().enumerate() {
        out.key(i == 0, key);
        value(field, out);
    }
    out.end_object();
}

/// A value of a [`Plain`] type, answered from a plan when it can be. To the schema it is
/// the type itself.
pub(crate) struct One<T>(pub(crate) T);

impl<T: Plain> OutputType for One<T> {
    fn type_name() -> std::borrow::Cow<'static, str> {
        T::type_name()
    }

    fn qualified_type_name() -> String {
        T::qualified_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        T::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        match T::plan(&ctx.item.node, &ctx.query_env.fragments) {
            Some(plan) => {
                let mut out = Json::part();
                self.0.render(&plan, &mut out);
                Ok(pre_written(out))
            }
            None => OutputType::resolve(&self.0, ctx, field).await,
        }
    }
}

/// A list of a [`Plain`] type: one plan for all of its items. To the schema it is `[T!]!`.
pub(crate) struct List<T>(pub(crate) Vec<T>);

impl<T: Plain> OutputType for List<T> {
    fn type_name() -> std::borrow::Cow<'static, str> {
        <Vec<T>>::type_name()
    }

    fn qualified_type_name() -> String {
        <Vec<T>>::qualified_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        <Vec<T>>::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        match T::plan(&ctx.item.node, &ctx.query_env.fragments) {
            Some(plan) => {
                let mut out = Json::part();
                out.begin_list();
                for (i, item) in self.0.iter().enumerate() {
                    if i > 0 {
                        out.comma();
                    }
                    item.render(&plan, &mut out);
                }
                out.end_list();
                Ok(pre_written(out))
            }
            None => resolve_list(ctx, field, &self.0, Some(self.0.len())).await,
        }
    }
}
