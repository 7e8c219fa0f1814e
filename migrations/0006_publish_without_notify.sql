-- hub_publish no longer notifies: a transaction that queued a notification
-- holds a database-wide lock from its commit until the commit is flushed
-- (and, with a synchronous standby, replicated), so every publishing commit
-- of the cluster queued behind the one before it. The replica that
-- published now announces it after the commit, from a connection of its own
-- (hub/pg/publish_announcer.h; docs/design.md, "Wake-ups"). The function is
-- otherwise that of 0001_baseline.sql, whose comments explain it.

CREATE OR REPLACE FUNCTION hub_publish(
  p_topics text[],
  p_data bytea,
  p_offsets int[],
  p_lengths int[],
  p_attributes jsonb[],
  p_ordering_keys text[],
  p_idempotency_keys text[])
RETURNS TABLE (ord bigint, topic_id bigint, "position" bigint, duplicate boolean)
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
SET jit = off
SET max_parallel_workers_per_gather = 0
AS $fn$
#variable_conflict use_column
DECLARE
  -- The batch's topics that exist, locked: name, id, next position, window.
  v_names text[];
  v_tids bigint[];
  v_heads bigint[];
  v_windows bigint[];
  v_tid bigint;
  v_window_ms bigint;
  v_keys text[];
  v_known_tids bigint[] := '{}';
  v_known_keys text[] := '{}';
  v_known_positions bigint[] := '{}';
BEGIN
  -- Invariant P: the heads locked in id order until commit. FOR UPDATE
  -- returns the newest version of a row it waited for, so the heads read
  -- here are those of the last publish committed before the lock.
  SELECT array_agg(l.name), array_agg(l.id), array_agg(l.next_position),
         array_agg(l.dedup_window_ms)
  INTO v_names, v_tids, v_heads, v_windows
  FROM (SELECT t.name, t.id, h.next_position, t.dedup_window_ms
        FROM topic_heads h JOIN topics t ON t.id = h.topic_id
        WHERE t.name = ANY (p_topics) ORDER BY t.id FOR UPDATE OF h) l;
  IF v_tids IS NULL THEN
    RETURN;
  END IF;

  FOR v_tid, v_window_ms, v_keys IN
    SELECT tm.tid, tm.win, array_agg(x.ikey)
    FROM unnest(p_topics, p_idempotency_keys) AS x (topic, ikey)
    JOIN unnest(v_names, v_tids, v_windows) AS tm (name, tid, win) ON tm.name = x.topic
    WHERE x.ikey <> '' GROUP BY tm.tid, tm.win
  LOOP
    SELECT v_known_tids || array_agg(v_tid), v_known_keys || array_agg(k.idempotency_key),
           v_known_positions || array_agg(k.position)
    INTO v_known_tids, v_known_keys, v_known_positions
    FROM hub_known_keys(v_tid, v_keys, v_window_ms) k;
  END LOOP;

  RETURN QUERY
  WITH q AS MATERIALIZED (
    SELECT x.ord, tm.tid, tm.head, x.off, x.len, x.attrs, x.okey, x.ikey
    FROM unnest(p_topics, p_offsets, p_lengths, p_attributes, p_ordering_keys,
                p_idempotency_keys) WITH ORDINALITY
      AS x (topic, off, len, attrs, okey, ikey, ord)
    JOIN unnest(v_names, v_tids, v_heads) AS tm (name, tid, head) ON tm.name = x.topic),
  known AS MATERIALIZED (
    SELECT * FROM unnest(v_known_tids, v_known_keys, v_known_positions) AS k (tid, ikey, pos)),
  fresh AS MATERIALIZED (
    SELECT q.*, q.head + row_number() OVER (PARTITION BY q.tid ORDER BY q.ord) - 1 AS pos
    FROM q
    WHERE q.ikey = '' OR NOT EXISTS (SELECT 1 FROM known k WHERE k.tid = q.tid AND k.ikey = q.ikey)),
  inserted AS (
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
END
$fn$;
