//! Creating a todo, idempotently when the client names it: a create with a `client_id`
//! the owner already used answers the todo the first one made and writes nothing. The
//! unique index on `(owner_id, client_id)` decides between concurrent twins (the insert
//! does nothing on conflict, and the loser answers the winner's todo); the read first only
//! saves a replay its write.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use sha2::{Digest, Sha256};

use super::{NewTodo, Todo, quota};
use crate::{
    auth::UserId,
    db::{self, DbConn, Outcome, with_conn},
    error::{AppError, AuthFailure},
    store::{
        changes,
        schema::{todo_tombstones, todos, users},
    },
};

/// Creates a todo for `owner`; returns it with the change number of the create (`None`
/// when the create replayed an earlier one with the same `client_id`, writing nothing).
/// `QUOTA_EXCEEDED`, writing nothing, when they already hold `max_todos`; `CLIENT_ID_REUSED`
/// when the `client_id` made a todo of other fields; `NOT_FOUND` when the todo it made
/// has been deleted.
pub(crate) async fn create(
    conn: &mut DbConn,
    owner: &UserId,
    new: NewTodo,
    max_todos: u32,
) -> Result<(Todo, Option<i64>), AppError> {
    // One todo and the account's row: in place (see `db::in_place`).
    db::in_place(create_in_place(conn, owner, new, max_todos)).await
}

async fn create_in_place(
    conn: &mut DbConn,
    owner: &UserId,
    new: NewTodo,
    max_todos: u32,
) -> Result<(Todo, Option<i64>), AppError> {
    let fingerprint = fingerprint(&new);
    if let Some(client_id) = &new.client_id
        && let Some(todo) = replayed(conn, owner, client_id, &fingerprint).await?
    {
        return Ok((todo, None));
    }
    let now = crate::store::now().naive_utc();
    let client_id = new.client_id.clone();
    let inserted = conn
        .transaction_or_rollback(async |conn| {
            let seq = quota::take_slot(conn, owner, max_todos).await?;
            let values = (
                todos::id.eq(uuid::Uuid::new_v4().to_string()),
                todos::owner_id.eq(owner.as_str()),
                todos::title.eq(new.title),
                todos::notes.eq(new.notes),
                todos::completed.eq(new.completed),
                todos::completed_at.eq(new.completed.then_some(now)),
                todos::priority.eq(new.priority.as_i32()),
                todos::due_at.eq(new.due_at.map(|d| d.naive_utc())),
                todos::version.eq(1),
                todos::created_at.eq(now),
                todos::updated_at.eq(now),
                todos::change_seq.eq(seq),
                todos::created_seq.eq(seq),
                todos::client_id.eq(new.client_id),
                todos::client_fingerprint.eq(client_id.as_ref().map(|_| fingerprint.as_str())),
            );
            let todo = with_conn!(&mut *conn, |c| {
                diesel::insert_into(todos::table)
                    .values(values)
                    .on_conflict((todos::owner_id, todos::client_id))
                    .do_nothing()
                    .returning(Todo::as_returning())
                    .get_result(c)
                    .await
                    .optional()
            })
            .map_err(|e| match e {
                // The owner's account is gone: the token outlived it.
                diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::ForeignKeyViolation,
                    _,
                ) => AppError::Unauthenticated(AuthFailure::SessionRevoked),
                e => e.into(),
            })?;
            Ok(match todo {
                Some(todo) => Outcome::Commit(Some((todo, seq))),
                // A twin with the same client id committed first: undo the slot and the
                // number, and answer its todo.
                None => Outcome::Rollback(None),
            })
        })
        .await?;
    if let Some((todo, seq)) = inserted {
        changes::announce(conn, owner, Some(seq)).await;
        return Ok((todo, Some(seq)));
    }
    let client_id = client_id.as_deref().unwrap_or_default();
    let todo = replayed(conn, owner, client_id, &fingerprint)
        .await?
        .ok_or_else(|| {
            anyhow::anyhow!("a create conflicted on its client id, yet no todo holds it")
        })?;
    Ok((todo, None))
}

/// The owner's todo that an earlier create with `client_id` made, when that create had
/// this `fingerprint`; `CLIENT_ID_REUSED` when it had another, `NOT_FOUND` when its todo
/// has been deleted (while the tombstone is kept). `None`: the client id is new. One
/// statement: the account's row, joined to the todo, with the tombstone as a subquery.
async fn replayed(
    conn: &mut DbConn,
    owner: &UserId,
    client_id: &str,
    fingerprint: &str,
) -> Result<Option<Todo>, AppError> {
    let buried = todo_tombstones::table
        .filter(todo_tombstones::owner_id.eq(owner.as_str()))
        .filter(todo_tombstones::client_id.eq(client_id))
        .select(todo_tombstones::client_fingerprint)
        .single_value();
    let found: Option<(Option<Todo>, Option<String>, Option<String>)> =
        with_conn!(&mut *conn, |c| {
            users::table
                .left_join(
                    todos::table.on(todos::owner_id
                        .eq(users::id)
                        .and(todos::client_id.eq(client_id))),
                )
                .filter(users::id.eq(owner.as_str()))
                .select((
                    Option::<Todo>::as_select(),
                    todos::client_fingerprint.nullable(),
                    buried,
                ))
                .first(c)
                .await
                .optional()
        })?;
    let Some((todo, made_by, buried)) = found else {
        // The account is gone; the create's own write says so.
        return Ok(None);
    };
    let same = |made_by: Option<&str>| made_by == Some(fingerprint);
    match (todo, buried.as_deref()) {
        (Some(todo), _) if same(made_by.as_deref()) => Ok(Some(todo)),
        (Some(_), _) => Err(AppError::ClientIdReused),
        (None, Some(buried)) if same(Some(buried)) => Err(AppError::NotFound),
        (None, Some(_)) => Err(AppError::ClientIdReused),
        (None, None) => Ok(None),
    }
}

/// The SHA-256 (hex) of a create's checked fields, in a fixed order: two creates with the
/// same client id are the same create when their fingerprints are equal.
fn fingerprint(new: &NewTodo) -> String {
    let canonical = serde_json::json!([
        new.title,
        new.notes,
        new.priority.as_i32(),
        new.due_at.map(|d| d.timestamp_micros()),
        new.completed,
    ]);
    let digest = Sha256::digest(canonical.to_string().as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fingerprint_tells_every_field_apart() {
        let base = NewTodo {
            title: "milk".into(),
            ..NewTodo::default()
        };
        let variants = [
            NewTodo {
                title: "milk!".into(),
                ..base.clone()
            },
            NewTodo {
                notes: Some(String::new()),
                ..base.clone()
            },
            NewTodo {
                priority: super::super::Priority::Low,
                ..base.clone()
            },
            NewTodo {
                due_at: Some(chrono::DateTime::UNIX_EPOCH),
                ..base.clone()
            },
            NewTodo {
                completed: true,
                ..base.clone()
            },
        ];
        let same = NewTodo {
            client_id: Some("another client id changes nothing".into()),
            ..base.clone()
        };
        assert_eq!(fingerprint(&same), fingerprint(&base));
        for variant in &variants {
            assert_ne!(fingerprint(variant), fingerprint(&base), "{variant:?}");
        }
    }
}
