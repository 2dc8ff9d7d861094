-- The database's ceiling for the list workload: the page query the server runs for
-- todos(first: 20) (20 rows + 1 to know hasNextPage), for a random seeded owner.
-- bench_owners(n, id) maps 1..:nusers to the seeded user ids; the lookup is a sub-query so
-- that a transaction is one round trip, as it is for the server.
\set n random(1, :nusers)
SELECT id, title, notes, completed, completed_at, priority, due_at, version, created_at, updated_at, lower(title)
  FROM todos
 WHERE owner_id = (SELECT id FROM bench_owners WHERE n = :n)
 ORDER BY created_at DESC, id DESC
 LIMIT 21;
