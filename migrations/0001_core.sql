-- The core schema. See docs/design.md for the invariants each table keeps.

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

CREATE TABLE idempotency_keys (
  topic_id   bigint NOT NULL REFERENCES topics (id) ON DELETE CASCADE,
  key        text NOT NULL,
  position   bigint NOT NULL,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (topic_id, key)
);

-- The retention sweep deletes expired keys per topic in bounded batches.
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (topic_id, created_at);

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
