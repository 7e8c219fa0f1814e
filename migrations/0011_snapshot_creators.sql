-- Who created each snapshot (the caller's principal; 'anonymous' without
-- credentials), so that snapshots count against a per-principal cap and
-- their creator can always see and delete them (docs/security.md,
-- "Snapshots"). Snapshots made before this migration have no creator ('').
ALTER TABLE snapshots ADD COLUMN creator text NOT NULL DEFAULT '';
CREATE INDEX snapshots_creator ON snapshots (creator);
