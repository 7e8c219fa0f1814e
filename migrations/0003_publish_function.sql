-- A publish batch in one call, so that a publish on its own (autocommit) is
-- one round trip with its commit, instead of five (BEGIN, lock, key lookup,
-- write, COMMIT): the topic lock (invariant P) is held for the shortest
-- time, and a lone publish waits for nothing but its commit. docs/design.md,
-- "Publish", says why each step is as it is.
--
-- One row per message whose topic exists, in no particular order: its
-- ordinal in the input (from 1), the topic's id, the message's position, and
-- whether its idempotency key was used before (then the position is the
-- original's and nothing was stored).

-- The messages of a topic that used one of `keys` within the last
-- `window_ms`. hub_publish runs it once per topic of a batch with the keys as
-- one array parameter and with its own settings (a generic plan, sequential
-- scans off), and in that form the partial key index is the only way to the
-- rows, whatever the planner believes of a table's statistics: `topic_id + 0`
-- keeps out the indexes that lead with topic_id (given topic_id plainly, a
-- generic plan read every message of the topic through (topic_id,
-- position)), no seqscan keeps out a scan of a partition autovacuum has not
-- analyzed yet, and with the keys a parameter rather than a join input there
-- is no hash join to fall into (joined into a larger statement, a plan made
-- on empty tables read every keyed message of the partition per publish,
-- slower with every message stored). The upper bound prunes the empty
-- partitions made ahead. PublishTest.KeyLookupUsesTheKeyIndexOnAnUnanalyzedTable
-- explains this form.
CREATE FUNCTION hub_known_keys(p_topic_id bigint, p_keys text[], p_window_ms bigint)
RETURNS TABLE (idempotency_key text, "position" bigint)
LANGUAGE sql STABLE AS $fn$
  SELECT m.idempotency_key, m.position FROM messages m
  WHERE m.idempotency_key = ANY (p_keys) AND m.idempotency_key <> ''
    AND m.topic_id + 0 = p_topic_id
    AND m.publish_time > now() - p_window_ms * interval '1 millisecond'
    AND m.publish_time < now() + interval '1 hour'
$fn$;

CREATE FUNCTION hub_publish(
  p_topics text[],          -- each message's topic
  p_data bytea,             -- every payload, back to back
  p_offsets int[],          -- each payload's offset in p_data (from 1)
  p_lengths int[],
  p_attributes jsonb[],     -- NULL for none
  p_ordering_keys text[],
  p_idempotency_keys text[]) -- '' for none; no key twice per topic (the caller's part)
RETURNS TABLE (ord bigint, topic_id bigint, "position" bigint, duplicate boolean)
LANGUAGE plpgsql
-- A custom plan binds the batch's payloads as constants and took 0.9 s to
-- plan and run where the generic plan takes milliseconds; plpgsql would use
-- custom plans for each connection's first five calls.
SET plan_cache_mode = force_generic_plan
-- For the key lookup (hub_known_keys); the other statements read topics and
-- topic_heads by their unique indexes anyway.
SET enable_seqscan = off
AS $fn$
#variable_conflict use_column
DECLARE
  v_tid bigint;
  v_window_ms bigint;
  v_keys text[];
  -- The stored uses of the batch's keys: topic, key, position.
  v_known_tids bigint[] := '{}';
  v_known_keys text[] := '{}';
  v_known_positions bigint[] := '{}';
BEGIN
  -- Invariant P: the heads of the batch's topics, locked in id order (so
  -- that two batches cannot deadlock) until commit.
  PERFORM 1 FROM topic_heads h JOIN topics t ON t.id = h.topic_id
  WHERE t.name = ANY (p_topics) ORDER BY t.id FOR UPDATE OF h;

  -- Each statement from here sees every publish committed before the locks
  -- were granted, so no key used by an earlier holder is missed.
  FOR v_tid, v_window_ms, v_keys IN
    SELECT t.id, t.dedup_window_ms, array_agg(x.ikey)
    FROM unnest(p_topics, p_idempotency_keys) AS x (topic, ikey)
    JOIN topics t ON t.name = x.topic
    WHERE x.ikey <> '' GROUP BY t.id, t.dedup_window_ms
  LOOP
    SELECT v_known_tids || array_agg(v_tid), v_known_keys || array_agg(k.idempotency_key),
           v_known_positions || array_agg(k.position)
    INTO v_known_tids, v_known_keys, v_known_positions
    FROM hub_known_keys(v_tid, v_keys, v_window_ms) k;
  END LOOP;

  RETURN QUERY
  WITH q AS MATERIALIZED (
    SELECT x.ord, t.id AS tid, h.next_position AS head, x.off, x.len, x.attrs, x.okey, x.ikey
    FROM unnest(p_topics, p_offsets, p_lengths, p_attributes, p_ordering_keys,
                p_idempotency_keys) WITH ORDINALITY
      AS x (topic, off, len, attrs, okey, ikey, ord)
    JOIN topics t ON t.name = x.topic
    JOIN topic_heads h ON h.topic_id = t.id),
  known AS MATERIALIZED (
    SELECT * FROM unnest(v_known_tids, v_known_keys, v_known_positions) AS k (tid, ikey, pos)),
  fresh AS MATERIALIZED (
    SELECT q.*, q.head + row_number() OVER (PARTITION BY q.tid ORDER BY q.ord) - 1 AS pos
    FROM q
    WHERE q.ikey = '' OR NOT EXISTS (SELECT 1 FROM known k WHERE k.tid = q.tid AND k.ikey = q.ikey)),
  inserted AS (
    -- publish_time is read per row under the topic lock, so it grows with
    -- the position (Seek and retention rely on it).
    INSERT INTO messages (topic_id, position, publish_time, data, attributes, ordering_key,
                          idempotency_key)
    SELECT f.tid, f.pos, clock_timestamp(), substring(p_data FROM f.off FOR f.len), f.attrs,
           f.okey, f.ikey
    FROM fresh f),
  heads AS (
    UPDATE topic_heads h SET next_position = x.last + 1
    FROM (SELECT f.tid, max(f.pos) AS last FROM fresh f GROUP BY f.tid) x
    WHERE h.topic_id = x.tid)
  SELECT f.ord, f.tid, f.pos, false FROM fresh f
  UNION ALL
  SELECT q.ord, q.tid, k.pos, true FROM q JOIN known k ON k.tid = q.tid AND k.ikey = q.ikey;

  -- Wakes the other replicas' consumers at commit; PostgreSQL folds equal
  -- notifications of one transaction into one.
  PERFORM pg_notify('hub_publish', t.id::text) FROM topics t WHERE t.name = ANY (p_topics);
END
$fn$;
