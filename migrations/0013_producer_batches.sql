-- Producer batches (docs/design.md, "Producers") as an insert-only log
-- instead of 0012's row per producer, and checked once, under the head
-- lock.
--
-- 0012 rewrote a producer's row (its last 16 batches) with every batch.
-- While a transaction held the xmin horizon back, none of those versions
-- could be pruned, and every lookup and upsert of the row walked all of
-- them: in the benchmark's held minute (P5, 8 producers) the upsert went
-- from 8 to 2,372 buffers and the publish statement from 0.6 to 4.3 ms,
-- and the consume rate fell to 0.47x of the free minute. A log row per
-- batch is never updated, so a lookup reads the same few index entries
-- whatever the horizon. It also remembers every batch of the dedup window,
-- not the last 16, so no batch is refused as possibly forgotten. Its rows
-- go with their day's partition once older than the longest dedup window,
-- as publish_keys' do.
--
-- hub_publish_stage no longer looks batches up: hub_publish_number does,
-- after taking the head lock, and finds a batch committed before as well
-- as one committed meanwhile (it removes what the stage wrote and answers
-- it). The stage's lookup cost a publish 0.15-0.20 ms (pg_stat_statements,
-- docs/benchmarks.md, "Segments (issue 35)") to save work only for the
-- rare batch sent again. A key is still looked up in the stage:
-- hub_publish_number looks only at keys committed between the stage's base
-- and the head it locks.

-- One row per committed producer batch: its topic, producer, first
-- sequence number, message count, first position and time.
CREATE TABLE producer_batches (
  topic_id       bigint NOT NULL,
  producer       text NOT NULL,
  first_sequence bigint NOT NULL,
  count          int NOT NULL,
  position       bigint NOT NULL,
  publish_time   timestamptz NOT NULL
) PARTITION BY RANGE (publish_time);

CREATE INDEX producer_batches_producer ON producer_batches (topic_id, producer, first_sequence);

-- Partitions for the days of the batches 0012 remembered, and for today
-- and the week ahead, named as hubd names them (hub/pg/statements.h,
-- PartitionName): a hubd of 0012 still serving during a rolling upgrade
-- publishes through the functions below but makes no partitions of this
-- table.
DO $do$
DECLARE
  v_day timestamptz;
BEGIN
  FOR v_day IN SELECT DISTINCT date_trunc('day', t AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
               FROM producers, unnest(times) AS t
               UNION
               SELECT date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
                      + d * interval '24 hours'
               FROM generate_series(0, 7) AS d LOOP
    EXECUTE format('CREATE TABLE %I PARTITION OF producer_batches FOR VALUES FROM (%L) TO (%L)',
                   'producer_batches_p' || to_char(v_day AT TIME ZONE 'UTC', 'YYYYMMDD'), v_day,
                   v_day + interval '24 hours');
  END LOOP;
END
$do$;

INSERT INTO producer_batches (topic_id, producer, first_sequence, count, position, publish_time)
SELECT p.topic_id, p.producer, b.s, b.c, b.q, b.t
FROM producers p, unnest(p.sequences, p.counts, p.positions, p.times) AS b (s, c, q, t);

DROP TABLE producers;

-- What a producer's batch of `p_count` messages from sequence number
-- `p_sequence` meets among the batches the producer committed to the topic
-- within the last `p_window_ms`: 'duplicate' when the same batch is there
-- (`original` its first position), 'overlap' when it shares sequence
-- numbers with one, else 'new'. A producer's committed batches never
-- overlap, so the one with the greatest first sequence number below the
-- batch's end is the only one to look at: it ends the latest of those that
-- start before that end. One index probe. A set-returning SQL function, so
-- that PostgreSQL plans it into the statement that calls it
-- (PublishTest.ItsSmallFunctionsAreInlined).
DROP FUNCTION hub_producer_verdict(bigint[], int[], bigint[], timestamptz[], bigint, int, bigint);
CREATE FUNCTION hub_producer_verdict(p_topic_id bigint, p_producer text, p_sequence bigint,
                                     p_count int, p_window_ms bigint)
RETURNS TABLE (verdict text, original bigint)
LANGUAGE sql STABLE AS $fn$
  SELECT CASE
           WHEN b.first_sequence IS NULL OR b.first_sequence + b.count <= p_sequence THEN 'new'
           WHEN b.first_sequence = p_sequence AND b.count = p_count THEN 'duplicate'
           ELSE 'overlap' END,
         CASE WHEN b.first_sequence = p_sequence AND b.count = p_count THEN b.position END
  FROM (SELECT 1) AS one
  LEFT JOIN LATERAL (
    SELECT x.first_sequence, x.count, x.position FROM producer_batches x
    WHERE x.topic_id = p_topic_id AND x.producer = p_producer
      AND x.first_sequence < p_sequence + p_count
      AND x.publish_time > now() - p_window_ms * interval '1 millisecond'
      AND x.publish_time < now() + interval '1 hour'
    ORDER BY x.first_sequence DESC LIMIT 1) b ON true
$fn$;

-- The part of a publish that needs no lock: reads the heads, looks up the
-- keys and, when none was used before, reserves positions and writes the
-- segments and keys at them. Producer batches are checked by
-- hub_publish_number alone.
--
-- Per segment, in call order (a topic's segments in position order):
-- p_topics its topic, p_lengths the bytes of its records in p_records (the
-- segments' records one after another), p_counts its messages. Per
-- message: p_sizes its data bytes. Per keyed message: p_key_segments its
-- segment (from 1), p_key_indexes its index there (from 0), p_keys its key.
-- Per producer batch: p_batch_segments and p_batch_indexes where its first
-- message is, p_producers, p_sequences its first sequence number and
-- p_batch_counts its messages. It runs with the settings of hubd's
-- sessions (hub/pg/statements.h, kSessionSettings: a generic plan, no
-- sequential scans, no JIT or parallel workers, for the reasons 0001 gives
-- for hub_publish's), not settings of its own: a function's SET options
-- are saved and restored at every call, which cost a single-message
-- publish 0.18 ms of its 0.63 (docs/benchmarks.md, "Segments").
CREATE OR REPLACE FUNCTION hub_publish_stage(
  p_topics text[],
  p_records bytea,
  p_lengths int[],
  p_counts int[],
  p_sizes int[],
  p_key_segments int[],
  p_key_indexes int[],
  p_keys text[],
  p_batch_segments int[],
  p_batch_indexes int[],
  p_producers text[],
  p_sequences bigint[],
  p_batch_counts int[])
RETURNS hub_publish_stage
LANGUAGE plpgsql
AS $fn$
#variable_conflict use_column
DECLARE
  s hub_publish_stage;
  v_names text[];
  v_record_from int[];
  v_size_from int[];
  v_tid bigint;
  v_window_ms bigint;
  v_keys text[];
  v_known_tids bigint[] := '{}';
  v_known_keys text[] := '{}';
  v_known_positions bigint[] := '{}';
BEGIN
  -- The bases are read before the lookups: whatever commits after this
  -- statement's snapshot has positions at or above them, which is where
  -- hub_publish_number looks again.
  SELECT array_agg(l.name), array_agg(l.id), array_agg(l.next_position),
         array_agg(l.dedup_window_ms)
  INTO v_names, s.tids, s.bases, s.windows
  FROM (SELECT t.name, t.id, h.next_position, t.dedup_window_ms
        FROM topic_heads h JOIN topics t ON t.id = h.topic_id
        WHERE t.name = ANY (p_topics) ORDER BY t.id) l;
  IF s.tids IS NULL THEN
    RETURN s;
  END IF;

  -- Each segment's topic, where its records and sizes start in the call,
  -- and its offset in its topic's reservation.
  SELECT array_agg(tm.tid ORDER BY x.ord), array_agg(x.record_from ORDER BY x.ord),
         array_agg(x.size_from ORDER BY x.ord), array_agg(x.offs ORDER BY x.ord)
  INTO s.segment_tids, v_record_from, v_size_from, s.segment_offsets
  FROM (SELECT x.*, (sum(x.length) OVER (ORDER BY x.ord) - x.length + 1)::int AS record_from,
               (sum(x.count) OVER (ORDER BY x.ord) - x.count + 1)::int AS size_from,
               sum(x.count) OVER (PARTITION BY x.topic ORDER BY x.ord) - x.count AS offs
        FROM unnest(p_topics, p_lengths, p_counts) WITH ORDINALITY AS x (topic, length, count, ord)) x
  LEFT JOIN unnest(v_names, s.tids) AS tm (name, tid) ON tm.name = x.topic;

  -- The keys by topic; a call of one topic (the usual) needs no grouping.
  FOR v_tid, v_window_ms, v_keys IN
    SELECT s.tids[1], s.windows[1], p_keys
    WHERE cardinality(s.tids) = 1 AND cardinality(p_keys) > 0
    UNION ALL
    SELECT tm.tid, tm.win, array_agg(k.key)
    FROM unnest(p_key_segments, p_keys) AS k (seg, key)
    JOIN unnest(s.tids, s.windows) AS tm (tid, win) ON tm.tid = s.segment_tids[k.seg]
    WHERE cardinality(s.tids) > 1
    GROUP BY tm.tid, tm.win
  LOOP
    SELECT v_known_tids || array_agg(v_tid), v_known_keys || array_agg(k.idempotency_key),
           v_known_positions || array_agg(k.position)
    INTO v_known_tids, v_known_keys, v_known_positions
    FROM hub_known_keys(v_tid, v_keys, v_window_ms, 0, '0'::xid) k;
  END LOOP;

  IF cardinality(v_known_keys) > 0 THEN
    SELECT array_agg('k'::text), array_agg(k.ord::int), array_agg(c.tid), array_agg(c.pos),
           array_agg(NULL::text)
    INTO s.found_kinds, s.found_ordinals, s.found_tids, s.found_positions, s.found_verdicts
    FROM unnest(p_key_segments, p_keys) WITH ORDINALITY AS k (seg, key, ord)
    JOIN unnest(v_known_tids, v_known_keys, v_known_positions) AS c (tid, key, pos)
      ON c.tid = s.segment_tids[k.seg] AND c.key = k.key;
    RETURN s;
  END IF;

  SELECT array_agg(c.n::int ORDER BY tm.i) INTO s.counts
  FROM unnest(s.tids) WITH ORDINALITY AS tm (tid, i)
  JOIN (SELECT s.segment_tids[g] AS tid, sum(p_counts[g]) AS n
        FROM generate_subscripts(p_counts, 1) AS g GROUP BY 1) c ON c.tid = tm.tid;
  SELECT array_agg(r.first ORDER BY r.i) INTO s.firsts
  FROM hub_reserve(s.tids, s.counts, s.bases) WITH ORDINALITY AS r (tid, base, first, count, i);

  INSERT INTO segments (topic_id, first_position, publish_time, sizes, records)
  SELECT r.tid, r.first + s.segment_offsets[g], clock_timestamp(),
         p_sizes[v_size_from[g] : v_size_from[g] + p_counts[g] - 1],
         substring(p_records FROM v_record_from[g] FOR p_lengths[g])
  FROM generate_subscripts(p_counts, 1) AS g
  JOIN unnest(s.tids, s.firsts) AS r (tid, first) ON r.tid = s.segment_tids[g]
  WHERE r.first IS NOT NULL;

  IF cardinality(p_keys) > 0 THEN
    s.key_segments := p_key_segments;
    s.keys := p_keys;
    INSERT INTO publish_keys (topic_id, idempotency_key, position, publish_time)
    SELECT r.tid, k.key, r.first + s.segment_offsets[k.seg] + k.idx, clock_timestamp()
    FROM unnest(p_key_segments, p_key_indexes, p_keys) AS k (seg, idx, key)
    JOIN unnest(s.tids, s.firsts) AS r (tid, first) ON r.tid = s.segment_tids[k.seg]
    WHERE r.first IS NOT NULL;
  END IF;

  SELECT array_agg(b.ord::int), array_agg(r.tid), array_agg(b.producer), array_agg(b.seq),
         array_agg(b.cnt), array_agg(s.segment_offsets[b.seg] + b.idx)
  INTO s.batch_ordinals, s.batch_tids, s.batch_producers, s.batch_sequences, s.batch_counts,
       s.batch_offsets
  FROM unnest(p_batch_segments, p_batch_indexes, p_producers, p_sequences, p_batch_counts)
    WITH ORDINALITY AS b (seg, idx, producer, seq, cnt, ord)
  JOIN unnest(s.tids, s.firsts) AS r (tid, first) ON r.tid = s.segment_tids[b.seg]
  WHERE r.first IS NOT NULL;
  RETURN s;
END
$fn$;

-- The serial part: returns what the stage found, if it found anything.
-- Otherwise waits until the transaction reserved just before it on each
-- topic has ended, locks the heads in id order (invariant P: positions are
-- what the head says under this lock), and looks for keys or producer
-- batches of its own committed in between: if there are any, it removes
-- what the stage wrote and returns them as the stage would have. Otherwise
-- moves its segments and keys where the reservation guessed wrong, moves
-- the heads, and logs the producer batches. One row per segment stored
-- ('s': its ordinal in the call, topic, first position), or per key or
-- batch found ('k' or 'p': its ordinal, topic, original position, and for
-- a batch the verdict). The commit follows. The rows a
-- transaction wrote are found by their xmin: hub_publish_stage runs in no
-- subtransaction of its caller's (none of the store's transactions makes
-- one), and a count check aborts if that ever changes.
CREATE OR REPLACE FUNCTION hub_publish_number(s hub_publish_stage)
RETURNS TABLE (kind text, ordinal int, topic_id bigint, "position" bigint, verdict text)
LANGUAGE plpgsql
AS $fn$
#variable_conflict use_column
DECLARE
  v_heads bigint[];
  v_moved bigint;
  v_expected bigint;
  v_keys text[];
  v_late_keys text[];
  v_late_positions bigint[];
  v_found_kinds text[] := '{}';
  v_found_ordinals int[] := '{}';
  v_found_tids bigint[] := '{}';
  v_found_positions bigint[] := '{}';
  v_found_verdicts text[] := '{}';
BEGIN
  IF s.found_kinds IS NOT NULL THEN
    RETURN QUERY SELECT * FROM unnest(s.found_kinds, s.found_ordinals, s.found_tids,
                                      s.found_positions, s.found_verdicts);
    RETURN;
  END IF;
  IF s.tids IS NULL THEN
    RETURN;
  END IF;

  FOR i IN 1 .. cardinality(s.tids) LOOP
    IF s.firsts[i] IS NOT NULL THEN
      PERFORM pg_advisory_xact_lock_shared(hub_lock_key(s.tids[i]), hub_lock_key(s.firsts[i]));
    END IF;
  END LOOP;

  -- The heads, in the order of s.tids (NULL for a topic gone).
  SELECT array_agg(l.next_position ORDER BY x.i) INTO v_heads
  FROM unnest(s.tids) WITH ORDINALITY AS x (tid, i)
  LEFT JOIN (SELECT h.topic_id, h.next_position FROM topic_heads h
             WHERE h.topic_id = ANY (s.tids) ORDER BY h.topic_id FOR UPDATE OF h) l
    ON l.topic_id = x.tid;

  -- Keys committed between the stage's base and the head just locked, and
  -- producer batches committed since the stage looked (or now refused).
  IF s.keys IS NOT NULL AND v_heads IS DISTINCT FROM s.bases THEN
    FOR i IN 1 .. cardinality(s.tids) LOOP
      CONTINUE WHEN s.firsts[i] IS NULL OR v_heads[i] IS NULL OR v_heads[i] <= s.bases[i];
      IF cardinality(s.tids) = 1 THEN
        v_keys := s.keys;
      ELSE
        SELECT array_agg(k.key) INTO v_keys
        FROM unnest(s.key_segments, s.keys) AS k (seg, key) WHERE s.segment_tids[k.seg] = s.tids[i];
      END IF;
      CONTINUE WHEN v_keys IS NULL;
      -- The probe on its own, as in the stage: joined to the keys, a plan
      -- ran it once per key (2 ms for 100 keys).
      SELECT array_agg(c.idempotency_key), array_agg(c.position) INTO v_late_keys, v_late_positions
      FROM hub_known_keys(s.tids[i], v_keys, s.windows[i], s.bases[i],
                          pg_current_xact_id()::xid) c;
      CONTINUE WHEN v_late_keys IS NULL;
      SELECT v_found_kinds || array_agg('k'::text), v_found_ordinals || array_agg(k.ord::int),
             v_found_tids || array_agg(s.tids[i]), v_found_positions || array_agg(c.position),
             v_found_verdicts || array_agg(NULL::text)
      INTO v_found_kinds, v_found_ordinals, v_found_tids, v_found_positions, v_found_verdicts
      FROM unnest(v_late_keys, v_late_positions) AS c (key, position)
      JOIN unnest(s.key_segments, s.keys) WITH ORDINALITY AS k (seg, key, ord)
        ON s.segment_tids[k.seg] = s.tids[i] AND k.key = c.key;
    END LOOP;
  END IF;
  IF s.batch_tids IS NOT NULL THEN
    SELECT v_found_kinds || array_agg('p'::text), v_found_ordinals || array_agg(b.ord),
           v_found_tids || array_agg(b.tid), v_found_positions || array_agg(v.original),
           v_found_verdicts || array_agg(v.verdict)
    INTO v_found_kinds, v_found_ordinals, v_found_tids, v_found_positions, v_found_verdicts
    FROM unnest(s.batch_ordinals, s.batch_tids, s.batch_producers, s.batch_sequences,
                s.batch_counts) AS b (ord, tid, producer, seq, cnt)
    JOIN unnest(s.tids, s.windows) AS tm (tid, win) ON tm.tid = b.tid
    CROSS JOIN LATERAL hub_producer_verdict(b.tid, b.producer, b.seq, b.cnt, tm.win) v
    WHERE v.verdict <> 'new';
  END IF;
  IF cardinality(v_found_kinds) > 0 THEN
    -- Found late: what the stage wrote goes again, the heads stay, and the
    -- caller runs the publish again without what was found, as after a
    -- stage that found it (its reservation is left unused, as after an
    -- abort).
    DELETE FROM segments g
    USING unnest(s.segment_tids, s.segment_offsets) AS x (tid, offs)
    JOIN unnest(s.tids, s.firsts) AS t (tid, first) ON t.tid = x.tid
    WHERE g.topic_id = x.tid AND g.first_position = t.first + x.offs
      AND g.publish_time < now() + interval '1 hour' AND g.xmin = pg_current_xact_id()::xid;
    IF s.keys IS NOT NULL THEN
      DELETE FROM publish_keys k
      USING unnest(s.key_segments, s.keys) AS x (seg, key)
      WHERE k.idempotency_key = x.key AND k.topic_id + 0 = s.segment_tids[x.seg]
        AND k.publish_time < now() + interval '1 hour' AND k.xmin = pg_current_xact_id()::xid;
    END IF;
    RETURN QUERY SELECT * FROM unnest(v_found_kinds, v_found_ordinals, v_found_tids,
                                      v_found_positions, v_found_verdicts);
    RETURN;
  END IF;

  IF v_heads IS DISTINCT FROM s.firsts THEN
    -- The reservation guessed wrong (a predecessor aborted, another writer
    -- came first, a topic is gone): the segments and keys move by the
    -- difference, each topic's as one block.
    UPDATE segments g SET first_position = g.first_position + d.delta
    FROM (SELECT s.segment_tids[x.g] AS tid, t.first + s.segment_offsets[x.g] AS first,
                 t.head - t.first AS delta
          FROM generate_subscripts(s.segment_tids, 1) AS x (g)
          JOIN unnest(s.tids, s.firsts, v_heads) AS t (tid, first, head)
            ON t.tid = s.segment_tids[x.g]
          WHERE t.head <> t.first) d
    WHERE g.topic_id = d.tid AND g.first_position = d.first
      AND g.publish_time < now() + interval '1 hour' AND g.xmin = pg_current_xact_id()::xid;
    GET DIAGNOSTICS v_moved = ROW_COUNT;
    SELECT count(*) INTO v_expected
    FROM generate_subscripts(s.segment_tids, 1) AS x (g)
    JOIN unnest(s.tids, s.firsts, v_heads) AS t (tid, first, head) ON t.tid = s.segment_tids[x.g]
    WHERE t.head <> t.first;
    IF v_moved <> v_expected THEN
      RAISE 'hub_publish_number moved % segments of %', v_moved, v_expected;
    END IF;
    IF s.keys IS NOT NULL THEN
      UPDATE publish_keys k SET position = k.position + (t.head - t.first)
      FROM unnest(s.key_segments, s.keys) AS x (seg, key)
      JOIN unnest(s.tids, s.firsts, v_heads) AS t (tid, first, head)
        ON t.tid = s.segment_tids[x.seg]
      WHERE t.head <> t.first AND k.idempotency_key = x.key AND k.topic_id + 0 = t.tid
        AND k.publish_time < now() + interval '1 hour' AND k.xmin = pg_current_xact_id()::xid;
    END IF;
    PERFORM hub_rewind(array_agg(t.tid), array_agg(t.first + t.count),
                       array_agg(t.head + t.count))
    FROM unnest(s.tids, s.firsts, s.counts, v_heads) AS t (tid, first, count, head)
    WHERE t.head <> t.first;
  END IF;

  UPDATE topic_heads h SET next_position = t.head + t.count
  FROM unnest(s.tids, s.firsts, s.counts, v_heads) AS t (tid, first, count, head)
  WHERE h.topic_id = t.tid AND t.first IS NOT NULL AND t.head IS NOT NULL;

  IF s.batch_tids IS NOT NULL THEN
    INSERT INTO producer_batches (topic_id, producer, first_sequence, count, position,
                                  publish_time)
    SELECT b.tid, b.producer, b.seq, b.cnt, t.head + b.offs, now()
    FROM unnest(s.batch_tids, s.batch_producers, s.batch_sequences, s.batch_counts,
                s.batch_offsets) AS b (tid, producer, seq, cnt, offs)
    JOIN unnest(s.tids, v_heads) AS t (tid, head) ON t.tid = b.tid
    WHERE t.head IS NOT NULL;
  END IF;

  RETURN QUERY
  SELECT 's'::text, x.g::int, t.tid, t.head + s.segment_offsets[x.g], NULL::text
  FROM generate_subscripts(s.segment_tids, 1) AS x (g)
  JOIN unnest(s.tids, s.firsts, v_heads) AS t (tid, first, head) ON t.tid = s.segment_tids[x.g]
  WHERE t.first IS NOT NULL AND t.head IS NOT NULL;
END
$fn$;
