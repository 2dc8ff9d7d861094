-- The database's ceiling for the list workload: the statement the server runs for the
-- bench's `todos(first: 20) { edges { node { id title completed priority dueAt version } } }`
-- (20 rows + 1 to know hasNextPage), for a random seeded owner. The server reads only the
-- columns the selection needs (and the sort key), and a NULL for each of the others and for
-- the title's sort key, which only a TITLE order reads (see src/store/todos/columns.rs);
-- the same NULLs stand here, so both statements send the same rows. bench_owners(n, id)
-- maps 1..:nusers to the seeded user ids; the lookup is a sub-query so that a transaction
-- is one round trip, as it is for the server.
\set n random(1, :nusers)
SELECT id, title, NULL::text, completed, NULL::timestamp, priority, due_at, version,
       created_at, NULL::timestamp, NULL::text, NULL::text
  FROM todos
 WHERE owner_id = (SELECT id FROM bench_owners WHERE n = :n)
 ORDER BY created_at DESC, id DESC
 LIMIT 21;
