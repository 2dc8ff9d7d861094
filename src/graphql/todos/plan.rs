//! `Todo` answered in one pass (see [`crate::graphql::plain`]): every field of a todo is a
//! plain value of its row. Each value here is what the field's resolver in `todos.rs`
//! gives; a test runs both paths over every field and compares them.

use async_graphql::{
    Name, ScalarType as _, Value,
    parser::types::{Field, SelectionSet},
    resolver_utils::enum_value,
};

use super::{Priority, TodoObject};
use crate::graphql::{
    DateTime,
    plain::{Fragments, Plain, plan_fields, render_fields},
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

    fn render(&self, plan: &Self::Plan) -> Value {
        let todo = &self.0;
        let text = |s: &str| Value::String(s.to_owned());
        let instant = |t: chrono::DateTime<chrono::Utc>| DateTime(t).to_value();
        render_fields(plan, |field| match field {
            TodoField::Typename => Value::String("Todo".to_owned()),
            TodoField::Id => Value::String(self.global_id().0),
            TodoField::Title => text(&todo.title),
            TodoField::Notes => todo.notes.as_deref().map_or(Value::Null, text),
            TodoField::Completed => Value::Boolean(todo.completed),
            TodoField::CompletedAt => todo.completed_at().map_or(Value::Null, instant),
            TodoField::Priority => enum_value(Priority::from(todo.priority())),
            TodoField::DueAt => todo.due_at().map_or(Value::Null, instant),
            TodoField::CreatedAt => instant(todo.created_at()),
            TodoField::UpdatedAt => instant(todo.updated_at()),
            TodoField::Version => Value::from(todo.version),
            TodoField::ClientId => todo.client_id().map_or(Value::Null, text),
        })
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
        let data = response.data.into_json().unwrap_or_else(|e| panic!("{e}"));
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
    fn the_type_is_the_objects_own() {
        assert_eq!(<plain::One<TodoObject>>::type_name(), "Todo");
        assert_eq!(<plain::List<TodoObject>>::qualified_type_name(), "[Todo!]!");
    }
}
