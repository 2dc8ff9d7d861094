//! Typed helpers for todos: create, read, update and delete one, list them all, the
//! viewer's counts, and the `todos` connection a page at a time.

use serde_json::{Value, json};

use super::{Api, TODO_FIELDS};

const DELETE: &str = "mutation($id: ID!) { deleteTodo(id: $id) }";

/// `updateTodo` with every field, `$id`, `$input` and an optional `$v` (expectedVersion).
pub fn update_query() -> String {
    format!(
        "mutation($id: ID!, $input: UpdateTodoInput!, $v: Int) {{ \
         updateTodo(id: $id, input: $input, expectedVersion: $v) {{ {TODO_FIELDS} }} }}"
    )
}

/// The `todos` connection with every variable it takes, and every field.
fn page_query() -> String {
    format!(
        "query($first: Int, $after: String, $last: Int, $before: String, \
         $filter: TodoFilter, $orderBy: TodoOrder) {{ \
         todos(first: $first, after: $after, last: $last, before: $before, \
         filter: $filter, orderBy: $orderBy) {{ totalCount \
         edges {{ cursor node {{ {TODO_FIELDS} }} }} nodes {{ id }} \
         pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }} }} }}"
    )
}

/// A todo's id.
pub fn id(todo: &Value) -> &str {
    todo["id"]
        .as_str()
        .unwrap_or_else(|| panic!("an id: {todo}"))
}

impl Api {
    /// Creates a todo from `input` (a `CreateTodoInput` object); returns every field.
    pub async fn create_todo(&self, token: &str, input: Value) -> Value {
        let query = format!(
            "mutation($input: CreateTodoInput!) {{ createTodo(input: $input) {{ {TODO_FIELDS} }} }}"
        );
        let data = self
            .gql_ok(Some(token), &query, json!({ "input": input }))
            .await;
        data["createTodo"].clone()
    }

    /// Reads one todo back (every field), or `Value::Null`.
    pub async fn read_todo(&self, token: &str, id: &str) -> Value {
        let query = format!("query($id: ID!) {{ todo(id: $id) {{ {TODO_FIELDS} }} }}");
        self.gql_ok(Some(token), &query, json!({ "id": id })).await["todo"].clone()
    }

    /// Updates a todo that must change; returns every field.
    pub async fn update_todo(&self, token: &str, id: &str, input: Value) -> Value {
        let vars = json!({ "id": id, "input": input });
        self.gql_ok(Some(token), &update_query(), vars).await["updateTodo"].clone()
    }

    /// The error of an update that must fail, with `expected_version` if given.
    pub async fn update_todo_err(
        &self,
        token: &str,
        id: &str,
        input: Value,
        expected_version: Option<i64>,
    ) -> Value {
        let vars = json!({ "id": id, "input": input, "v": expected_version });
        self.gql_err(Some(token), &update_query(), vars).await
    }

    /// Deletes a todo that must exist; checks that the deleted id is answered.
    pub async fn delete_todo(&self, token: &str, id: &str) {
        let data = self.gql_ok(Some(token), DELETE, json!({ "id": id })).await;
        assert_eq!(data["deleteTodo"], id, "the deleted todo's id");
    }

    /// The error of a delete that must fail.
    pub async fn delete_todo_err(&self, token: &str, id: &str) -> Value {
        self.gql_err(Some(token), DELETE, json!({ "id": id })).await
    }

    /// Every todo of the viewer (every field), sorted by id.
    pub async fn all_todos(&self, token: &str) -> Vec<Value> {
        let query = format!("{{ todos(first: 100) {{ totalCount nodes {{ {TODO_FIELDS} }} }} }}");
        let data = self.gql_ok(Some(token), &query, json!({})).await;
        let mut nodes = data["todos"]["nodes"].as_array().expect("nodes").clone();
        assert_eq!(data["todos"]["totalCount"], nodes.len(), "{data}");
        nodes.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
        nodes
    }

    /// The viewer's `todoCounts` as `(all, active, completed)`.
    pub async fn counts(&self, token: &str) -> (i64, i64, i64) {
        let query = "{ me { todoCounts { all active completed } } }";
        let data = self.gql_ok(Some(token), query, json!({})).await;
        let counts = &data["me"]["todoCounts"];
        let get = |name: &str| counts[name].as_i64().expect("an integer count");
        (get("all"), get("active"), get("completed"))
    }

    /// One page (`todos` connection); `vars` holds any of the query's variables.
    pub async fn page(&self, token: &str, vars: Value) -> Value {
        self.gql_ok(Some(token), &page_query(), vars).await["todos"].clone()
    }

    /// The error of a page request that must fail.
    pub async fn page_err(&self, token: &str, vars: Value) -> Value {
        self.gql_err(Some(token), &page_query(), vars).await
    }

    /// Walks `first: size` pages from the start; returns every node in order.
    pub async fn walk_forward(&self, token: &str, size: usize, base: Value) -> Vec<Value> {
        self.walk(token, size, base, Walk::Forward).await
    }

    /// Walks `last: size` pages from the end; returns every node in order.
    pub async fn walk_backward(&self, token: &str, size: usize, base: Value) -> Vec<Value> {
        self.walk(token, size, base, Walk::Backward).await
    }

    async fn walk(&self, token: &str, size: usize, base: Value, walk: Walk) -> Vec<Value> {
        let (count, cursor, next, this_end, far_end) = match walk {
            Walk::Forward => (
                "first",
                "after",
                "endCursor",
                "hasPreviousPage",
                "hasNextPage",
            ),
            Walk::Backward => (
                "last",
                "before",
                "startCursor",
                "hasNextPage",
                "hasPreviousPage",
            ),
        };
        let mut all: Vec<Value> = Vec::new();
        let mut at = Value::Null;
        let mut total = Value::Null;
        for n in 0.. {
            assert!(n <= 100, "paging {walk:?} does not end");
            let mut vars = base.clone();
            vars[count] = json!(size);
            vars[cursor] = at;
            let page = self.page(token, vars).await;
            let nodes = edges_nodes(&page);
            let info = &page["pageInfo"];
            if n == 0 {
                assert_eq!(info[this_end], false, "the first page {walk:?}: {info}");
                total = page["totalCount"].clone();
            }
            assert_eq!(
                page["totalCount"], total,
                "the same totalCount on every page"
            );
            match walk {
                Walk::Forward => all.extend(nodes.iter().cloned()),
                Walk::Backward => drop(all.splice(0..0, nodes.iter().cloned())),
            }
            if info[far_end] == false {
                let total = total.as_u64().expect("totalCount");
                assert_eq!(all.len() as u64, total, "every todo once");
                return all;
            }
            assert_eq!(nodes.len(), size, "a full page before the end: {info}");
            at = info[next].clone();
        }
        unreachable!("the walk ends or fails within 100 pages")
    }
}

#[derive(Debug, Clone, Copy)]
enum Walk {
    Forward,
    Backward,
}

/// The page's nodes, after checking that edges, nodes and the page's cursors agree.
pub fn edges_nodes(page: &Value) -> Vec<Value> {
    let edges = page["edges"].as_array().expect("edges");
    let nodes: Vec<Value> = edges.iter().map(|e| e["node"].clone()).collect();
    let ids: Vec<&Value> = nodes.iter().map(|n| &n["id"]).collect();
    let plain: Vec<&Value> = page["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| &n["id"])
        .collect();
    assert_eq!(ids, plain, "edges and nodes list the same todos");
    match (edges.first(), edges.last()) {
        (Some(first), Some(last)) => {
            assert_eq!(page["pageInfo"]["startCursor"], first["cursor"]);
            assert_eq!(page["pageInfo"]["endCursor"], last["cursor"]);
        }
        _ => {
            assert_eq!(page["pageInfo"]["startCursor"], Value::Null, "{page}");
            assert_eq!(page["pageInfo"]["endCursor"], Value::Null, "{page}");
        }
    }
    nodes
}
