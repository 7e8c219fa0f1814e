-- Segments (docs/design.md, "Segments"). A publish transaction stores each
-- topic's messages as one row per run of at most 1,000 consecutive
-- positions, the messages packed in one binary value that hubd writes and
-- reads; retries are recognised per producer and batch (one row per topic
-- and producer) and, for arbitrary keys, in a narrow key table. The table
-- `messages`, one row per message, goes: its rows are converted below, and
-- the functions that wrote it are replaced. Positions, cursors, lease rows,
-- snapshots and the reservation counters of 0008 stay as they are.
--
-- A hubd older than this migration cannot run against it (it reads and
-- writes `messages`): docs/deploy.md, "Upgrades", says how to upgrade.

-- The positions first_position .. first_position + cardinality(sizes) - 1
-- of a topic, published at publish_time. `records` is a hub.pg.Segment
-- (hub/pg/segment.proto): one Record per message, in position order, each
-- field as protobuf writes it, so that any run of whole records is itself
-- a Segment. `sizes` holds each message's data bytes, for the byte budgets
-- of claims, which are decided in SQL. A segment holds at most 1,000
-- messages, so that the segments covering positions [a, b) are found by one
-- range of the (topic_id, first_position) index: first_position in
-- (a - 1000, b). `records` is stored uncompressed and out of line (STORAGE
-- EXTERNAL; partitions take it from here): payloads are mostly compressed
-- or random already, and pglz spent CPU failing to shrink them
-- (docs/benchmarks.md, "Segments").
CREATE TABLE segments (
  topic_id       bigint NOT NULL,
  first_position bigint NOT NULL,
  publish_time   timestamptz NOT NULL,
  sizes          int[] NOT NULL CHECK (cardinality(sizes) BETWEEN 1 AND 1000),
  records        bytea NOT NULL
) PARTITION BY RANGE (publish_time);

ALTER TABLE segments ALTER COLUMN records SET STORAGE EXTERNAL;

CREATE INDEX segments_topic_position ON segments (topic_id, first_position);

-- The idempotency keys messages were published with, one row per keyed
-- message, in partitions of a day like segments', dropped once older than
-- the longest dedup window (docs/design.md, "Retention"). On the key alone,
-- for the reason 0001 gives for messages_idempotency_key.
CREATE TABLE publish_keys (
  topic_id        bigint NOT NULL,
  idempotency_key text NOT NULL,
  position        bigint NOT NULL,
  publish_time    timestamptz NOT NULL
) PARTITION BY RANGE (publish_time);

CREATE INDEX publish_keys_key ON publish_keys (idempotency_key);

-- Per topic and producer, the producer's last committed batches (at most
-- 16, in sequence order): first sequence number, message count, first
-- position and publish time of each. A retried batch is recognised by one
-- lookup of this row (docs/design.md, "Producers"). Rewritten in place by
-- every batch (HOT, hence the fillfactor); housekeeping deletes the rows of
-- producers silent for longer than the topic's dedup window.
CREATE TABLE producers (
  topic_id  bigint NOT NULL REFERENCES topics (id) ON DELETE CASCADE,
  producer  text NOT NULL,
  sequences bigint[] NOT NULL,
  counts    int[] NOT NULL,
  positions bigint[] NOT NULL,
  times     timestamptz[] NOT NULL,
  PRIMARY KEY (topic_id, producer)
) WITH (fillfactor = 50);

-- The existing messages, each as a segment of its own, and their keys. The
-- record is encoded here as hub/pg/segment_codec.cc encodes it.
CREATE FUNCTION pg_temp.hub_varint(n bigint) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE AS $fn$
DECLARE
  v_out bytea := ''::bytea;
BEGIN
  LOOP
    IF n < 128 THEN
      RETURN v_out || set_byte('\x00'::bytea, 0, n::int);
    END IF;
    v_out := v_out || set_byte('\x00'::bytea, 0, ((n & 127) | 128)::int);
    n := n >> 7;
  END LOOP;
END
$fn$;

-- A length-delimited field whose tag byte is `tag`; nothing for an empty
-- value when `omit_empty` (proto3 leaves empty fields out).
CREATE FUNCTION pg_temp.hub_field(tag int, value bytea, omit_empty boolean) RETURNS bytea
LANGUAGE sql IMMUTABLE AS $fn$
  SELECT CASE WHEN omit_empty AND length(value) = 0 THEN ''::bytea
              ELSE set_byte('\x00'::bytea, 0, tag) || pg_temp.hub_varint(length(value)) || value END
$fn$;

CREATE FUNCTION pg_temp.hub_record(data bytea, attributes jsonb, ordering_key text,
                                   idempotency_key text) RETURNS bytea
LANGUAGE sql IMMUTABLE AS $fn$
  SELECT pg_temp.hub_field(10,
    pg_temp.hub_field(10, data, true)
    || COALESCE((SELECT string_agg(pg_temp.hub_field(18,
                          pg_temp.hub_field(10, convert_to(a.key, 'UTF8'), false)
                          || pg_temp.hub_field(18, convert_to(a.value, 'UTF8'), false), false),
                        ''::bytea ORDER BY a.key)
                 FROM jsonb_each_text(attributes) a), ''::bytea)
    || pg_temp.hub_field(26, convert_to(ordering_key, 'UTF8'), true)
    || pg_temp.hub_field(34, convert_to(idempotency_key, 'UTF8'), true), false)
$fn$;

-- Partitions for the days the messages are of, named as hubd names them
-- (hub/pg/statements.h, PartitionName); hubd makes the days ahead.
DO $do$
DECLARE
  v_day timestamptz;
BEGIN
  FOR v_day IN SELECT DISTINCT date_trunc('day', publish_time AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
               FROM messages LOOP
    EXECUTE format('CREATE TABLE %I PARTITION OF segments FOR VALUES FROM (%L) TO (%L)',
                   'segments_p' || to_char(v_day AT TIME ZONE 'UTC', 'YYYYMMDD'), v_day,
                   v_day + interval '24 hours');
    EXECUTE format('CREATE TABLE %I PARTITION OF publish_keys FOR VALUES FROM (%L) TO (%L)',
                   'publish_keys_p' || to_char(v_day AT TIME ZONE 'UTC', 'YYYYMMDD'), v_day,
                   v_day + interval '24 hours');
  END LOOP;
END
$do$;

INSERT INTO segments (topic_id, first_position, publish_time, sizes, records)
SELECT topic_id, position, publish_time, ARRAY[octet_length(data)],
       pg_temp.hub_record(data, attributes, ordering_key, idempotency_key)
FROM messages;

INSERT INTO publish_keys (topic_id, idempotency_key, position, publish_time)
SELECT topic_id, idempotency_key, position, publish_time FROM messages
WHERE idempotency_key <> '';

DROP FUNCTION hub_publish(text[], bytea, int[], int[], jsonb[], text[], text[]);
DROP FUNCTION hub_publish_number(hub_publish_stage);
DROP FUNCTION hub_publish_stage(text[], bytea, int[], int[], jsonb[], text[], text[]);
DROP FUNCTION hub_rows_between(bigint, bigint, bigint, xid);
DROP FUNCTION hub_known_keys(bigint, text[], bigint);
DROP TYPE hub_publish_stage;
DROP TABLE messages;


-- The keys of `p_keys` that messages of topic `p_topic_id` used within the
-- last `p_window_ms`, at or above position `p_from`, but for the rows of
-- transaction `p_mine` (0: none). Its form is that of 0001's
-- hub_known_keys, for the reasons given there; it runs with the settings of
-- the function that calls it (a generic plan, no sequential scans).
CREATE FUNCTION hub_known_keys(p_topic_id bigint, p_keys text[], p_window_ms bigint,
                               p_from bigint, p_mine xid)
RETURNS TABLE (idempotency_key text, "position" bigint)
LANGUAGE sql STABLE AS $fn$
  SELECT k.idempotency_key, k.position FROM publish_keys k
  WHERE k.idempotency_key = ANY (p_keys)
    AND k.topic_id + 0 = p_topic_id AND k.position >= p_from AND k.xmin <> p_mine
    AND k.publish_time > now() - p_window_ms * interval '1 millisecond'
    AND k.publish_time < now() + interval '1 hour'
$fn$;

-- What a producer's batch of `p_count` messages from sequence number
-- `p_sequence` meets in the producer's row (its arrays given; the window in
-- ms): 'new' when the row does not know it; 'duplicate' when the same batch
-- was committed within the window (`original` its first position);
-- 'overlap' when it shares sequence numbers with another batch committed
-- then; 'behind' when it lies below every batch of a full row whose newest
-- batch is within the window: it may be one the row forgot, so it is
-- refused rather than stored twice (docs/design.md, "Producers").
CREATE FUNCTION hub_producer_verdict(p_sequences bigint[], p_counts int[], p_positions bigint[],
                                     p_times timestamptz[], p_sequence bigint, p_count int,
                                     p_window_ms bigint, OUT verdict text, OUT original bigint)
LANGUAGE sql STABLE AS $fn$
  WITH o AS (
    SELECT s, c, q FROM unnest(p_sequences, p_counts, p_positions, p_times) AS o (s, c, q, t)
    WHERE t > now() - p_window_ms * interval '1 millisecond')
  SELECT CASE
           WHEN EXISTS (SELECT 1 FROM o WHERE s = p_sequence AND c = p_count) THEN 'duplicate'
           WHEN EXISTS (SELECT 1 FROM o WHERE s < p_sequence + p_count AND p_sequence < s + c)
             THEN 'overlap'
           WHEN cardinality(p_sequences) >= 16 AND p_sequence < p_sequences[1]
                AND (SELECT max(t) FROM unnest(p_times) AS t)
                    > now() - p_window_ms * interval '1 millisecond'
             THEN 'behind'
           ELSE 'new' END,
         (SELECT q FROM o WHERE s = p_sequence AND c = p_count)
$fn$;

-- What hub_publish_stage hands to hub_publish_number. Per topic written to
-- (id order): its id, its head as read before the lookups (base), its dedup
-- window, the first reserved position (NULL for a topic deleted meanwhile)
-- and the count reserved. Per segment: its topic (NULL when missing) and
-- its offset in the topic's reservation. Per keyed message: its segment and
-- key, as the call gave them (NULL when none was written).
-- Per producer batch: topic, producer, first sequence number, count, and
-- the offset of its first message in the topic's reservation. When the
-- lookups found keys or batches committed before (or refused a batch),
-- nothing was reserved or written, and `found` holds the rows
-- hub_publish_number returns for them.
CREATE TYPE hub_publish_stage AS (
  tids bigint[],
  bases bigint[],
  windows bigint[],
  firsts bigint[],
  counts int[],
  segment_tids bigint[],
  segment_offsets bigint[],
  key_segments int[],
  keys text[],
  batch_ordinals int[],
  batch_tids bigint[],
  batch_producers text[],
  batch_sequences bigint[],
  batch_counts int[],
  batch_offsets bigint[],
  found_kinds text[],
  found_ordinals int[],
  found_tids bigint[],
  found_positions bigint[],
  found_verdicts text[]);

-- The part of a publish that needs no lock: reads the heads, looks up the
-- keys and producer batches and, when none was committed before, reserves
-- positions and writes the segments and keys at them.
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
CREATE FUNCTION hub_publish_stage(
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

  SELECT array_agg(f.kind), array_agg(f.ord), array_agg(f.tid), array_agg(f.pos),
         array_agg(f.verdict)
  INTO s.found_kinds, s.found_ordinals, s.found_tids, s.found_positions, s.found_verdicts
  FROM (SELECT 'k' AS kind, k.ord::int AS ord, c.tid, c.pos, NULL::text AS verdict
        FROM unnest(p_key_segments, p_keys) WITH ORDINALITY AS k (seg, key, ord)
        JOIN unnest(v_known_tids, v_known_keys, v_known_positions) AS c (tid, key, pos)
          ON c.tid = s.segment_tids[k.seg] AND c.key = k.key
        UNION ALL
        SELECT 'p', b.ord::int, p.topic_id, v.original, v.verdict
        FROM unnest(p_batch_segments, p_producers, p_sequences, p_batch_counts) WITH ORDINALITY
          AS b (seg, producer, seq, cnt, ord)
        JOIN unnest(s.tids, s.windows) AS tm (tid, win) ON tm.tid = s.segment_tids[b.seg]
        JOIN producers p ON p.topic_id = tm.tid AND p.producer = b.producer
        CROSS JOIN LATERAL hub_producer_verdict(p.sequences, p.counts, p.positions, p.times,
                                                b.seq, b.cnt, tm.win) v
        WHERE v.verdict <> 'new') f;
  IF s.found_kinds IS NOT NULL THEN
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
-- the heads, and records the producer batches. One row per segment stored
-- ('s': its ordinal in the call, topic, first position), or per key or
-- batch found ('k' or 'p': its ordinal, topic, original position, and for
-- a batch the verdict). The commit follows. The rows a
-- transaction wrote are found by their xmin: hub_publish_stage runs in no
-- subtransaction of its caller's (none of the store's transactions makes
-- one), and a count check aborts if that ever changes.
CREATE FUNCTION hub_publish_number(s hub_publish_stage)
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
    JOIN producers p ON p.topic_id = b.tid AND p.producer = b.producer
    CROSS JOIN LATERAL hub_producer_verdict(p.sequences, p.counts, p.positions, p.times,
                                            b.seq, b.cnt, tm.win) v
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
    INSERT INTO producers AS p (topic_id, producer, sequences, counts, positions, times)
    SELECT b.tid, b.producer, array_agg(b.seq ORDER BY b.seq), array_agg(b.cnt ORDER BY b.seq),
           array_agg(t.head + b.offs ORDER BY b.seq), array_agg(now() ORDER BY b.seq)
    FROM unnest(s.batch_tids, s.batch_producers, s.batch_sequences, s.batch_counts,
                s.batch_offsets) AS b (tid, producer, seq, cnt, offs)
    JOIN unnest(s.tids, v_heads) AS t (tid, head) ON t.tid = b.tid
    WHERE t.head IS NOT NULL
    GROUP BY b.tid, b.producer
    ON CONFLICT (topic_id, producer) DO UPDATE
    SET (sequences, counts, positions, times) = (
      SELECT array_agg(r.s ORDER BY r.s), array_agg(r.c ORDER BY r.s),
             array_agg(r.q ORDER BY r.s), array_agg(r.t ORDER BY r.s)
      FROM (SELECT * FROM (SELECT * FROM unnest(p.sequences, p.counts, p.positions, p.times)
                           UNION ALL
                           SELECT * FROM unnest(excluded.sequences, excluded.counts,
                                                excluded.positions, excluded.times))
                          AS a (s, c, q, t)
            ORDER BY a.s DESC LIMIT 16) r);
  END IF;

  RETURN QUERY
  SELECT 's'::text, x.g::int, t.tid, t.head + s.segment_offsets[x.g], NULL::text
  FROM generate_subscripts(s.segment_tids, 1) AS x (g)
  JOIN unnest(s.tids, s.firsts, v_heads) AS t (tid, first, head) ON t.tid = s.segment_tids[x.g]
  WHERE t.first IS NOT NULL AND t.head IS NOT NULL;
END
$fn$;

-- The publish time of position `p_position` of topic `p_topic_id` (NULL when
-- no segment holds it): one index lookup of the segment that does. For
-- the statements that need one message's time (snapshots, statistics).
CREATE FUNCTION hub_publish_time(p_topic_id bigint, p_position bigint) RETURNS timestamptz
LANGUAGE sql STABLE AS $fn$
  SELECT s.publish_time FROM segments s
  WHERE s.topic_id = p_topic_id AND s.first_position > p_position - 1000
    AND s.first_position <= p_position AND s.first_position + cardinality(s.sizes) > p_position
    AND s.publish_time < now() + interval '1 hour'
  LIMIT 1
$fn$;

-- For people, not for hubd: the messages of a segment's records, decoded
-- in SQL (slowly: one PL/pgSQL step per field), and the view `hub_messages`
-- with one row per stored message, the shape `messages` had, to look into
-- the store with psql (docs/operations.md, "Looking into the store").
CREATE FUNCTION hub_varint_at(p_bytes bytea, p_at int, OUT value bigint, OUT next int)
LANGUAGE plpgsql IMMUTABLE STRICT AS $fn$
DECLARE
  v_byte int;
  v_shift int := 0;
BEGIN
  value := 0;
  next := p_at;
  LOOP
    v_byte := get_byte(p_bytes, next);
    next := next + 1;
    value := value | ((v_byte & 127)::bigint << v_shift);
    EXIT WHEN v_byte < 128;
    v_shift := v_shift + 7;
  END LOOP;
END
$fn$;

-- The length-delimited fields of `p_bytes`: number and value (others are
-- skipped).
CREATE FUNCTION hub_fields(p_bytes bytea) RETURNS TABLE (number int, value bytea)
LANGUAGE plpgsql IMMUTABLE STRICT AS $fn$
DECLARE
  v_at int := 0;
  v_tag bigint;
  v_length bigint;
BEGIN
  WHILE v_at < length(p_bytes) LOOP
    SELECT t.value, t.next INTO v_tag, v_at FROM hub_varint_at(p_bytes, v_at) t;
    CASE v_tag & 7
      WHEN 0 THEN
        SELECT t.next INTO v_at FROM hub_varint_at(p_bytes, v_at) t;
      WHEN 1 THEN
        v_at := v_at + 8;
      WHEN 5 THEN
        v_at := v_at + 4;
      WHEN 2 THEN
        SELECT t.value, t.next INTO v_length, v_at FROM hub_varint_at(p_bytes, v_at) t;
        number := (v_tag >> 3)::int;
        value := substring(p_bytes FROM v_at + 1 FOR v_length::int);
        v_at := v_at + v_length::int;
        RETURN NEXT;
      ELSE
        RAISE 'not protobuf: wire type % at byte %', v_tag & 7, v_at;
    END CASE;
  END LOOP;
END
$fn$;

CREATE FUNCTION hub_records(p_records bytea)
RETURNS TABLE (idx int, data bytea, attributes jsonb, ordering_key text, idempotency_key text)
LANGUAGE sql IMMUTABLE STRICT AS $fn$
  SELECT (r.ord - 1)::int,
         COALESCE((SELECT f.value FROM hub_fields(r.value) f WHERE f.number = 1), ''::bytea),
         COALESCE((SELECT jsonb_object_agg(
                            convert_from(COALESCE((SELECT e.value FROM hub_fields(f.value) e
                                                   WHERE e.number = 1), ''::bytea), 'UTF8'),
                            convert_from(COALESCE((SELECT e.value FROM hub_fields(f.value) e
                                                   WHERE e.number = 2), ''::bytea), 'UTF8'))
                   FROM hub_fields(r.value) f WHERE f.number = 2), '{}'::jsonb),
         COALESCE((SELECT convert_from(f.value, 'UTF8') FROM hub_fields(r.value) f
                   WHERE f.number = 3), ''),
         COALESCE((SELECT convert_from(f.value, 'UTF8') FROM hub_fields(r.value) f
                   WHERE f.number = 4), '')
  FROM hub_fields(p_records) WITH ORDINALITY AS r (number, value, ord)
  WHERE r.number = 1
$fn$;

CREATE VIEW hub_messages AS
SELECT s.topic_id, s.first_position + r.idx AS position, s.publish_time, r.data, r.attributes,
       r.ordering_key, r.idempotency_key
FROM segments s CROSS JOIN LATERAL hub_records(s.records) r;
