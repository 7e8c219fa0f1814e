-- Idempotency keys are looked up where every message already stores its
-- own key, through a partial index, instead of in a table of their own: a
-- publish then writes one row per message instead of two, and keys leave
-- with their message's partition instead of being swept (docs/design.md,
-- "Publish"). Existing messages carry their keys, so nothing is copied.
-- On the key alone: the lookup (sql.h, kFindIdempotencyKeys) keeps every
-- index that leads with topic_id out of the planner's reach.
CREATE INDEX messages_idempotency_key ON messages (idempotency_key)
  WHERE idempotency_key <> '';
DROP TABLE idempotency_keys;
