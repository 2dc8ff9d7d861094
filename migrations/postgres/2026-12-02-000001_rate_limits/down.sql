DROP FUNCTION rate_limit_add(text, bigint);
DROP FUNCTION rate_limit_backlog(text);
DROP FUNCTION rate_limit_take(text, bigint, bigint);
DROP TABLE rate_limits;
