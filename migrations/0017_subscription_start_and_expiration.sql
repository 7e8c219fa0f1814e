-- Subscription expiration (docs/operations.md, "Subscriptions nobody
-- reads"): a subscription with a ttl is deleted once it went unused that
-- long. active_at is when a replica last saw it used, written at most once
-- a minute per subscription and replica.
ALTER TABLE subscriptions
  ADD COLUMN expiration_ttl_ms bigint NOT NULL DEFAULT 0,
  ADD COLUMN active_at timestamptz NOT NULL DEFAULT now();

-- The first position of a topic published at or after `since`, or its next
-- position when there is none: where Seek puts a cursor, where a new
-- subscription that starts at a time or at its oldest retained message
-- starts, and the first position retention keeps. A segment's messages
-- share its publish time; a segment stamped more than an hour ahead (a
-- clock that jumped) is not taken for a start. Inlined where it is called.
CREATE FUNCTION hub_first_position_since(topic bigint, since timestamptz)
RETURNS bigint LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT COALESCE(
    (SELECT min(first_position) FROM segments
     WHERE topic_id = topic AND publish_time >= since
       AND publish_time < now() + interval '1 hour'),
    (SELECT next_position FROM topic_heads WHERE topic_id = topic))
$$;
