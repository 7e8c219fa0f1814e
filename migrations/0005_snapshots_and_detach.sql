-- Snapshots and detached subscriptions, for the Pub/Sub API
-- (docs/pubsub.md) and any hub.v1 client.

-- A detached subscription keeps its name and configuration but has lost its
-- messages: it delivers nothing and takes no acks (FAILED_PRECONDITION).
ALTER TABLE subscriptions ADD COLUMN detached boolean NOT NULL DEFAULT false;

-- A snapshot is a subscription's acknowledgement state at one moment: its
-- cursor and the positions its lease rows held (docs/design.md,
-- "Snapshots"). It copies no message; the messages stay the topic's, under
-- its retention, and the snapshot ends when the oldest of them would.
CREATE TABLE snapshots (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name          text NOT NULL UNIQUE,
  topic_id      bigint NOT NULL REFERENCES topics (id) ON DELETE CASCADE,
  next_position bigint NOT NULL,
  expire_time   timestamptz NOT NULL,
  labels        jsonb NOT NULL DEFAULT '{}',
  created_at    timestamptz NOT NULL DEFAULT now()
);

-- The unsettled positions of each lease row at the snapshot, with the row's
-- ordering key, so that a seek rebuilds keyed rows as they were.
CREATE TABLE snapshot_leases (
  snapshot_id  bigint NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
  pending      bigint[] NOT NULL,
  ordering_key text
);

CREATE INDEX snapshot_leases_snapshot ON snapshot_leases (snapshot_id);
