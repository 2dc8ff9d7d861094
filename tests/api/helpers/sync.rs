//! Typed helpers for sync: `changes` a page at a time, the bulk mutations with their
//! payloads, and a [`Replica`]: the local copy an offline-first client keeps, built only
//! from what `changes` answers, so a test can compare it with the server's todos.

use std::collections::{BTreeMap, HashSet};

use serde_json::{Value, json};

use super::{Api, TODO_FIELDS};

/// `changes` with `$since` and `$first`, every field.
pub fn changes_query() -> String {
    format!(
        "query($since: String, $first: Int) {{ changes(since: $since, first: $first) {{ \
         upserted {{ {TODO_FIELDS} }} deletedIds cursor hasMore fullResync }} }}"
    )
}

impl Api {
    /// One `changes` page (`first` omitted when `None`).
    pub async fn changes_page(
        &self,
        token: &str,
        since: Option<&str>,
        first: Option<i64>,
    ) -> Value {
        let vars = json!({ "since": since, "first": first });
        self.gql_ok(Some(token), &changes_query(), vars).await["changes"].clone()
    }

    /// One `changes` page of the default size.
    pub async fn changes(&self, token: &str, since: Option<&str>) -> Value {
        self.changes_page(token, since, None).await
    }

    /// The error of a `changes` call that must fail.
    pub async fn changes_err(&self, token: &str, since: Value, first: Value) -> Value {
        let vars = json!({ "since": since, "first": first });
        self.gql_err(Some(token), &changes_query(), vars).await
    }

    /// `setAllTodosCompleted`: the payload, with every field of its todos.
    pub async fn set_all_completed(&self, token: &str, completed: bool) -> Value {
        let query = format!(
            "mutation($c: Boolean!) {{ setAllTodosCompleted(completed: $c) {{ count todos {{ {TODO_FIELDS} }} }} }}"
        );
        let data = self
            .gql_ok(Some(token), &query, json!({ "c": completed }))
            .await;
        data["setAllTodosCompleted"].clone()
    }

    /// `clearCompletedTodos`: the payload.
    pub async fn clear_completed(&self, token: &str) -> Value {
        let query = "mutation { clearCompletedTodos { count deletedIds } }";
        self.gql_ok(Some(token), query, json!({})).await["clearCompletedTodos"].clone()
    }

    /// The raw id of the viewer (from their global id), as the change log knows them.
    pub async fn raw_user_id(&self, token: &str) -> String {
        use base64::Engine as _;
        let data = self.gql_ok(Some(token), "{ me { id } }", json!({})).await;
        let global = data["me"]["id"].as_str().expect("an id");
        let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(global)
            .expect("base64url");
        let text = String::from_utf8(decoded).expect("UTF-8");
        text.strip_prefix("User:").expect("a User id").to_owned()
    }
}

/// What one pull of a [`Replica`] saw.
#[derive(Debug, Default)]
pub struct Pulled {
    /// Pages read.
    pub pages: usize,
    /// Whether any page was a full resync.
    pub full_resync: bool,
    /// The ids upserted, in order.
    pub upserted: Vec<String>,
    /// The ids deleted, in order.
    pub deleted: Vec<String>,
}

/// A client's local copy of its todos, kept only from `changes`.
#[derive(Debug, Default)]
pub struct Replica {
    /// The todos by id.
    pub todos: BTreeMap<String, Value>,
    /// The cursor to pull from next.
    pub cursor: Option<String>,
    /// Every (id, version) ever upserted: a todo comes again only after it changed.
    seen: HashSet<(String, i64)>,
    /// Set during a full resync pass.
    in_pass: bool,
}

impl Replica {
    /// Reads one page of `first` and applies it; returns the page.
    pub async fn pull_page(&mut self, api: &Api, token: &str, first: i64) -> Value {
        let page = api
            .changes_page(token, self.cursor.as_deref(), Some(first))
            .await;
        let full = page["fullResync"] == true;
        if full && !self.in_pass {
            // The first page of a pass: start from empty.
            self.todos.clear();
            self.seen.clear();
        }
        if full {
            assert_eq!(
                page["deletedIds"],
                json!([]),
                "no deletions in a full resync"
            );
        }
        let upserted = page["upserted"].as_array().expect("upserted");
        let deleted = page["deletedIds"].as_array().expect("deletedIds");
        assert!(
            upserted.len() + deleted.len() <= usize::try_from(first).expect("first"),
            "first counts upserts and deletions together: {page}"
        );
        for todo in upserted {
            let id = todo["id"].as_str().expect("an id").to_owned();
            let version = todo["version"].as_i64().expect("a version");
            assert!(
                self.seen.insert((id.clone(), version)),
                "{id} at version {version} came twice"
            );
            self.todos.insert(id, todo.clone());
        }
        for id in deleted {
            self.todos.remove(id.as_str().expect("an id"));
        }
        self.in_pass = full && page["hasMore"] == true;
        self.cursor = Some(page["cursor"].as_str().expect("a cursor").to_owned());
        page
    }

    /// Pulls pages of `first` until `hasMore` is false.
    pub async fn pull(&mut self, api: &Api, token: &str, first: i64) -> Pulled {
        let mut pulled = Pulled::default();
        loop {
            assert!(pulled.pages < 1000, "the pull does not end");
            let page = self.pull_page(api, token, first).await;
            pulled.pages += 1;
            pulled.full_resync |= page["fullResync"] == true;
            for todo in page["upserted"].as_array().expect("upserted") {
                pulled
                    .upserted
                    .push(todo["id"].as_str().expect("id").to_owned());
            }
            for id in page["deletedIds"].as_array().expect("deletedIds") {
                pulled.deleted.push(id.as_str().expect("id").to_owned());
            }
            if page["hasMore"] == false {
                return pulled;
            }
        }
    }

    /// The copy as a list sorted by id, as `all_todos` answers.
    pub fn sorted(&self) -> Vec<Value> {
        self.todos.values().cloned().collect()
    }
}
