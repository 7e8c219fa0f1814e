-- Ordered subscriptions deliver runs: a keyed lease row hands out its
-- pending positions up to run_end, not only its head (docs/design.md,
-- "Ordered runs"). NULL on rows written before this migration, which had
-- only their head out; the store reads it as the head.
ALTER TABLE leases ADD COLUMN run_end bigint;
