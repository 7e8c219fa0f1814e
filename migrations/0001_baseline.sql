-- The schema of the hub, as one file (it folds the pre-release chain
-- 0001-0004 of version 0.1.0's development). docs/design.md gives the
-- invariants each table keeps. Migrations after this one add tables and
-- columns and add or replace functions (docs/deploy.md, "Upgrades", says
-- what an older hubd may run against a newer schema).

CREATE TABLE topics (
  id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name                 text NOT NULL UNIQUE,
  message_retention_ms bigint NOT NULL,
  dedup_window_ms      bigint NOT NULL,
  labels               jsonb NOT NULL DEFAULT '{}',
  created_at           timestamptz NOT NULL DEFAULT now()
);

-- The next position of each topic. Publishers hold this row's lock until
-- commit, which is what keeps visible positions a gap-free prefix (design.md,
-- invariant P). A separate narrow row keeps that hot update HOT.
CREATE TABLE topic_heads (
  topic_id      bigint PRIMARY KEY REFERENCES topics (id) ON DELETE CASCADE,
  next_position bigint NOT NULL
) WITH (fillfactor = 50);

-- Written once per message whatever the number of subscriptions. Rows of a
-- deleted topic are never read again (topic ids are not reused) and leave
-- with their partition.
CREATE TABLE messages (
  topic_id        bigint NOT NULL,
  position        bigint NOT NULL,
  publish_time    timestamptz NOT NULL,
  data            bytea NOT NULL,
  attributes      jsonb,
  ordering_key    text NOT NULL DEFAULT '',
  idempotency_key text NOT NULL DEFAULT ''
) PARTITION BY RANGE (publish_time);

CREATE INDEX messages_topic_position ON messages (topic_id, position);

-- Idempotency keys are looked up where every message stores its own key,
-- through a partial index: a publish writes one row per message, and keys
-- leave with their message's partition (docs/design.md, "Publish"). On the
-- key alone: the lookup (hub_known_keys below) keeps every index that leads
-- with topic_id out of the planner's reach.
CREATE INDEX messages_idempotency_key ON messages (idempotency_key)
  WHERE idempotency_key <> '';

CREATE TABLE subscriptions (
  id                      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name                    text NOT NULL UNIQUE,
  topic_id                bigint NOT NULL REFERENCES topics (id) ON DELETE CASCADE,
  ack_deadline_seconds    integer NOT NULL,
  delivery_guarantee      smallint NOT NULL,
  enable_message_ordering boolean NOT NULL,
  filter                  text NOT NULL DEFAULT '',
  dead_letter_topic       text NOT NULL DEFAULT '',
  max_delivery_attempts   integer NOT NULL DEFAULT 0,
  minimum_backoff_ms      bigint NOT NULL,
  maximum_backoff_ms      bigint NOT NULL,
  labels                  jsonb NOT NULL DEFAULT '{}',
  created_at              timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX subscriptions_topic ON subscriptions (topic_id, name);

-- Positions below next_position have been claimed (design.md, invariant C).
CREATE TABLE subscription_cursors (
  subscription_id bigint PRIMARY KEY REFERENCES subscriptions (id) ON DELETE CASCADE,
  next_position   bigint NOT NULL
) WITH (fillfactor = 50);

-- One row per delivered batch; pending holds the positions not yet settled
-- (design.md, invariant L). On ordered subscriptions a keyed row holds every
-- claimed message of one ordering key and only its head is delivered.
CREATE TABLE leases (
  subscription_id bigint NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
  lease_id        bigint GENERATED ALWAYS AS IDENTITY,
  pending         bigint[] NOT NULL,
  attempt         integer NOT NULL,
  generation      integer NOT NULL,
  ordering_key    text,
  -- How the current delivery ends if it is not acked: 'lease_expired' until
  -- a nack says 'nack'. Dead letters carry it as their reason.
  last_end        text NOT NULL DEFAULT 'lease_expired',
  -- The current delivery's lease ends at expires_at; the row is due for
  -- redelivery at available_at (expiry plus the retry backoff).
  expires_at      timestamptz NOT NULL,
  available_at    timestamptz NOT NULL,
  PRIMARY KEY (subscription_id, lease_id)
) WITH (fillfactor = 70);

CREATE INDEX leases_available ON leases (subscription_id, available_at);
CREATE UNIQUE INDEX leases_ordering_key ON leases (subscription_id, ordering_key)
  WHERE ordering_key IS NOT NULL;

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

-- hub_publish reads each topic's head row once, when it locks it: the head
-- row takes a new version with every publish, and while some transaction
-- holds back the xmin horizon every index lookup of it walks all of them
-- (looked up per message, a batch of 200 read about 5,000 more buffers after
-- 30 s of a held transaction; docs/benchmarks.md, P5). The lock hands each
-- topic's id, head and dedup window to the later statements as arrays.
-- Its settings: a generic plan (a custom plan binds the batch's payloads as
-- constants and took 0.9 s to plan); no sequential scans for the key lookup;
-- no JIT and no parallel query, which an ANALYZE of a large partition
-- brought into the key lookup (6.9 ms per batch instead of 0.5 ms).
CREATE FUNCTION hub_publish(
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

  PERFORM pg_notify('hub_publish', tid::text) FROM unnest(v_tids) AS tid;
END
$fn$;
