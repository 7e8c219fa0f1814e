-- A subscription's own message retention (docs/semantics.md, "Retention"):
-- 0 keeps its backlog for its topic's retention, a shorter one drops
-- unacknowledged messages sooner for this subscription alone.
ALTER TABLE subscriptions ADD COLUMN message_retention_ms bigint NOT NULL DEFAULT 0;

-- The retention a subscription has in effect: its own when shorter than
-- its topic's, else the topic's. Inlined where it is called.
CREATE FUNCTION hub_retention_in_effect(subscription_ms bigint, topic_ms bigint)
RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN subscription_ms > 0 AND subscription_ms < topic_ms
              THEN subscription_ms ELSE topic_ms END
$$;
