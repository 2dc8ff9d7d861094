//! Statements diesel would prepare again on every run, prepared once per connection.
//!
//! diesel keeps a prepared statement only when its SQL cannot vary between runs of one
//! Rust type, so it keeps no `UPDATE` (a changeset may leave out `None` fields) and no raw
//! SQL. On PostgreSQL such a statement costs a round trip to prepare it (a transaction of
//! its own outside one), another to close it, and a fresh plan, every time: for a write,
//! more than its own execution. A statement whose text is the same on every run can be
//! kept by that text (diesel's cache key when a query has no static id): wrapped in
//! [`Prepared`], it is. Only for such statements: the cache holds every distinct text,
//! without a bound. Behind a pooler there is no cache at all (`db::pg`).

use diesel::{
    QueryResult,
    backend::Backend,
    query_builder::{AstPass, Query, QueryFragment, QueryId},
};

/// `Q`, whose SQL text is the same on every run, kept prepared by the connection.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Prepared<Q>(pub(crate) Q);

impl<Q: QueryFragment<DB>, DB: Backend> QueryFragment<DB> for Prepared<Q> {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _backend: &DB) -> QueryResult<bool> {
        Ok(true)
    }
}

/// Cached by its SQL text (and bind types), never by type: one Rust type may stand for
/// several texts.
impl<Q> QueryId for Prepared<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: Query> Query for Prepared<Q> {
    type SqlType = Q::SqlType;
}

#[cfg(test)]
mod tests {
    use diesel::{prelude::*, sql_types::BigInt};
    use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

    use super::Prepared;

    diesel::table! {
        prepared_probe (id) {
            id -> Integer,
            n -> Integer,
        }
    }

    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }

    async fn kept(conn: &mut AsyncPgConnection) -> i64 {
        diesel::sql_query(
            "SELECT count(*) AS n FROM pg_prepared_statements \
             WHERE statement LIKE 'UPDATE \"prepared_probe\"%'",
        )
        .get_result::<Count>(conn)
        .await
        .expect("the session's prepared statements")
        .n
    }

    /// On PostgreSQL (`TEST_DATABASE_URL`; skipped without it unless `REQUIRE_POSTGRES=1`):
    /// diesel closes a bare `UPDATE` after each run, and keeps one in `Prepared`, once for
    /// every run.
    #[tokio::test]
    async fn an_update_is_kept_prepared_only_when_wrapped() {
        let Ok(url) = std::env::var("TEST_DATABASE_URL") else {
            assert!(
                std::env::var("REQUIRE_POSTGRES").is_err(),
                "REQUIRE_POSTGRES is set but TEST_DATABASE_URL is not"
            );
            return;
        };
        let mut conn = AsyncPgConnection::establish(&url)
            .await
            .expect("PostgreSQL");
        diesel::sql_query("CREATE TEMP TABLE prepared_probe (id int PRIMARY KEY, n int NOT NULL)")
            .execute(&mut conn)
            .await
            .expect("a table");
        diesel::sql_query("INSERT INTO prepared_probe VALUES (1, 0)")
            .execute(&mut conn)
            .await
            .expect("a row");
        let update = || {
            diesel::update(prepared_probe::table.find(1))
                .set(prepared_probe::n.eq(prepared_probe::n + 1))
                .returning(prepared_probe::n)
        };

        for _ in 0..3 {
            update()
                .get_result::<i32>(&mut conn)
                .await
                .expect("an update");
        }
        assert_eq!(kept(&mut conn).await, 0, "diesel keeps no UPDATE");
        for _ in 0..3 {
            Prepared(update())
                .get_result::<i32>(&mut conn)
                .await
                .expect("an update");
        }
        assert_eq!(kept(&mut conn).await, 1, "one statement for every run");
        let n = Prepared(update()).get_result::<i32>(&mut conn).await;
        assert_eq!(n.expect("an update"), 7, "each run ran");
    }
}
