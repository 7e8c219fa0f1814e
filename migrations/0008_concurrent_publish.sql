-- Several publish transactions per topic at once (docs/design.md,
-- "Positions"). Until now hub_publish locked the topic's head first and held
-- it through the key lookup, the inserts and the commit's flush, so a topic
-- took one transaction at a time. Now a publish reserves its positions,
-- looks up its keys and writes its rows with the head unlocked, and takes the
-- head lock only to check the numbering and commit. Invariant P stays as it
-- was: the positions a transaction commits are those it read from the head
-- under the lock, and where the reservation guessed them wrong (a
-- predecessor that aborted, another writer that came first) the rows are
-- renumbered under the lock before the commit.

-- Each topic's reservation counter. A reservation must not be rolled back
-- with the transaction that made it, nor hold a lock until that commit, so it
-- is a sequence, one per topic, made and dropped with the topic's head row.
-- It only guesses: the head row still decides every position.
CREATE FUNCTION hub_reservations(p_topic_id bigint) RETURNS text
LANGUAGE sql IMMUTABLE AS $fn$ SELECT 'hub_reservations_' || p_topic_id $fn$;

CREATE FUNCTION hub_topic_heads_reservations() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
  IF TG_OP = 'INSERT' THEN
    EXECUTE format('CREATE SEQUENCE IF NOT EXISTS %I MINVALUE 0', hub_reservations(NEW.topic_id));
    PERFORM setval(hub_reservations(NEW.topic_id), NEW.next_position, false);
    RETURN NEW;
  END IF;
  EXECUTE format('DROP SEQUENCE IF EXISTS %I', hub_reservations(OLD.topic_id));
  RETURN OLD;
END
$fn$;

CREATE TRIGGER topic_heads_reservations AFTER INSERT OR DELETE ON topic_heads
  FOR EACH ROW EXECUTE FUNCTION hub_topic_heads_reservations();

DO $do$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT topic_id, next_position FROM topic_heads LOOP
    EXECUTE format('CREATE SEQUENCE %I MINVALUE 0', hub_reservations(r.topic_id));
    PERFORM setval(hub_reservations(r.topic_id), r.next_position, false);
  END LOOP;
END
$do$;

-- Advisory lock keys (the two-int4 form, apart from the migrations' bigint
-- key): (topic, -1) guards a topic's reservation counter for an instant;
-- (topic, p) is held by the transaction whose reservation ends just before
-- p, until it ends. Keys wrap at 2^31; a collision can only make a publish
-- wait for an unrelated one, never change a position.
CREATE FUNCTION hub_lock_key(p bigint) RETURNS int
LANGUAGE sql IMMUTABLE AS $fn$ SELECT (p % 2147483647)::int $fn$;

-- Takes the reservation counters' locks of topics `tids` (id order), for
-- the subtransaction hub_reserve and hub_rewind call it in.
CREATE FUNCTION hub_lock_counters(p_tids bigint[]) RETURNS void
LANGUAGE plpgsql AS $fn$
BEGIN
  FOR i IN 1 .. cardinality(p_tids) LOOP
    PERFORM pg_advisory_xact_lock(hub_lock_key(p_tids[i]), -1);
  END LOOP;
END
$fn$;

-- Reserves counts[i] positions of each topic tids[i] (id order) at or above
-- floors[i]: one row per topic with its first position (NULL for a topic
-- deleted meanwhile). All of a batch's counters are taken together, so two
-- multi-topic batches are reserved in one order on every topic they share
-- and cannot wait for each other in a circle; their locks are released at
-- once by ending the subtransaction they were taken in (a sequence keeps its
-- value through that). The lock on (topic, end of the reservation), held
-- until this transaction ends, is what the next reservation waits for.
CREATE FUNCTION hub_reserve(p_tids bigint[], p_counts int[], p_floors bigint[])
RETURNS TABLE (tid bigint, base bigint, first bigint, count int)
LANGUAGE plpgsql AS $fn$
DECLARE
  v_firsts bigint[] := '{}';
  v_first bigint;
BEGIN
  IF p_tids IS NULL THEN
    RETURN;
  END IF;
  BEGIN
    PERFORM hub_lock_counters(p_tids);
    FOR i IN 1 .. cardinality(p_tids) LOOP
      v_first := NULL;
      IF to_regclass(hub_reservations(p_tids[i])) IS NOT NULL THEN
        -- A topic deleted while this waits for its counter: the counter is
        -- gone once the wait ends, and so is the topic.
        BEGIN
          v_first := greatest(nextval(hub_reservations(p_tids[i])), p_floors[i]);
          PERFORM setval(hub_reservations(p_tids[i]), v_first + p_counts[i] - 1);
        EXCEPTION WHEN OTHERS THEN
          IF to_regclass(hub_reservations(p_tids[i])) IS NOT NULL THEN
            RAISE;
          END IF;
          v_first := NULL;
        END;
      END IF;
      v_firsts := v_firsts || v_first;
    END LOOP;
    RAISE SQLSTATE 'HUB01';
  EXCEPTION WHEN SQLSTATE 'HUB01' THEN
    NULL;
  END;
  FOR i IN 1 .. cardinality(p_tids) LOOP
    IF v_firsts[i] IS NOT NULL THEN
      PERFORM pg_advisory_xact_lock(hub_lock_key(p_tids[i]),
                                    hub_lock_key(v_firsts[i] + p_counts[i]));
    END IF;
  END LOOP;
  RETURN QUERY SELECT * FROM unnest(p_tids, p_floors, v_firsts, p_counts);
END
$fn$;

-- After a transaction numbered its rows other than reserved (from ends[i],
-- its reservation's end, to new_ends[i]): if no one reserved after it, the
-- counter moves to where the head will be, so that the next reservations
-- guess right again instead of all renumbering.
CREATE FUNCTION hub_rewind(p_tids bigint[], p_ends bigint[], p_new_ends bigint[])
RETURNS void
LANGUAGE plpgsql AS $fn$
BEGIN
  IF p_tids IS NULL THEN
    RETURN;
  END IF;
  BEGIN
    PERFORM hub_lock_counters(p_tids);
    FOR i IN 1 .. cardinality(p_tids) LOOP
      IF pg_sequence_last_value(hub_reservations(p_tids[i])) = p_ends[i] - 1 THEN
        PERFORM setval(hub_reservations(p_tids[i]), p_new_ends[i] - 1);
      END IF;
    END LOOP;
    RAISE SQLSTATE 'HUB01';
  EXCEPTION WHEN SQLSTATE 'HUB01' THEN
    RETURN;
  END;
END
$fn$;

-- The positions `low` to `high - 1` of a topic and their keys, but for the
-- rows of transaction `mine`: what committed between a publish's base and
-- the head it locked. Those rows are few (what the transactions just before
-- wrote) and just written, so they are read by position rather than probed
-- for by key; one topic per call with the range as plain arguments, so that
-- the range is the index condition (joined to an array of ranges, a generic
-- plan read every position below the head). No condition on the key: one
-- would let the partial key index in, read whole. Inlined; PublishTest.
-- RowsBetweenReadOnlyTheirRange explains it.
CREATE FUNCTION hub_rows_between(p_topic_id bigint, p_low bigint, p_high bigint, p_mine xid)
RETURNS TABLE (idempotency_key text, "position" bigint)
LANGUAGE sql STABLE AS $fn$
  SELECT m.idempotency_key, m.position FROM messages m
  WHERE m.topic_id = p_topic_id AND m.position >= p_low AND m.position < p_high
    AND m.publish_time < now() + interval '1 hour' AND m.xmin <> p_mine
$fn$;

-- What hub_publish_stage hands to hub_publish_number. Per topic written to
-- (id order): its id, its head as read before the key lookup (base), its
-- dedup window, the first reserved position (NULL for a topic deleted
-- meanwhile) and the count reserved. Per row written: its ordinal in the
-- request, topic, reserved position and idempotency key. Per message whose
-- key was found: ordinal, topic, original position.
CREATE TYPE hub_publish_stage AS (
  tids bigint[],
  bases bigint[],
  windows bigint[],
  firsts bigint[],
  counts int[],
  keyed boolean,
  row_ords bigint[],
  row_tids bigint[],
  row_positions bigint[],
  row_keys text[],
  known_ords bigint[],
  known_tids bigint[],
  known_positions bigint[]);

-- The part of a publish that needs no lock: reads the heads, looks up the
-- keys, reserves positions and writes the rows at them. Its settings are
-- those of 0001's hub_publish, for the same reasons.
CREATE FUNCTION hub_publish_stage(
  p_topics text[],
  p_data bytea,
  p_offsets int[],
  p_lengths int[],
  p_attributes jsonb[],
  p_ordering_keys text[],
  p_idempotency_keys text[])
RETURNS hub_publish_stage
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
SET jit = off
SET max_parallel_workers_per_gather = 0
AS $fn$
#variable_conflict use_column
DECLARE
  s hub_publish_stage;
  v_names text[];
  v_tids bigint[];
  v_bases bigint[];
  v_windows bigint[];
  v_tid bigint;
  v_window_ms bigint;
  v_keys text[];
  v_known_tids bigint[] := '{}';
  v_known_keys text[] := '{}';
  v_known_positions bigint[] := '{}';
BEGIN
  -- The bases are read before the keys are looked up: whatever commits after
  -- this statement's snapshot has positions at or above them, which is where
  -- hub_publish_number probes for keys committed in between.
  SELECT array_agg(l.name), array_agg(l.id), array_agg(l.next_position),
         array_agg(l.dedup_window_ms)
  INTO v_names, v_tids, v_bases, v_windows
  FROM (SELECT t.name, t.id, h.next_position, t.dedup_window_ms
        FROM topic_heads h JOIN topics t ON t.id = h.topic_id
        WHERE t.name = ANY (p_topics) ORDER BY t.id) l;
  IF v_tids IS NULL THEN
    RETURN s;
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
  IF cardinality(v_known_tids) > 0 THEN
    SELECT array_agg(x.ord), array_agg(k.tid), array_agg(k.pos)
    INTO s.known_ords, s.known_tids, s.known_positions
    FROM unnest(p_topics, p_idempotency_keys) WITH ORDINALITY AS x (topic, ikey, ord)
    JOIN unnest(v_names, v_tids) AS tm (name, tid) ON tm.name = x.topic
    JOIN unnest(v_known_tids, v_known_keys, v_known_positions) AS k (tid, ikey, pos)
      ON k.tid = tm.tid AND k.ikey = x.ikey;
  END IF;

  WITH q AS MATERIALIZED (
    SELECT x.ord, tm.tid, tm.base, tm.win, x.off, x.len, x.attrs, x.okey, x.ikey
    FROM unnest(p_topics, p_offsets, p_lengths, p_attributes, p_ordering_keys,
                p_idempotency_keys) WITH ORDINALITY
      AS x (topic, off, len, attrs, okey, ikey, ord)
    JOIN unnest(v_names, v_tids, v_bases, v_windows) AS tm (name, tid, base, win)
      ON tm.name = x.topic
    LEFT JOIN unnest(s.known_ords) AS kd (ord) ON kd.ord = x.ord
    WHERE kd.ord IS NULL),
  t AS MATERIALIZED (
    SELECT q.tid, q.base, q.win, count(*)::int AS n FROM q GROUP BY q.tid, q.base, q.win),
  r AS MATERIALIZED (
    SELECT rv.*, t.win
    FROM (SELECT array_agg(t.tid ORDER BY t.tid) AS tids, array_agg(t.n ORDER BY t.tid) AS ns,
                 array_agg(t.base ORDER BY t.tid) AS bases FROM t) a
    CROSS JOIN LATERAL hub_reserve(a.tids, a.ns, a.bases) rv
    JOIN t ON t.tid = rv.tid),
  fresh AS MATERIALIZED (
    SELECT q.ord, q.tid, q.off, q.len, q.attrs, q.okey, q.ikey,
           r.first + row_number() OVER (PARTITION BY q.tid ORDER BY q.ord) - 1 AS pos
    FROM q JOIN r ON r.tid = q.tid
    WHERE r.first IS NOT NULL),
  inserted AS (
    INSERT INTO messages (topic_id, position, publish_time, data, attributes, ordering_key,
                          idempotency_key)
    SELECT f.tid, f.pos, clock_timestamp(), substring(p_data FROM f.off FOR f.len), f.attrs,
           f.okey, f.ikey
    FROM fresh f)
  SELECT a.tids, a.bases, a.windows, a.firsts, a.counts, f.keyed, f.ords, f.tids, f.positions,
         f.ikeys
  INTO s.tids, s.bases, s.windows, s.firsts, s.counts, s.keyed, s.row_ords, s.row_tids,
       s.row_positions, s.row_keys
  FROM (SELECT array_agg(r.tid ORDER BY r.tid) AS tids, array_agg(r.base ORDER BY r.tid) AS bases,
               array_agg(r.win ORDER BY r.tid) AS windows,
               array_agg(r.first ORDER BY r.tid) AS firsts,
               array_agg(r.count ORDER BY r.tid) AS counts FROM r) a,
       (SELECT bool_or(f.ikey <> '') AS keyed, array_agg(f.ord) AS ords, array_agg(f.tid) AS tids,
               array_agg(f.pos) AS positions, array_agg(f.ikey) AS ikeys FROM fresh f) f;
  RETURN s;
END
$fn$;

-- The serial part: waits until the transaction reserved just before it on
-- each topic has ended, locks the heads in id order (invariant P: positions
-- are what the head says under this lock), drops the rows whose keys a
-- transaction committed in between used, renumbers the rest from the heads
-- where the reservation guessed wrong, and moves the heads. The commit
-- follows. The rows a transaction wrote are found by their xmin: hub_publish
-- runs in no subtransaction of its caller's (none of the store's
-- transactions makes one), and a count check aborts if that ever changes.
CREATE FUNCTION hub_publish_number(s hub_publish_stage)
RETURNS TABLE (ord bigint, topic_id bigint, "position" bigint, duplicate boolean)
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
SET jit = off
SET max_parallel_workers_per_gather = 0
AS $fn$
#variable_conflict use_column
DECLARE
  v_tids bigint[];
  v_heads bigint[];
  v_late_ords bigint[];
  v_late_positions bigint[];
  v_finals bigint[];
  v_moved bigint;
  v_expected bigint;
  v_i int;
  v_head bigint;
  v_between_tids bigint[] := '{}';
  v_between_keys text[] := '{}';
  v_between_positions bigint[] := '{}';
BEGIN
  IF s.tids IS NOT NULL THEN
    FOR i IN 1 .. cardinality(s.tids) LOOP
      IF s.firsts[i] IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock_shared(hub_lock_key(s.tids[i]), hub_lock_key(s.firsts[i]));
      END IF;
    END LOOP;

    SELECT array_agg(l.topic_id), array_agg(l.next_position) INTO v_tids, v_heads
    FROM (SELECT h.topic_id, h.next_position FROM topic_heads h
          WHERE h.topic_id = ANY (s.tids) ORDER BY h.topic_id FOR UPDATE OF h) l;

    -- Keys committed between the stage's base and the head just locked,
    -- read by position (hub_rows_between).
    IF s.keyed AND v_heads IS DISTINCT FROM s.bases THEN
      FOR v_i IN 1 .. cardinality(s.tids) LOOP
        v_head := v_heads[array_position(v_tids, s.tids[v_i])];
        CONTINUE WHEN v_head IS NULL OR v_head <= s.bases[v_i];
        SELECT v_between_tids || array_agg(s.tids[v_i]),
               v_between_keys || array_agg(b.idempotency_key),
               v_between_positions || array_agg(b.position)
        INTO v_between_tids, v_between_keys, v_between_positions
        FROM hub_rows_between(s.tids[v_i], s.bases[v_i], v_head, pg_current_xact_id()::xid) b;
      END LOOP;
      SELECT array_agg(r.ord), array_agg(c.pos) INTO v_late_ords, v_late_positions
      FROM unnest(v_between_tids, v_between_keys, v_between_positions) AS c (tid, ikey, pos)
      JOIN unnest(s.row_ords, s.row_tids, s.row_keys) AS r (ord, tid, ikey)
        ON r.tid = c.tid AND r.ikey = c.ikey
      WHERE r.ikey <> '';
    END IF;

    v_finals := s.row_positions;
    IF v_late_ords IS NOT NULL OR v_tids IS DISTINCT FROM s.tids
       OR v_heads IS DISTINCT FROM s.firsts THEN
      -- The reservation guessed wrong (a predecessor aborted, another writer
      -- came first, a topic is gone) or rows turned out to be duplicates:
      -- the kept rows are numbered from the heads, in their reserved order.
      SELECT array_agg(z.final ORDER BY z.i) INTO v_finals
      FROM (SELECT r.i, CASE WHEN r.keep THEN th.head + row_number() OVER (
                     PARTITION BY r.tid, r.keep ORDER BY r.pos) - 1 END AS final
            FROM (SELECT r.*, r.ord <> ALL (coalesce(v_late_ords, '{}')) AS keep
                  FROM unnest(s.row_ords, s.row_tids, s.row_positions) WITH ORDINALITY
                    AS r (ord, tid, pos, i)) r
            LEFT JOIN unnest(v_tids, v_heads) AS th (tid, head) ON th.tid = r.tid) z;
      DELETE FROM messages m
      USING unnest(s.row_ords, s.row_tids, s.row_positions) AS r (ord, tid, pos)
      WHERE r.ord = ANY (v_late_ords) AND m.topic_id = r.tid AND m.position = r.pos
        AND m.xmin = pg_current_xact_id()::xid;
      UPDATE messages m SET position = r.final
      FROM unnest(s.row_tids, s.row_positions, v_finals) AS r (tid, pos, final)
      WHERE m.topic_id = r.tid AND m.position = r.pos AND r.final <> r.pos
        AND m.xmin = pg_current_xact_id()::xid;
      GET DIAGNOSTICS v_moved = ROW_COUNT;
      SELECT count(*) INTO v_expected FROM unnest(s.row_positions, v_finals) AS r (pos, final)
      WHERE r.final <> r.pos;
      IF v_moved <> v_expected THEN
        RAISE 'hub_publish_number renumbered % rows of %', v_moved, v_expected;
      END IF;
      PERFORM hub_rewind(array_agg(x.tid), array_agg(x.first + x.count),
                         array_agg(coalesce(w.last + 1, th.head)))
      FROM unnest(s.tids, s.firsts, s.counts) AS x (tid, first, count)
      JOIN unnest(v_tids, v_heads) AS th (tid, head) ON th.tid = x.tid
      LEFT JOIN (SELECT r.tid, max(r.final) AS last
                 FROM unnest(s.row_tids, v_finals) AS r (tid, final) GROUP BY r.tid) w
        ON w.tid = x.tid
      WHERE coalesce(w.last + 1, th.head) <> x.first + x.count;
      UPDATE topic_heads h SET next_position = w.last + 1
      FROM (SELECT r.tid, max(r.final) AS last
            FROM unnest(s.row_tids, v_finals) AS r (tid, final)
            WHERE r.final IS NOT NULL GROUP BY r.tid) w
      WHERE h.topic_id = w.tid;
    ELSE
      UPDATE topic_heads h SET next_position = x.first + x.count
      FROM unnest(s.tids, s.firsts, s.counts) AS x (tid, first, count)
      WHERE h.topic_id = x.tid;
    END IF;
  END IF;

  RETURN QUERY
  SELECT r.ord, r.tid, r.final, false
  FROM unnest(s.row_ords, s.row_tids, v_finals) AS r (ord, tid, final)
  WHERE r.final IS NOT NULL
  UNION ALL
  SELECT k.ord, k.tid, k.pos, true
  FROM unnest(s.known_ords, s.known_tids, s.known_positions) AS k (ord, tid, pos)
  UNION ALL
  SELECT l.ord, r.tid, l.pos, true
  FROM unnest(v_late_ords, v_late_positions) AS l (ord, pos)
  JOIN unnest(s.row_ords, s.row_tids) AS r (ord, tid) ON r.ord = l.ord;
END
$fn$;

-- The entry point keeps its signature (the store, Transact and dead letters
-- call it): the two parts, the commit after them.
CREATE OR REPLACE FUNCTION hub_publish(
  p_topics text[],
  p_data bytea,
  p_offsets int[],
  p_lengths int[],
  p_attributes jsonb[],
  p_ordering_keys text[],
  p_idempotency_keys text[])
RETURNS TABLE (ord bigint, topic_id bigint, "position" bigint, duplicate boolean)
LANGUAGE sql AS $fn$
  SELECT * FROM hub_publish_number(hub_publish_stage(p_topics, p_data, p_offsets, p_lengths,
                                                     p_attributes, p_ordering_keys,
                                                     p_idempotency_keys))
$fn$;
