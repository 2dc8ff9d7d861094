-- Nothing on SQLite: the shared rate-limit table exists only on PostgreSQL, where several
-- replicas share one database. An SQLite file has one server process, whose in-memory
-- limits are already the whole count (RATE_LIMIT_STORE=postgres is refused at start).
-- The stamp is kept so both backends list the same migrations.
SELECT 1;
