//! `Todo` answered in one pass (see [`crate::graphql::plain`]): every field of a todo is a
//! plain value of its row. Each value here is what the field's resolver in `todos.rs`
//! gives; a test runs both paths over every field and compares them.

use async_graphql::{
    Name,
    parser::types::{Field, SelectionSet},
};

use super::{Priority, TodoObject};
use crate::{
    execute::Json,
    graphql::{
        DateTime,
        plain::{Fragments, Plain, plan_fields, render_fields},
    },
};

/// A field of `Todo`.
#[derive(Clone, Copy)]
pub(crate) enum TodoField {
    Typename,
    Id,
    Title,
    Notes,
    Completed,
    CompletedAt,
    Priority,
    DueAt,
    CreatedAt,
    UpdatedAt,
    Version,
    ClientId,
}

impl TodoField {
    fn of(field: &Field) -> Option<Self> {
        Some(match field.name.node.as_str() {
            "__typename" => Self::Typename,
            "id" => Self::Id,
            "title" => Self::Title,
            "notes" => Self::Notes,
            "completed" => Self::Completed,
            "completedAt" => Self::CompletedAt,
            "priority" => Self::Priority,
            "dueAt" => Self::DueAt,
            "createdAt" => Self::CreatedAt,
            "updatedAt" => Self::UpdatedAt,
            "version" => Self::Version,
            "clientId" => Self::ClientId,
            _ => return None,
        })
    }
}

impl Plain for TodoObject {
    type Plan = Vec<(Name, TodoField)>;

    fn plan(set: &SelectionSet, fragments: &Fragments) -> Option<Self::Plan> {
        plan_fields(set, fragments, &["Todo", "Node"], &mut TodoField::of)
    }

    fn render(&self, plan: &Self::Plan, out: &mut Json) {
        let todo = &self.0;
        let text = |out: &mut Json, s: Option<&str>| match s {
            Some(s) => out.str(s),
            None => out.null(),
        };
        let instant = |out: &mut Json, t: Option<chrono::DateTime<chrono::Utc>>| match t {
            Some(t) => out.str(&DateTime(t).text()),
            None => out.null(),
        };
        render_fields(plan, out, |field, out| match field {
            TodoField::Typename => out.str("Todo"),
            TodoField::Id => out.str(&self.global_id().0),
            TodoField::Title => out.str(&todo.title),
            TodoField::Notes => text(out, todo.notes.as_deref()),
            TodoField::Completed => out.bool(todo.completed),
            TodoField::CompletedAt => instant(out, todo.completed_at()),
            TodoField::Priority => out.str(Priority::from(todo.priority()).name()),
            TodoField::DueAt => instant(out, todo.due_at()),
            TodoField::CreatedAt => instant(out, Some(todo.created_at())),
            TodoField::UpdatedAt => instant(out, Some(todo.updated_at())),
            TodoField::Version => out.int(i64::from(todo.version)),
            TodoField::ClientId => text(out, todo.client_id()),
        });
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use async_graphql::{EmptyMutation, EmptySubscription, Object, OutputType, Schema};

    use super::*;
    use crate::{graphql::plain, store::todos::Todo};

    /// Two todos: one with every field set, one with every optional field empty.
    pub(crate) fn todos() -> Vec<TodoObject> {
        vec![
            TodoObject(Todo::sample("a", true)),
            TodoObject(Todo::sample("b", false)),
        ]
    }

    /// Runs `{ plain SHAPE general SHAPE } FRAGMENTS` (`FIELD` in `shape` names the field) over a query root whose two fields give the same values, through the plan and
    /// through async-graphql's resolvers, and asserts both answers are the same text.
    pub(crate) async fn assert_same_answers<Q>(root: Q, shape: &str, fragments: &str)
    where
        Q: async_graphql::ObjectType + 'static,
    {
        let schema = Schema::build(root, EmptyMutation, EmptySubscription)
            .register_output_type::<crate::graphql::node::Node>()
            .finish();
        let query = shape.replace("FIELD", "plain") + &shape.replace("FIELD", "general");
        let response = schema.execute(format!("{{ {query} }} {fragments}")).await;
        assert!(response.errors.is_empty(), "{shape}: {:?}", response.errors);
        // As the server writes answers: the plan's text is copied in as it is.
        let written = crate::execute::answer_text(&response, usize::MAX).unwrap_or_default();
        let answer: serde_json::Value =
            serde_json::from_slice(&written).unwrap_or_else(|e| panic!("{shape}: {e}"));
        let data = &answer["data"];
        let text = |v: &serde_json::Value| serde_json::to_string(v).unwrap_or_default();
        assert_ne!(data["plain"], serde_json::Value::Null, "{shape}");
        assert_eq!(text(&data["plain"]), text(&data["general"]), "{shape}");
    }

    struct Lists(Vec<TodoObject>);

    #[Object]
    impl Lists {
        async fn plain(&self) -> plain::List<TodoObject> {
            plain::List(self.0.clone())
        }
        async fn general(&self) -> &[TodoObject] {
            &self.0
        }
    }

    struct Single(TodoObject);

    #[Object]
    impl Single {
        async fn plain(&self) -> plain::One<TodoObject> {
            plain::One(self.0.clone())
        }
        async fn general(&self) -> &TodoObject {
            &self.0
        }
    }

    /// Selection shapes, each with the fragments it spreads.
    const SHAPES: &[(&str, &str)] = &[
        (
            "FIELD { id title notes completed completedAt priority dueAt createdAt updatedAt \
             version clientId __typename }",
            "",
        ),
        ("FIELD { b: title a: id title b: title __typename }", ""),
        (
            "FIELD { ... on Todo { version title } ... on Node { id } ... { notes } id }",
            "",
        ),
        (
            "FIELD { ...F notes ...G }",
            "fragment F on Todo { title ...G } fragment G on Node { id }",
        ),
    ];

    #[tokio::test]
    async fn a_list_answers_as_the_resolvers_do() {
        for (shape, fragments) in SHAPES {
            assert_same_answers(Lists(todos()), shape, fragments).await;
        }
    }

    #[tokio::test]
    async fn one_todo_answers_as_the_resolvers_do() {
        for todo in todos() {
            for (shape, fragments) in SHAPES {
                assert_same_answers(Single(todo.clone()), shape, fragments).await;
            }
        }
    }

    #[test]
    fn a_key_repeated_through_fragments_is_planned_once() {
        use async_graphql::parser::types::{DocumentOperations, Selection};
        let text = "{ a { ...F title } } fragment F on Todo { title ...G ...G } \
                    fragment G on Node { id title t: title }";
        let document = async_graphql::parser::parse_query(text).unwrap_or_else(|e| panic!("{e}"));
        let DocumentOperations::Single(operation) = &document.operations else {
            panic!("one operation");
        };
        let Selection::Field(a) = &operation.node.selection_set.node.items[0].node else {
            panic!("a field");
        };
        let plan = TodoObject::plan(&a.node.selection_set.node, &document.fragments)
            .unwrap_or_else(|| panic!("plain fields only"));
        let keys: Vec<&str> = plan.iter().map(|(key, _)| key.as_str()).collect();
        assert_eq!(keys, ["title", "id", "t"]);
    }

    #[test]
    fn every_priority_is_written_as_the_schema_names_it() {
        use async_graphql::{Value, resolver_utils::enum_value};
        for priority in [
            Priority::None,
            Priority::Low,
            Priority::Medium,
            Priority::High,
        ] {
            assert_eq!(
                enum_value(priority),
                Value::Enum(Name::new(priority.name()))
            );
        }
    }

    #[test]
    fn the_type_is_the_objects_own() {
        assert_eq!(<plain::One<TodoObject>>::type_name(), "Todo");
        assert_eq!(<plain::List<TodoObject>>::qualified_type_name(), "[Todo!]!");
    }
}
