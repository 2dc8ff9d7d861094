-- The database's ceiling for createTodo: one single-row INSERT ... RETURNING per
-- transaction (autocommit), for a random seeded owner.
\set n random(1, :nusers)
\set p random(0, 3)
INSERT INTO todos (id, owner_id, title, notes, completed, completed_at, priority, due_at, version, created_at, updated_at)
VALUES (gen_random_uuid()::text, (SELECT id FROM bench_owners WHERE n = :n), 'pgbench todo', NULL, false, NULL, :p, NULL, 1,
        (now() AT TIME ZONE 'UTC'), (now() AT TIME ZONE 'UTC'))
RETURNING id, title, notes, completed, completed_at, priority, due_at, version, created_at, updated_at;
