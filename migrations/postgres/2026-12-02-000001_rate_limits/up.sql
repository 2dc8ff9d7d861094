-- The rate-limit counters every replica shares (src/shared_limits.rs). UNLOGGED: a count
-- writes no WAL and waits on no disk flush; the price is that a crash or failover of
-- PostgreSQL empties the table, resetting every counter (each replica's in-memory limits
-- still hold meanwhile).
CREATE UNLOGGED TABLE rate_limits (
    -- `ip:<address>`, `account:<sha-256 of the email, hex>` or `write:<user id>`.
    key text PRIMARY KEY,
    -- GCRA's theoretical arrival time on the database's clock: each counted event moves it
    -- one emission interval (period / count) further; the key is over its rate when one
    -- more would put it more than a period ahead. A time in the past is as good as no row,
    -- and the sweep deletes those (no index: it runs once a minute over the live keys).
    tat timestamptz NOT NULL
);

-- Each function waits at most 50 ms for a lock (a held lock means the database cannot
-- answer now, and the caller falls back to its in-memory limits rather than queue logins);
-- the setting is the function's own, so it leaves no state on the connection or pooler.

-- Counts one event on `k` if it fits its rate: 0 when counted, else the microseconds until
-- it would fit (nothing counted).
CREATE FUNCTION rate_limit_take(k text, step_us bigint, period_us bigint) RETURNS bigint
LANGUAGE plpgsql SET lock_timeout = '50ms' AS $$
DECLARE
    now timestamptz := clock_timestamp();
    step interval := step_us * interval '1 microsecond';
    period interval := period_us * interval '1 microsecond';
    current timestamptz;
BEGIN
    INSERT INTO rate_limits AS r (key, tat) VALUES (k, now + step)
    ON CONFLICT (key) DO UPDATE SET tat = greatest(r.tat, now) + step
        WHERE greatest(r.tat, now) + step <= now + period;
    IF FOUND THEN
        RETURN 0;
    END IF;
    -- The conflicting row is locked by the refused upsert, so this reads what refused it.
    SELECT r.tat INTO current FROM rate_limits r WHERE r.key = k;
    RETURN greatest(1, ceil(extract(epoch FROM greatest(current, now) + step - period - now)
        * 1000000))::bigint;
END $$;

-- How far `k`'s arrival time is ahead of the clock, in microseconds (0 for none).
CREATE FUNCTION rate_limit_backlog(k text) RETURNS bigint
LANGUAGE plpgsql SET lock_timeout = '50ms' AS $$
DECLARE
    current timestamptz;
BEGIN
    SELECT r.tat INTO current FROM rate_limits r WHERE r.key = k;
    RETURN coalesce(greatest(0, ceil(extract(epoch FROM current - clock_timestamp())
        * 1000000))::bigint, 0);
END $$;

-- Counts `amount_us` worth of events on `k` whether they fit or not (they already
-- happened); returns the backlog after, in microseconds.
CREATE FUNCTION rate_limit_add(k text, amount_us bigint) RETURNS bigint
LANGUAGE plpgsql SET lock_timeout = '50ms' AS $$
DECLARE
    now timestamptz := clock_timestamp();
    amount interval := amount_us * interval '1 microsecond';
    after timestamptz;
BEGIN
    INSERT INTO rate_limits AS r (key, tat) VALUES (k, now + amount)
    ON CONFLICT (key) DO UPDATE SET tat = greatest(r.tat, now) + amount
    RETURNING r.tat INTO after;
    RETURN greatest(0, ceil(extract(epoch FROM after - now) * 1000000))::bigint;
END $$;
