CREATE FUNCTION public.hub_known_keys(p_topic_id bigint, p_keys text[], p_window_ms bigint) RETURNS TABLE(idempotency_key text, "position" bigint)
    LANGUAGE sql STABLE
    AS $$
  SELECT m.idempotency_key, m.position FROM messages m
  WHERE m.idempotency_key = ANY (p_keys) AND m.idempotency_key <> ''
    AND m.topic_id + 0 = p_topic_id
    AND m.publish_time > now() - p_window_ms * interval '1 millisecond'
    AND m.publish_time < now() + interval '1 hour'
$$;
CREATE FUNCTION public.hub_publish(p_topics text[], p_data bytea, p_offsets integer[], p_lengths integer[], p_attributes jsonb[], p_ordering_keys text[], p_idempotency_keys text[]) RETURNS TABLE(ord bigint, topic_id bigint, "position" bigint, duplicate boolean)
    LANGUAGE plpgsql
    SET plan_cache_mode TO 'force_generic_plan'
    SET enable_seqscan TO 'off'
    SET jit TO 'off'
    SET max_parallel_workers_per_gather TO '0'
    AS $$
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
$$;
CREATE TABLE public.leases (
    subscription_id bigint NOT NULL,
    lease_id bigint NOT NULL,
    pending bigint[] NOT NULL,
    attempt integer NOT NULL,
    generation integer NOT NULL,
    ordering_key text,
    last_end text DEFAULT 'lease_expired'::text NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    available_at timestamp with time zone NOT NULL
)
WITH (fillfactor='70');
ALTER TABLE public.leases ALTER COLUMN lease_id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.leases_lease_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);
CREATE TABLE public.messages (
    topic_id bigint NOT NULL,
    "position" bigint NOT NULL,
    publish_time timestamp with time zone NOT NULL,
    data bytea NOT NULL,
    attributes jsonb,
    ordering_key text DEFAULT ''::text NOT NULL,
    idempotency_key text DEFAULT ''::text NOT NULL
)
PARTITION BY RANGE (publish_time);
CREATE TABLE public.subscription_cursors (
    subscription_id bigint NOT NULL,
    next_position bigint NOT NULL
)
WITH (fillfactor='50');
CREATE TABLE public.subscriptions (
    id bigint NOT NULL,
    name text NOT NULL,
    topic_id bigint NOT NULL,
    ack_deadline_seconds integer NOT NULL,
    delivery_guarantee smallint NOT NULL,
    enable_message_ordering boolean NOT NULL,
    filter text DEFAULT ''::text NOT NULL,
    dead_letter_topic text DEFAULT ''::text NOT NULL,
    max_delivery_attempts integer DEFAULT 0 NOT NULL,
    minimum_backoff_ms bigint NOT NULL,
    maximum_backoff_ms bigint NOT NULL,
    labels jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);
ALTER TABLE public.subscriptions ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.subscriptions_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);
CREATE TABLE public.topic_heads (
    topic_id bigint NOT NULL,
    next_position bigint NOT NULL
)
WITH (fillfactor='50');
CREATE TABLE public.topics (
    id bigint NOT NULL,
    name text NOT NULL,
    message_retention_ms bigint NOT NULL,
    dedup_window_ms bigint NOT NULL,
    labels jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);
ALTER TABLE public.topics ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.topics_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);
ALTER TABLE ONLY public.leases
    ADD CONSTRAINT leases_pkey PRIMARY KEY (subscription_id, lease_id);
ALTER TABLE ONLY public.subscription_cursors
    ADD CONSTRAINT subscription_cursors_pkey PRIMARY KEY (subscription_id);
ALTER TABLE ONLY public.subscriptions
    ADD CONSTRAINT subscriptions_name_key UNIQUE (name);
ALTER TABLE ONLY public.subscriptions
    ADD CONSTRAINT subscriptions_pkey PRIMARY KEY (id);
ALTER TABLE ONLY public.topic_heads
    ADD CONSTRAINT topic_heads_pkey PRIMARY KEY (topic_id);
ALTER TABLE ONLY public.topics
    ADD CONSTRAINT topics_name_key UNIQUE (name);
ALTER TABLE ONLY public.topics
    ADD CONSTRAINT topics_pkey PRIMARY KEY (id);
CREATE INDEX leases_available ON public.leases USING btree (subscription_id, available_at);
CREATE UNIQUE INDEX leases_ordering_key ON public.leases USING btree (subscription_id, ordering_key) WHERE (ordering_key IS NOT NULL);
CREATE INDEX messages_idempotency_key ON ONLY public.messages USING btree (idempotency_key) WHERE (idempotency_key <> ''::text);
CREATE INDEX messages_topic_position ON ONLY public.messages USING btree (topic_id, "position");
CREATE INDEX subscriptions_topic ON public.subscriptions USING btree (topic_id, name);
ALTER TABLE ONLY public.leases
    ADD CONSTRAINT leases_subscription_id_fkey FOREIGN KEY (subscription_id) REFERENCES public.subscriptions(id) ON DELETE CASCADE;
ALTER TABLE ONLY public.subscription_cursors
    ADD CONSTRAINT subscription_cursors_subscription_id_fkey FOREIGN KEY (subscription_id) REFERENCES public.subscriptions(id) ON DELETE CASCADE;
ALTER TABLE ONLY public.subscriptions
    ADD CONSTRAINT subscriptions_topic_id_fkey FOREIGN KEY (topic_id) REFERENCES public.topics(id) ON DELETE CASCADE;
ALTER TABLE ONLY public.topic_heads
    ADD CONSTRAINT topic_heads_topic_id_fkey FOREIGN KEY (topic_id) REFERENCES public.topics(id) ON DELETE CASCADE;
