-- The retry backoff of hub/backoff.h (RetryBackoff) as the one SQL
-- definition that statements use, so the two cannot disagree: the wait
-- before redelivering a message whose delivery `attempt` ended unacked,
-- minimum * 2^(attempt-1) with the exponent capped at 30, at most the
-- maximum; none before a first delivery or with a zero minimum. It replaces
-- the expression kExtendLeases carried, which gave half the minimum for
-- attempt 0 and overflowed from attempt 1,025 (power() of an uncapped
-- exponent). RetryBackoffTest.SqlAndCppAgree compares the two over a table
-- of attempts and policies. A one-expression SQL function: the planner
-- inlines it into the statement that calls it.
CREATE FUNCTION hub_retry_backoff_ms(minimum_ms bigint, maximum_ms bigint, attempt integer)
RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
  SELECT CASE WHEN attempt < 1 OR minimum_ms <= 0 THEN 0::bigint
              ELSE LEAST(maximum_ms, minimum_ms * (1::bigint << LEAST(attempt - 1, 30))) END
$fn$;
