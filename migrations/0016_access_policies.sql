-- Access policies set through Pub/Sub's IAM calls (docs/security.md,
-- "Stored bindings"): one row per resource ('topic:orders',
-- 'subscription:billing', 'snapshot:s', 'schema:s'), its bindings as the
-- caller set them, and a version that makes the etag. `generation` counts
-- every change, so that each replica reloads the policies when it moves.
CREATE TABLE access_policies (
  resource text PRIMARY KEY,
  version bigint NOT NULL,
  bindings jsonb NOT NULL
);
CREATE TABLE access_policy_generation (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  generation bigint NOT NULL
);
INSERT INTO access_policy_generation (generation) VALUES (0);

-- A resource's policy goes with it, so that a new resource of the same
-- name starts without one.
CREATE FUNCTION hub_forget_access_policy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM access_policies WHERE resource = TG_ARGV[0] || ':' || OLD.name;
  IF FOUND THEN
    UPDATE access_policy_generation SET generation = generation + 1;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER topics_forget_access_policy AFTER DELETE ON topics
  FOR EACH ROW EXECUTE FUNCTION hub_forget_access_policy('topic');
CREATE TRIGGER subscriptions_forget_access_policy AFTER DELETE ON subscriptions
  FOR EACH ROW EXECUTE FUNCTION hub_forget_access_policy('subscription');
CREATE TRIGGER snapshots_forget_access_policy AFTER DELETE ON snapshots
  FOR EACH ROW EXECUTE FUNCTION hub_forget_access_policy('snapshot');
CREATE TRIGGER schemas_forget_access_policy AFTER DELETE ON schemas
  FOR EACH ROW EXECUTE FUNCTION hub_forget_access_policy('schema');
