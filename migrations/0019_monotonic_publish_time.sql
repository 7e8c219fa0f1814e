-- publish_time never goes backwards within a topic (docs/design.md,
-- "Publish time"), not even after a failover to a server whose clock is
-- behind the old primary's. Each head keeps a floor: the latest clock
-- reading of a transaction that moved it, set under the head's lock (the
-- trigger below) and so committed, and replicated, with the positions it
-- gave out. A publish stamps its segments and keys with the later of its
-- clock and the floors of its topics as its stage read them. A clock that
-- is right costs one comparison; one that is behind leaves publish_time
-- standing still until it catches up.
ALTER TABLE topic_heads ADD COLUMN publish_time_floor timestamptz NOT NULL DEFAULT '-infinity';
UPDATE topic_heads SET publish_time_floor = now();

CREATE FUNCTION hub_raise_publish_time_floor() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  NEW.publish_time_floor := GREATEST(OLD.publish_time_floor, clock_timestamp());
  RETURN NEW;
END
$fn$;

CREATE TRIGGER topic_heads_publish_time_floor BEFORE UPDATE OF next_position ON topic_heads
  FOR EACH ROW WHEN (NEW.next_position <> OLD.next_position)
  EXECUTE FUNCTION hub_raise_publish_time_floor();

-- hub_publish_stage of 0013, stamping with the floor.
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
  v_floor timestamptz;
  v_time timestamptz;
BEGIN
  -- The bases are read before the lookups: whatever commits after this
  -- statement's snapshot has positions at or above them, which is where
  -- hub_publish_number looks again.
  SELECT array_agg(l.name), array_agg(l.id), array_agg(l.next_position),
         array_agg(l.dedup_window_ms), max(l.publish_time_floor)
  INTO v_names, s.tids, s.bases, s.windows, v_floor
  FROM (SELECT t.name, t.id, h.next_position, t.dedup_window_ms, h.publish_time_floor
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

  -- Never before a publish the topics' heads have seen committed, though
  -- this server's clock be behind the one that wrote it.
  v_time := GREATEST(clock_timestamp(), v_floor);
  INSERT INTO segments (topic_id, first_position, publish_time, sizes, records)
  SELECT r.tid, r.first + s.segment_offsets[g], v_time,
         p_sizes[v_size_from[g] : v_size_from[g] + p_counts[g] - 1],
         substring(p_records FROM v_record_from[g] FOR p_lengths[g])
  FROM generate_subscripts(p_counts, 1) AS g
  JOIN unnest(s.tids, s.firsts) AS r (tid, first) ON r.tid = s.segment_tids[g]
  WHERE r.first IS NOT NULL;

  IF cardinality(p_keys) > 0 THEN
    s.key_segments := p_key_segments;
    s.keys := p_keys;
    INSERT INTO publish_keys (topic_id, idempotency_key, position, publish_time)
    SELECT r.tid, k.key, r.first + s.segment_offsets[k.seg] + k.idx, v_time
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
