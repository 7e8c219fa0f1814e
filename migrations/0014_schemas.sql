-- Schemas and their revisions (docs/schemas.md), and the schema settings of
-- topics. A revision is never changed: a commit or a rollback adds one, and
-- `seq` orders them (newest last) where clock times could tie. A topic
-- names its schema by name, not by key, because a deleted schema leaves its
-- topics naming '_deleted-schema_', as Pub/Sub reports them.
CREATE TABLE schemas (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name text NOT NULL UNIQUE
);
CREATE TABLE schema_revisions (
  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  schema_id bigint NOT NULL REFERENCES schemas (id) ON DELETE CASCADE,
  revision_id text NOT NULL,
  type smallint NOT NULL,  -- 1 PROTOCOL_BUFFER, 2 AVRO
  definition text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  UNIQUE (schema_id, revision_id)
);
CREATE INDEX schema_revisions_newest ON schema_revisions (schema_id, seq DESC);
ALTER TABLE topics
  ADD COLUMN schema_name text NOT NULL DEFAULT '',
  ADD COLUMN schema_encoding smallint NOT NULL DEFAULT 1,  -- 1 JSON, 2 BINARY
  ADD COLUMN schema_first_revision text NOT NULL DEFAULT '',
  ADD COLUMN schema_last_revision text NOT NULL DEFAULT '';
CREATE INDEX topics_schema ON topics (schema_name) WHERE schema_name <> '';
