#ifndef HUB_PG_STATEMENTS_H_
#define HUB_PG_STATEMENTS_H_

#include <string>
#include <utility>

#include <pqxx/result>
#include <pqxx/transaction_base>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

// Every statement PgStore runs, each with the name it is prepared under
// beside its text, so the two cannot drift apart. docs/design.md explains
// the invariants they keep. Statements that name a table of their own (the
// partitions) cannot be prepared; they are made by the functions at the end.
namespace hub::pg {

struct Statement {
  const char* name;
  const char* text;
};

namespace sql {

inline constexpr Statement kCreateTopic{"create_topic", R"sql(
WITH t AS (
  INSERT INTO topics (name, message_retention_ms, dedup_window_ms, labels, schema_name,
                      schema_encoding, schema_first_revision, schema_last_revision)
  VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8) RETURNING id)
INSERT INTO topic_heads (topic_id, next_position) SELECT id, 1 FROM t)sql"};

// Columns read by TopicFromRow (pg_values.h).
inline constexpr Statement kGetTopic{"get_topic", R"sql(
SELECT name, message_retention_ms, dedup_window_ms, labels::text, schema_name, schema_encoding,
       schema_first_revision, schema_last_revision
FROM topics WHERE name = $1)sql"};

// $3/$4 the NameScope (all, or the namespace: the name's part before its
// first '~'), here and in the other lists.
inline constexpr Statement kListTopics{"list_topics", R"sql(
SELECT name, message_retention_ms, dedup_window_ms, labels::text, schema_name, schema_encoding,
       schema_first_revision, schema_last_revision
FROM topics WHERE name > $1 AND ($3::boolean OR CASE WHEN strpos(name, '~') = 0 THEN '' ELSE split_part(name, '~', 1) END = $4)
ORDER BY name LIMIT $2)sql"};

inline constexpr Statement kDeleteTopic{"delete_topic", "DELETE FROM topics WHERE name = $1"};

inline constexpr Statement kTopicExists{"topic_exists", "SELECT 1 FROM topics WHERE name = $1"};

inline constexpr Statement kUpdateTopic{"update_topic", R"sql(
UPDATE topics SET message_retention_ms = $2, dedup_window_ms = $3,
                  labels = $4::jsonb, schema_name = $5, schema_encoding = $6,
                  schema_first_revision = $7, schema_last_revision = $8
WHERE name = $1)sql"};

// Schemas (docs/schemas.md). Revisions are read as SchemaFromRow reads
// them: name, revision id, type, definition, creation time.
inline constexpr Statement kCreateSchema{"create_schema", R"sql(
WITH s AS (INSERT INTO schemas (name) VALUES ($1) RETURNING id)
INSERT INTO schema_revisions (schema_id, revision_id, type, definition)
SELECT id, $2, $3, $4 FROM s
RETURNING $1::text, revision_id, type, definition,
          (extract(epoch FROM created_at) * 1e6)::bigint)sql"};

// $2: a revision id, or '' for the newest revision.
inline constexpr Statement kGetSchema{"get_schema", R"sql(
SELECT s.name, r.revision_id, r.type, r.definition,
       (extract(epoch FROM r.created_at) * 1e6)::bigint
FROM schemas s JOIN schema_revisions r ON r.schema_id = s.id
WHERE s.name = $1 AND ($2 = '' OR r.revision_id = $2)
ORDER BY r.seq DESC LIMIT 1)sql"};

// The newest revision of each schema of the scope, in name order.
inline constexpr Statement kListSchemas{"list_schemas", R"sql(
SELECT s.name, r.revision_id, r.type, r.definition,
       (extract(epoch FROM r.created_at) * 1e6)::bigint
FROM schemas s
CROSS JOIN LATERAL (SELECT * FROM schema_revisions r WHERE r.schema_id = s.id
                    ORDER BY r.seq DESC LIMIT 1) r
WHERE s.name > $1 AND ($3::boolean OR CASE WHEN strpos(s.name, '~') = 0 THEN '' ELSE split_part(s.name, '~', 1) END = $4)
ORDER BY s.name LIMIT $2)sql"};

// Revisions of a schema, newest first, after revision $2 ('' from the
// newest).
inline constexpr Statement kListSchemaRevisions{"list_schema_revisions", R"sql(
SELECT s.name, r.revision_id, r.type, r.definition,
       (extract(epoch FROM r.created_at) * 1e6)::bigint
FROM schemas s JOIN schema_revisions r ON r.schema_id = s.id
WHERE s.name = $1
  AND ($2 = '' OR r.seq < (SELECT seq FROM schema_revisions
                            WHERE schema_id = s.id AND revision_id = $2))
ORDER BY r.seq DESC LIMIT $3)sql"};

// Adds a revision when the newest is still $5 (what the caller checked the
// new one against); no row when it is not, or the schema is gone.
inline constexpr Statement kCommitSchema{"commit_schema", R"sql(
WITH s AS (SELECT id FROM schemas WHERE name = $1 FOR UPDATE),
     newest AS (SELECT r.revision_id FROM schema_revisions r, s WHERE r.schema_id = s.id
                ORDER BY r.seq DESC LIMIT 1)
INSERT INTO schema_revisions (schema_id, revision_id, type, definition)
SELECT s.id, $2, $3, $4 FROM s, newest WHERE newest.revision_id = $5
RETURNING $1::text, revision_id, type, definition,
          (extract(epoch FROM created_at) * 1e6)::bigint)sql"};

// Deletes one revision unless it is the schema's last; answers the deleted
// revision, and how many the schema had.
inline constexpr Statement kDeleteSchemaRevision{"delete_schema_revision", R"sql(
WITH s AS (SELECT id FROM schemas WHERE name = $1 FOR UPDATE),
     n AS (SELECT count(*) AS revisions FROM schema_revisions r, s WHERE r.schema_id = s.id),
     d AS (DELETE FROM schema_revisions r USING s, n
           WHERE r.schema_id = s.id AND r.revision_id = $2 AND n.revisions > 1
           RETURNING r.revision_id, r.type, r.definition, r.created_at)
SELECT $1::text, d.revision_id, d.type, d.definition,
       (extract(epoch FROM d.created_at) * 1e6)::bigint, n.revisions
FROM n LEFT JOIN d ON true)sql"};

// Deletes the schema and its revisions; its topics name '_deleted-schema_'.
inline constexpr Statement kDeleteSchema{"delete_schema", R"sql(
WITH d AS (DELETE FROM schemas WHERE name = $1 RETURNING name),
     t AS (UPDATE topics SET schema_name = $2 WHERE schema_name IN (SELECT name FROM d))
SELECT 1 FROM d)sql"};

// Access policies (docs/security.md, "Stored bindings").
inline constexpr Statement kGetAccessPolicy{"get_access_policy", R"sql(
SELECT version, bindings::text FROM access_policies WHERE resource = $1)sql"};

// Serializes the changes of one resource's policy, also while it has none.
inline constexpr Statement kLockAccessPolicy{
    "lock_access_policy", "SELECT pg_advisory_xact_lock(hashtextextended('access:' || $1, 0))"};

inline constexpr Statement kPutAccessPolicy{"put_access_policy", R"sql(
WITH p AS (
  INSERT INTO access_policies AS p (resource, version, bindings) VALUES ($1, 1, $2::jsonb)
  ON CONFLICT (resource) DO UPDATE SET version = p.version + 1, bindings = EXCLUDED.bindings
  RETURNING version),
g AS (UPDATE access_policy_generation SET generation = generation + 1)
SELECT version FROM p)sql"};

inline constexpr Statement kAccessPolicyGeneration{
    "access_policy_generation", "SELECT generation FROM access_policy_generation"};

inline constexpr Statement kListAccessPolicies{"list_access_policies", R"sql(
SELECT resource, version, bindings::text FROM access_policies ORDER BY resource)sql"};

// The topics whose schema is $1, with the revision ranges they allow.
inline constexpr Statement kSchemaTopics{"schema_topics", R"sql(
SELECT name, message_retention_ms, dedup_window_ms, labels::text, schema_name, schema_encoding,
       schema_first_revision, schema_last_revision
FROM topics WHERE schema_name = $1 ORDER BY name)sql"};

// Locks the topic head for share so that the cursor starts exactly after
// the last committed publish (a publish in progress holds the lock), or,
// with a start time $13 (unix microseconds), at the first message published
// since then that the subscription's retention in effect still keeps.
inline constexpr Statement kCreateSubscription{"create_subscription", R"sql(
WITH t AS (
  SELECT h.topic_id, CASE WHEN $13::bigint IS NULL THEN h.next_position
    ELSE hub_first_position_since(h.topic_id, GREATEST(to_timestamp($13::bigint / 1e6),
      now() - hub_retention_in_effect($12, t.message_retention_ms) * interval '1 millisecond'))
    END AS start
  FROM topics t JOIN topic_heads h ON h.topic_id = t.id
  WHERE t.name = $2 FOR SHARE OF h),
s AS (
  INSERT INTO subscriptions (name, topic_id, ack_deadline_seconds,
    delivery_guarantee, enable_message_ordering, filter, dead_letter_topic,
    max_delivery_attempts, minimum_backoff_ms, maximum_backoff_ms, labels, message_retention_ms,
    expiration_ttl_ms)
  SELECT $1, t.topic_id, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12, $14 FROM t
  RETURNING id)
INSERT INTO subscription_cursors (subscription_id, next_position)
SELECT s.id, t.start FROM s, t RETURNING subscription_id)sql"};

// The columns SubscriptionFromRow (pg_values.h) reads, of `subscriptions s
// JOIN topics t`: one list for every statement that reads a subscription,
// so that a column added is read everywhere.
#define HUB_SUBSCRIPTION_COLUMNS                                                                \
  "\nSELECT s.id, s.topic_id, s.name, t.name, s.ack_deadline_seconds, s.delivery_guarantee,"    \
  "\n       s.enable_message_ordering, s.filter, s.dead_letter_topic, s.max_delivery_attempts," \
  "\n       s.minimum_backoff_ms, s.maximum_backoff_ms, s.labels::text, s.detached,"            \
  "\n       s.message_retention_ms,"                                                            \
  "\n       hub_retention_in_effect(s.message_retention_ms, t.message_retention_ms),"           \
  "\n       s.expiration_ttl_ms"                                                                \
  "\nFROM subscriptions s JOIN topics t ON t.id = s.topic_id"

inline constexpr Statement kGetSubscription{"get_subscription", HUB_SUBSCRIPTION_COLUMNS R"sql(
WHERE s.name = $1)sql"};

inline constexpr Statement kListSubscriptions{"list_subscriptions", HUB_SUBSCRIPTION_COLUMNS R"sql(
WHERE ($1 = '' OR t.name = $1) AND s.name > $2 AND ($4::boolean OR CASE WHEN strpos(s.name, '~') = 0 THEN '' ELSE split_part(s.name, '~', 1) END = $5)
ORDER BY s.name LIMIT $3)sql"};

inline constexpr Statement kDeleteSubscription{"delete_subscription",
                                               "DELETE FROM subscriptions WHERE name = $1"};

inline constexpr Statement kSubscriptionExists{
    "subscription_exists", "SELECT 1 FROM subscription_cursors WHERE subscription_id = $1"};

inline constexpr Statement kUpdateSubscription{"update_subscription", R"sql(
UPDATE subscriptions
SET ack_deadline_seconds = $2, filter = $3, dead_letter_topic = $4,
    max_delivery_attempts = $5, minimum_backoff_ms = $6,
    maximum_backoff_ms = $7, labels = $8::jsonb, message_retention_ms = $9,
    expiration_ttl_ms = $10
WHERE name = $1)sql"};

// Detaching drops what the subscription held: its leases go and its cursor
// moves to the topic's head, in the statement that marks it.
inline constexpr Statement kDetachSubscription{"detach_subscription", R"sql(
WITH s AS (
  UPDATE subscriptions SET detached = true WHERE name = $1 RETURNING id, topic_id),
l AS (
  DELETE FROM leases l USING s WHERE l.subscription_id = s.id)
UPDATE subscription_cursors c SET next_position = h.next_position
FROM s JOIN topic_heads h ON h.topic_id = s.topic_id
WHERE c.subscription_id = s.id RETURNING 1)sql"};

// A snapshot of the subscription $2 of topic $3, its cursor at $4 (locked by
// the caller), made by $7, who may have at most $8 (0: any number; the
// caller holds kLockSnapshotCreator): it expires $5 ms after the publish
// time of the oldest message it holds (its lowest pending position, else
// the cursor's), or after now when it holds none. No row when $7 has $8.
inline constexpr Statement kCreateSnapshot{"create_snapshot", R"sql(
INSERT INTO snapshots (name, topic_id, next_position, expire_time, labels, creator)
SELECT $1, $3, $4,
  COALESCE(hub_publish_time($3, (SELECT LEAST(min(p), $4)
                                 FROM leases l, unnest(l.pending) p
                                 WHERE l.subscription_id = $2)),
           now()) + $5::bigint * interval '1 millisecond',
  $6::jsonb, $7
WHERE $8::integer = 0 OR (SELECT count(*) FROM snapshots WHERE creator = $7) < $8::integer
RETURNING id, (extract(epoch FROM expire_time) * 1e6)::bigint)sql"};

// Creations of one creator's snapshots one at a time, so that two cannot
// both pass the cap (the first key is the hub's own, for snapshot creators).
inline constexpr Statement kLockSnapshotCreator{
    "lock_snapshot_creator", "SELECT pg_advisory_xact_lock(20341, hashtext($1))"};

inline constexpr Statement kCopyLeasesToSnapshot{"copy_leases_to_snapshot", R"sql(
INSERT INTO snapshot_leases (snapshot_id, pending, ordering_key)
SELECT $1, pending, ordering_key FROM leases WHERE subscription_id = $2)sql"};

// Columns read by SnapshotFromRow (pg_values.h).
inline constexpr Statement kGetSnapshot{"get_snapshot", R"sql(
SELECT s.name, t.name, (extract(epoch FROM s.expire_time) * 1e6)::bigint, s.labels::text,
       s.id, s.topic_id, s.next_position, s.creator
FROM snapshots s JOIN topics t ON t.id = s.topic_id
WHERE s.name = $1)sql"};

inline constexpr Statement kListSnapshots{"list_snapshots", R"sql(
SELECT s.name, t.name, (extract(epoch FROM s.expire_time) * 1e6)::bigint, s.labels::text,
       s.id, s.topic_id, s.next_position, s.creator
FROM snapshots s JOIN topics t ON t.id = s.topic_id
WHERE s.name > $1 AND ($3::boolean OR CASE WHEN strpos(s.name, '~') = 0 THEN '' ELSE split_part(s.name, '~', 1) END = $4)
ORDER BY s.name LIMIT $2)sql"};

inline constexpr Statement kUpdateSnapshot{
    "update_snapshot", "UPDATE snapshots SET labels = $2::jsonb WHERE name = $1"};

inline constexpr Statement kDeleteSnapshot{"delete_snapshot",
                                           "DELETE FROM snapshots WHERE name = $1"};

// The snapshot's lease rows back as rows of subscription $1, due at once and
// not yet delivered (attempt 0), under new lease ids: no ack id of before
// the seek settles them.
inline constexpr Statement kRestoreSnapshotLeases{"restore_snapshot_leases", R"sql(
INSERT INTO leases (subscription_id, pending, attempt, generation, ordering_key, expires_at,
                    available_at)
SELECT $1, pending, 0, 1, ordering_key, now(), now()
FROM snapshot_leases WHERE snapshot_id = $2)sql"};

// Subscriptions unused for longer than their expiration ttl (0: never).
inline constexpr Statement kDeleteUnusedSubscriptions{"delete_unused_subscriptions", R"sql(
DELETE FROM subscriptions
WHERE expiration_ttl_ms > 0 AND active_at < now() - expiration_ttl_ms * interval '1 millisecond'
RETURNING name)sql"};

// Marks the named subscriptions used now; a row marked within the last
// 10 seconds (by another replica) is not written again.
inline constexpr Statement kMarkActive{"mark_active", R"sql(
UPDATE subscriptions SET active_at = now()
WHERE name = ANY ($1::text[]) AND active_at < now() - interval '10 seconds')sql"};

// What a subscription ($1) dead-lettered to the topic $2: per message its
// position, the letter's position, attempts and reason. A message
// dead-lettered again (after a seek or a redrive) keeps its latest.
inline constexpr Statement kRecordDeadLetters{"record_dead_letters", R"sql(
INSERT INTO dead_letters (subscription_id, position, letter_topic_id, letter_position, attempts,
                          reason)
SELECT $1, q.position, $2, q.letter_position, q.attempts, q.reason
FROM unnest($3::bigint[], $4::bigint[], $5::int[], $6::text[])
  AS q (position, letter_position, attempts, reason)
ON CONFLICT (subscription_id, position) DO UPDATE
SET letter_topic_id = excluded.letter_topic_id, letter_position = excluded.letter_position,
    attempts = excluded.attempts, reason = excluded.reason, dead_lettered_at = now())sql"};

// Dead letters of a topic's ($1) subscriptions whose retention in effect is
// $3 ms (the topic's is $4) and whose message retention removed (below $2):
// there is nothing left to redrive.
inline constexpr Statement kForgetExpiredDeadLetters{"forget_expired_dead_letters", R"sql(
DELETE FROM dead_letters d USING subscriptions s
WHERE d.subscription_id = s.id AND s.topic_id = $1 AND d.position < $2
  AND hub_retention_in_effect(s.message_retention_ms, $4) = $3)sql"};

// Inspection (pg_inspect.cc): reads that take no lease.
// A topic's id and next position.
inline constexpr Statement kTopicHead{"topic_head", R"sql(
SELECT t.id, h.next_position FROM topics t JOIN topic_heads h ON h.topic_id = t.id
WHERE t.name = $1)sql"};

// The cursors of the subscriptions $1.
inline constexpr Statement kCursorsOf{"cursors_of", R"sql(
SELECT subscription_id, next_position FROM subscription_cursors
WHERE subscription_id = ANY ($1::bigint[]))sql"};

// The lease rows of the subscriptions $1 that hold position $2.
inline constexpr Statement kLeasesHolding{"leases_holding", R"sql(
SELECT subscription_id, attempt, (extract(epoch FROM expires_at) * 1e6)::bigint,
       (extract(epoch FROM available_at) * 1e6)::bigint
FROM leases WHERE subscription_id = ANY ($1::bigint[]) AND $2::bigint = ANY (pending))sql"};

// The lease rows of subscription $1, in flight ($2) or not.
inline constexpr Statement kLeasesOf{"leases_of", R"sql(
SELECT pending::text, attempt, (extract(epoch FROM expires_at) * 1e6)::bigint,
       (extract(epoch FROM available_at) * 1e6)::bigint
FROM leases WHERE subscription_id = $1 AND (expires_at > now()) = $2)sql"};

// Dead letters of the subscriptions $1 at position $2, or (kDeadLettersOf)
// of subscription $1 after position $2, at most $3: the columns
// DeadLetterFromRow reads after the subscription and position.
inline constexpr Statement kDeadLettersAt{"dead_letters_at", R"sql(
SELECT d.subscription_id, d.position, COALESCE(t.name, ''), d.letter_position, d.reason,
       d.attempts, (extract(epoch FROM d.dead_lettered_at) * 1e6)::bigint
FROM dead_letters d LEFT JOIN topics t ON t.id = d.letter_topic_id
WHERE d.subscription_id = ANY ($1::bigint[]) AND d.position = $2)sql"};

inline constexpr Statement kDeadLettersOf{"dead_letters_of", R"sql(
SELECT d.subscription_id, d.position, COALESCE(t.name, ''), d.letter_position, d.reason,
       d.attempts, (extract(epoch FROM d.dead_lettered_at) * 1e6)::bigint
FROM dead_letters d LEFT JOIN topics t ON t.id = d.letter_topic_id
WHERE d.subscription_id = $1 AND d.position > $2
ORDER BY d.position LIMIT $3)sql"};

// A redrive: the dead letters of subscription $1 it may take (all, or the
// positions $2) after position $4, locked, at most $3.
inline constexpr Statement kLockDeadLetters{"lock_dead_letters", R"sql(
SELECT position FROM dead_letters
WHERE subscription_id = $1 AND ($2::bigint[] IS NULL OR position = ANY ($2::bigint[]))
  AND position > $4
ORDER BY position LIMIT $3 FOR UPDATE)sql"};

inline constexpr Statement kDeleteDeadLetters{"delete_dead_letters", R"sql(
DELETE FROM dead_letters WHERE subscription_id = $1 AND position = ANY ($2::bigint[]))sql"};

// One lease row of subscription $1 holding the positions $2, due now and
// never delivered (a redrive); keyed by $3 when not empty.
inline constexpr Statement kInsertDueLease{"insert_due_lease", R"sql(
INSERT INTO leases (subscription_id, pending, attempt, generation, ordering_key, expires_at,
                    available_at)
VALUES ($1, $2::bigint[], 0, 1, NULLIF($3, ''), now(), now()))sql"};

// Snapshots whose oldest message has left the topic: retention ends them.
inline constexpr Statement kDeleteExpiredSnapshots{
    "delete_expired_snapshots", "DELETE FROM snapshots WHERE expire_time <= now()"};

// A publish in one call (migrations/0012_segments.sql): looks up keys and
// producer batches; when none was committed before, writes the segments
// and keys at reserved positions, numbers them under the topics' head locks
// (invariant P), moves the heads and records the batches. Run through
// ExecBinary, the records as one binary parameter; its parameters and rows
// are hub_publish_stage's and hub_publish_number's. Called as the two
// functions directly: a SQL function around them would be parsed and
// planned again in every transaction.
inline constexpr Statement kPublish{"publish", R"sql(
SELECT kind, ordinal, topic_id, position, verdict
FROM hub_publish_number(hub_publish_stage($1::text[], $2::bytea, $3::int[], $4::int[],
                                          $5::int[], $6::int[], $7::int[], $8::text[],
                                          $9::int[], $10::int[], $11::text[], $12::bigint[],
                                          $13::int[])))sql"};

// Tells the other replicas which topics were published to, outside any
// publishing transaction (PublishAnnouncer); one notification per topic.
inline constexpr Statement kAnnounce{"announce", R"sql(
SELECT pg_notify('hub_publish', t::text) FROM unnest($1::bigint[]) AS t)sql"};

inline constexpr Statement kHasAvailableLeases{"has_available_leases", R"sql(
SELECT EXISTS (SELECT 1 FROM leases
               WHERE subscription_id = $1 AND available_at <= now()))sql"};

// Lease rows due for redelivery whose attempt is at least $3 (claims ask
// for any, the dead-letter sweep for those out of attempts); SKIP LOCKED so
// that two claimers or sweeps (on any replica) never take the same row.
// Columns read by LeaseFromRow.
inline constexpr Statement kLockAvailableLeases{"lock_available_leases", R"sql(
SELECT lease_id, pending::text, attempt, generation,
       COALESCE(ordering_key, ''), last_end, COALESCE(run_end, pending[1], 0)
FROM leases
WHERE subscription_id = $1 AND available_at <= now() AND attempt >= $3::int
ORDER BY available_at LIMIT $2
FOR UPDATE SKIP LOCKED)sql"};

// Subscriptions with a dead-letter topic and a due lease row out of
// attempts: what the dead-letter sweep visits.
inline constexpr Statement kSubscriptionsWithDeadLetters{"subscriptions_with_dead_letters",
                                                         HUB_SUBSCRIPTION_COLUMNS R"sql(
WHERE s.dead_letter_topic <> '' AND NOT s.detached
  AND EXISTS (SELECT 1 FROM leases l
              WHERE l.subscription_id = s.id AND l.available_at <= now()
                AND l.attempt >= s.max_delivery_attempts))sql"};

// Lease rows named by ack ids, locked for settling them; the last column
// says whether the current delivery's lease still runs.
inline constexpr Statement kLockLeases{"lock_leases", R"sql(
SELECT lease_id, pending::text, attempt, generation,
       COALESCE(ordering_key, ''), last_end, COALESCE(run_end, pending[1], 0), expires_at > now()
FROM leases
WHERE subscription_id = $1 AND lease_id = ANY ($2::bigint[])
ORDER BY lease_id
FOR UPDATE)sql"};

// Sets a row's whole state. Durations in ms from now: $6 the lease, $7 until
// the row is due again if the lease ends unacked; $9 the run's end (keyed
// rows; 0 for others).
inline constexpr Statement kRewriteLease{"rewrite_lease", R"sql(
UPDATE leases
SET pending = $3::bigint[], attempt = $4::int, generation = $5::int,
    expires_at = now() + $6::bigint * interval '1 millisecond',
    available_at = now() + $7::bigint * interval '1 millisecond',
    last_end = $8, run_end = NULLIF($9::bigint, 0)
WHERE subscription_id = $1 AND lease_id = $2)sql"};

// A new row (generation 1) with the same duration parameters; $4 is the
// ordering key, '' for none, $8 the run's end.
inline constexpr Statement kInsertLease{"insert_lease", R"sql(
INSERT INTO leases (subscription_id, pending, attempt, generation, ordering_key,
                    expires_at, available_at, last_end, run_end)
VALUES ($1, $2::bigint[], $3::int, 1, NULLIF($4, ''),
        now() + $5::bigint * interval '1 millisecond',
        now() + $6::bigint * interval '1 millisecond', $7, NULLIF($8::bigint, 0))
RETURNING lease_id)sql"};

inline constexpr Statement kSetPending{"set_pending", R"sql(
UPDATE leases SET pending = $3::bigint[]
WHERE subscription_id = $1 AND lease_id = $2)sql"};

inline constexpr Statement kAppendPending{"append_pending", R"sql(
UPDATE leases SET pending = pending || $3::bigint[]
WHERE subscription_id = $1 AND lease_id = $2)sql"};

inline constexpr Statement kDeleteLeases{
    "delete_leases",
    "DELETE FROM leases WHERE subscription_id = $1 AND lease_id = ANY ($2::bigint[])"};

// Rows of ordering keys already in flight on an ordered subscription.
inline constexpr Statement kLockKeyedLeases{"lock_keyed_leases", R"sql(
SELECT ordering_key, lease_id FROM leases
WHERE subscription_id = $1 AND ordering_key = ANY ($2::text[])
FOR UPDATE)sql"};

// Every read of segments bounds publish_time by now() + 1 hour: a committed
// segment's publish_time is older than the statement (it was written before
// that commit), and the bound prunes the empty partitions made days ahead
// from the plan, which each statement would otherwise open. A segment holds
// at most 1,000 positions (the table's check), so the segments covering
// positions [a, b) are those with first_position in (a - 1000, b) that end
// after a: one range of the (topic_id, first_position) index.
//
// The segments of topic $1 covering the position ranges [$2[i], $3[i]),
// one index range per range (a segment that two ranges share comes twice).
// OFFSET 0 keeps the subquery from being flattened into a join: as a join,
// planned where the statistics expect one segment of the topic, it took the
// topic alone as the index condition and read every segment of the topic
// (DeliveryTest.ClaimsReadTheirSegmentsByPositionOnANewTopic).
// Through ExecBinary; columns read by SegmentReads (segment_reads.h).
inline constexpr Statement kReadSegments{"read_segments", R"sql(
SELECT g.first_position, g.publish_time, g.records
FROM unnest($2::bigint[], $3::bigint[]) AS r (low, high)
CROSS JOIN LATERAL (
  SELECT s.first_position, s.publish_time, s.records FROM segments s
  WHERE s.topic_id = $1 AND s.first_position > r.low - 1000 AND s.first_position < r.high
    AND s.first_position + cardinality(s.sizes) > r.low
    AND s.publish_time < now() + interval '1 hour'
  OFFSET 0) g)sql"};

// The clock delivery times are compared with (segments' publish_time is
// this server's too): read only when a message read is delayed.
inline constexpr Statement kNow{"now", "SELECT (extract(epoch FROM now()) * 1000000)::bigint"};

inline constexpr Statement kLockCursor{
    "lock_cursor",
    "SELECT next_position FROM subscription_cursors WHERE subscription_id = $1 FOR UPDATE"};

inline constexpr Statement kSetCursor{
    "set_cursor", "UPDATE subscription_cursors SET next_position = $2 WHERE subscription_id = $1"};

// Claims new messages in one statement, for subscriptions without ordering
// or filter: locks the cursor, reads the segments from it, writes one lease
// row for the next messages and advances the cursor past them. By invariant
// P the positions read are a contiguous run from the cursor, so the cursor
// never passes an unread message (invariant C). $3 max messages, $4 ack
// deadline, $5 the first retry backoff (ms), $6 a byte budget for the data:
// messages while their running total stays within it, the first always
// (its running total is its own size). The rule of PlanNewClaim for the
// plain case, in SQL because this is the hot path: one round trip for the
// whole claim. The cursor is read as a scalar subquery so that it is the
// index condition of the segments' scan whatever the statistics say.
// Through ExecBinary: one row per segment that holds a message taken, with
// the lease, the run taken [low, high] and the segment (decoded by hubd).
inline constexpr Statement kClaimNew{"claim_new", R"sql(
WITH c AS (
  SELECT next_position FROM subscription_cursors
  WHERE subscription_id = $1 FOR UPDATE),
g AS MATERIALIZED (
  SELECT s.first_position, s.publish_time, s.sizes, s.records
  FROM segments s
  WHERE s.topic_id = $2 AND s.publish_time < now() + interval '1 hour'
    AND s.first_position > (SELECT next_position FROM c) - 1000
    AND s.first_position < (SELECT next_position FROM c) + $3::int
    AND s.first_position + cardinality(s.sizes) > (SELECT next_position FROM c)),
m AS (
  SELECT x.position, x.size, sum(x.size) OVER (ORDER BY x.position) AS upto
  FROM (SELECT g.first_position + u.k - 1 AS position, u.size
        FROM g CROSS JOIN LATERAL unnest(g.sizes) WITH ORDINALITY AS u (size, k)) x
  WHERE x.position >= (SELECT next_position FROM c)
  ORDER BY x.position LIMIT $3::int),
t AS (
  SELECT min(position) AS low, max(position) AS high, array_agg(position ORDER BY position) AS ps
  FROM m WHERE upto <= $6::bigint OR upto = size),
l AS (
  INSERT INTO leases (subscription_id, pending, attempt, generation,
                      expires_at, available_at)
  SELECT $1, t.ps, 1, 1,
         now() + $4::bigint * interval '1 millisecond',
         now() + ($4::bigint + $5::bigint) * interval '1 millisecond'
  FROM t WHERE t.ps IS NOT NULL RETURNING lease_id),
u AS (
  UPDATE subscription_cursors SET next_position = t.high + 1
  FROM t WHERE subscription_id = $1 AND t.high IS NOT NULL)
SELECT l.lease_id, t.low, t.high, g.first_position, g.publish_time, g.records
FROM l, t, g
WHERE g.first_position <= t.high AND g.first_position + cardinality(g.sizes) > t.low
ORDER BY g.first_position)sql"};

// At-least-once acks of plain subscriptions, for any number of
// subscriptions in one statement: positions leave their rows; a row left
// with nothing pending is deleted instead. No verdict is read back, which is
// why this takes no round trip per row (PlanSettle decides where a verdict
// is owed). The rows are locked first (k), and both changes decide on the
// rows as locked: a nack that split a row while this statement waited for it
// (the clients send a batch's acks and its nacks as calls at once) left it
// with other positions, and the delete and the update, deciding on the
// version they first saw, would each have passed it by, losing the acks.
// The `= ANY` conditions repeat the join's so that the scan of `leases` can
// take both key columns as index conditions (joined only, a plan made on a
// small table read every row).
inline constexpr Statement kAcknowledge{"acknowledge", R"sql(
WITH a AS (
  SELECT s, l, array_agg(p) AS ps
  FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS t (s, l, p)
  GROUP BY s, l),
k AS (
  SELECT x.subscription_id AS s, x.lease_id AS l, x.pending, a.ps
  FROM leases x JOIN a ON x.subscription_id = a.s AND x.lease_id = a.l
  WHERE x.subscription_id = ANY ($1::bigint[]) AND x.lease_id = ANY ($2::bigint[])
  FOR UPDATE OF x),
d AS (
  DELETE FROM leases x USING k
  WHERE x.subscription_id = ANY ($1::bigint[]) AND x.lease_id = ANY ($2::bigint[])
    AND x.subscription_id = k.s AND x.lease_id = k.l AND k.pending <@ k.ps
  RETURNING 1),
u AS (
  UPDATE leases x
  SET pending = ARRAY(SELECT e FROM unnest(k.pending) AS e WHERE e <> ALL (k.ps))
  FROM k
  WHERE x.subscription_id = ANY ($1::bigint[]) AND x.lease_id = ANY ($2::bigint[])
    AND x.subscription_id = k.s AND x.lease_id = k.l
    AND k.pending && k.ps AND NOT k.pending <@ k.ps
  RETURNING 1)
SELECT (SELECT count(*) FROM d), (SELECT count(*) FROM u))sql"};

// Only the current, unexpired delivery of a row may extend it, and only
// while the message an ack id names is still pending in it: once a keyed
// row's head is acked the row holds the key's next message under the same
// generation, and a late extension of the acked one (clients send their
// receipt extensions and acks in separate batches) would hold that back for
// a whole deadline. The lease must still run at the moment the row is
// updated, not at the statement's start: a nack (expires_at = its now())
// that took the row's lock first and committed while this statement waited
// would otherwise still look running, and the extension would hold the
// nacked message back for a deadline (the clients send a message's receipt
// extension and its nack as two calls at once). An extension never shortens
// a lease. $5/$6
// minimum/maximum backoff (ms): the backoff of RetryBackoff (hub/backoff.h)
// computed per row by its SQL twin hub_retry_backoff_ms (migration 0010),
// since extensions are sent for every held message every few seconds and a
// read of each row before writing it would double their cost. $7 the
// positions, parallel to $2/$3.
inline constexpr Statement kExtendLeases{"extend_leases", R"sql(
UPDATE leases l
SET expires_at = GREATEST(l.expires_at, now() + $4::bigint * interval '1 millisecond'),
    available_at = GREATEST(l.available_at, now() + ($4::bigint +
      hub_retry_backoff_ms($5::bigint, $6::bigint, l.attempt)) * interval '1 millisecond')
FROM unnest($2::bigint[], $3::int[], $7::bigint[]) AS q (lease_id, generation, position)
WHERE l.subscription_id = $1 AND l.lease_id = q.lease_id
  AND l.generation = q.generation AND q.position = ANY (l.pending)
  AND l.expires_at > clock_timestamp())sql"};

// The first position published at or after $2 (unix microseconds), or the
// topic's next position when there is none (migrations/0017): where Seek
// puts the cursor, and the first position retention keeps.
inline constexpr Statement kFirstPositionSince{
    "first_position_since", "SELECT hub_first_position_since($1, to_timestamp($2::bigint / 1e6))"};

inline constexpr Statement kDeleteAllLeases{"delete_all_leases",
                                            "DELETE FROM leases WHERE subscription_id = $1"};

// Moves the cursors of a topic's subscriptions whose retention in effect
// is $3 ms (the topic's is $4) past expired messages, and says how far
// each moved.
inline constexpr Statement kSkipExpired{"skip_expired", R"sql(
WITH old AS (
  SELECT c.subscription_id, c.next_position, s.name
  FROM subscription_cursors c JOIN subscriptions s ON s.id = c.subscription_id
  WHERE s.topic_id = $1 AND c.next_position < $2
    AND hub_retention_in_effect(s.message_retention_ms, $4) = $3
  FOR UPDATE OF c)
UPDATE subscription_cursors c SET next_position = $2
FROM old WHERE c.subscription_id = old.subscription_id
RETURNING old.name, $2 - old.next_position)sql"};

// Lease rows of the same subscriptions that hold expired positions.
inline constexpr Statement kLeasesWithExpired{"leases_with_expired", R"sql(
SELECT l.subscription_id, l.lease_id, l.pending::text, s.name
FROM leases l JOIN subscriptions s ON s.id = l.subscription_id
WHERE s.topic_id = $1 AND EXISTS (SELECT 1 FROM unnest(l.pending) e WHERE e < $2)
  AND hub_retention_in_effect(s.message_retention_ms, $4) = $3
FOR UPDATE OF l)sql"};

// Each topic's retention and dedup window, and the shorter retentions its
// subscriptions have of their own.
inline constexpr Statement kTopicRetentions{"topic_retentions", R"sql(
SELECT t.id, t.message_retention_ms, t.dedup_window_ms,
       ARRAY(SELECT DISTINCT s.message_retention_ms FROM subscriptions s
             WHERE s.topic_id = t.id AND s.message_retention_ms > 0
               AND s.message_retention_ms < t.message_retention_ms)::text
FROM topics t)sql"};

// The partitions of the tables named in $1: parent and partition.
inline constexpr Statement kPartitions{"partitions", R"sql(
SELECT p.relname, c.relname FROM pg_inherits i
JOIN pg_class c ON c.oid = i.inhrelid
JOIN pg_class p ON p.oid = i.inhparent
WHERE p.relname = ANY ($1::text[]))sql"};

// Backlog and lag per subscription ($1 a name, or '' for all), from the
// cursor, the topic head and the lease rows; the only segment read is the
// one holding the oldest unacknowledged message, by position
// (hub_publish_time). A keyed row's head is the one message of it a
// consumer holds; the rest of the row waits.
inline constexpr Statement kSubscriptionStats{"subscription_stats", R"sql(
SELECT s.name, t.name,
       h.next_position - c.next_position
         + COALESCE(l.total, 0) - COALESCE(l.held, 0),
       COALESCE(l.held, 0),
       (extract(epoch FROM m.publish_time) * 1000000)::bigint,
       (SELECT count(*) FROM dead_letters d WHERE d.subscription_id = s.id),
       -- Bytes read every message's size past the oldest unacknowledged
       -- one: only for one subscription asked for by name, never in the
       -- loop that refreshes every subscription's gauges, and only over a
       -- span of at most a million positions (a fraction of a second).
       CASE WHEN $1 <> ''
                 AND h.next_position - LEAST(c.next_position, l.oldest) <= 1000000 THEN (
         SELECT COALESCE(sum(z.size), 0)::bigint
         FROM segments g CROSS JOIN LATERAL unnest(g.sizes) WITH ORDINALITY AS z(size, i)
         WHERE g.topic_id = s.topic_id
           AND g.first_position > LEAST(c.next_position, l.oldest) - 1000
           AND (g.first_position + z.i - 1 >= c.next_position
                OR g.first_position + z.i - 1 IN (
                  SELECT unnest(x.pending) FROM leases x WHERE x.subscription_id = s.id)))
       END
FROM subscriptions s
JOIN topics t ON t.id = s.topic_id
JOIN topic_heads h ON h.topic_id = s.topic_id
JOIN subscription_cursors c ON c.subscription_id = s.id
LEFT JOIN LATERAL (
  SELECT sum(cardinality(x.pending)) AS total,
         sum(CASE WHEN x.expires_at <= now() THEN 0
                  WHEN x.ordering_key IS NULL THEN cardinality(x.pending)
                  WHEN x.attempt = 0 THEN 0
                  ELSE (SELECT count(*) FROM unnest(x.pending) AS e
                        WHERE e <= COALESCE(x.run_end, x.pending[1])) END) AS held,
         min((SELECT min(e) FROM unnest(x.pending) AS e)) AS oldest
  FROM leases x WHERE x.subscription_id = s.id) l ON true
CROSS JOIN LATERAL (
  SELECT hub_publish_time(s.topic_id,
                          LEAST(l.oldest, CASE WHEN h.next_position > c.next_position
                                               THEN c.next_position END)) AS publish_time) m
WHERE $1 = '' OR s.name = $1
ORDER BY s.name)sql"};

// The hubd replicas on this database: connections by the application name
// each replica sets (PGAPPNAME, hubd.cc). pg_stat_activity shows every
// role's application_name, so replicas under other roles are seen too.
inline constexpr Statement kListReplicas{"list_replicas", R"sql(
SELECT application_name, count(*), count(*) FILTER (WHERE state = 'active'),
       (extract(epoch FROM min(backend_start)) * 1000000)::bigint
FROM pg_stat_activity
WHERE datname = current_database() AND application_name LIKE 'hubd %'
GROUP BY application_name
ORDER BY application_name)sql"};

// Advisory locks name the replica-wide jobs: partitions, retention.
inline constexpr Statement kAdvisoryXactLock{"advisory_xact_lock",
                                             "SELECT pg_advisory_xact_lock($1)"};
inline constexpr Statement kTryAdvisoryLock{"try_advisory_lock", "SELECT pg_try_advisory_lock($1)"};
inline constexpr Statement kAdvisoryUnlock{"advisory_unlock", "SELECT pg_advisory_unlock($1)"};

inline constexpr Statement kPing{"ping", "SELECT 1"};

// The migrations' own statements, run before the schema exists (so not
// prepared): the record of what was applied, under a session lock.
inline constexpr char kAdvisoryLock[] = "SELECT pg_advisory_lock($1)";
inline constexpr char kCreateMigrationsTable[] = R"sql(
CREATE TABLE IF NOT EXISTS hub_schema_migrations (
  version    integer PRIMARY KEY,
  name       text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()))sql";
inline constexpr char kAppliedMigrations[] = "SELECT version FROM hub_schema_migrations";
inline constexpr char kRecordMigration[] =
    "INSERT INTO hub_schema_migrations (version, name) VALUES ($1, $2)";

// What PrepareSession prepares on every connection.
inline constexpr const Statement* kPrepared[] = {
    &kCreateTopic,
    &kGetTopic,
    &kListTopics,
    &kDeleteTopic,
    &kTopicExists,
    &kUpdateTopic,
    &kCreateSchema,
    &kGetSchema,
    &kListSchemas,
    &kListSchemaRevisions,
    &kCommitSchema,
    &kDeleteSchemaRevision,
    &kDeleteSchema,
    &kSchemaTopics,
    &kGetAccessPolicy,
    &kLockAccessPolicy,
    &kPutAccessPolicy,
    &kAccessPolicyGeneration,
    &kListAccessPolicies,
    &kCreateSubscription,
    &kGetSubscription,
    &kListSubscriptions,
    &kDeleteSubscription,
    &kSubscriptionExists,
    &kUpdateSubscription,
    &kHasAvailableLeases,
    &kLockAvailableLeases,
    &kSubscriptionsWithDeadLetters,
    &kLockLeases,
    &kRewriteLease,
    &kInsertLease,
    &kSetPending,
    &kAppendPending,
    &kDeleteLeases,
    &kLockKeyedLeases,
    &kNow,
    &kLockCursor,
    &kSetCursor,
    &kDeleteUnusedSubscriptions,
    &kRecordDeadLetters,
    &kTopicHead,
    &kCursorsOf,
    &kLeasesHolding,
    &kLeasesOf,
    &kDeadLettersAt,
    &kDeadLettersOf,
    &kLockDeadLetters,
    &kDeleteDeadLetters,
    &kInsertDueLease,
    &kForgetExpiredDeadLetters,
    &kMarkActive,
    &kAcknowledge,
    &kExtendLeases,
    &kFirstPositionSince,
    &kDeleteAllLeases,
    &kDetachSubscription,
    &kCreateSnapshot,
    &kLockSnapshotCreator,
    &kCopyLeasesToSnapshot,
    &kGetSnapshot,
    &kListSnapshots,
    &kUpdateSnapshot,
    &kDeleteSnapshot,
    &kRestoreSnapshotLeases,
    &kDeleteExpiredSnapshots,
    &kSkipExpired,
    &kLeasesWithExpired,
    &kTopicRetentions,
    &kPartitions,
    &kSubscriptionStats,
    &kListReplicas,
    &kAdvisoryXactLock,
    &kTryAdvisoryLock,
    &kAdvisoryUnlock,
    &kPing,
};

// Settings every store session runs with (PrepareSession says why).
inline constexpr const char* kSessionSettings[] = {
    "SET plan_cache_mode = force_generic_plan",
    "SET enable_seqscan = off",
    "SET enable_bitmapscan = off",
    "SET jit = off",
    "SET max_parallel_workers_per_gather = 0",
};

// The relaxed pool's sessions (PgStore::Commit::kRelaxed).
inline constexpr char kRelaxedCommit[] = "SET synchronous_commit = off";

// Dropping a partition locks the parent table; never wait long for it.
inline constexpr char kPartitionLockTimeout[] = "SET LOCAL lock_timeout = '5s'";

}  // namespace sql

// The tables partitioned by day (publish_time): what each partition of a
// day holds leaves with it (docs/design.md, "Retention").
inline constexpr const char* kPartitionedTables[] = {"segments", "publish_keys",
                                                     "producer_batches"};

// The partition of `table` for the UTC day starting at `day`
// (<table>_pYYYYMMDD), and the statement that makes it if missing.
std::string PartitionName(absl::string_view table, absl::Time day);
std::string CreatePartitionSql(absl::string_view table, absl::Time day);
// `quoted_name` as quoted by the transaction.
std::string DropPartitionSql(absl::string_view quoted_name);

// Whether `tx`, on a Connection (connection.h), goes through a pooler
// (Connection::UseUnnamedStatements).
bool UsesUnnamedStatements(pqxx::transaction_base& tx);

// Runs a statement by its entry in the table, in a transaction on a
// Connection: prepared, or unnamed through a pooler.
template <typename... Args>
pqxx::result Exec(pqxx::transaction_base& tx, const Statement& statement, Args&&... args) {
  if (UsesUnnamedStatements(tx)) return tx.exec_params(statement.text, std::forward<Args>(args)...);
  return tx.exec_prepared(statement.name, std::forward<Args>(args)...);
}

// The same for a statement that returns exactly one row.
template <typename... Args>
pqxx::row Exec1(pqxx::transaction_base& tx, const Statement& statement, Args&&... args) {
  if (UsesUnnamedStatements(tx)) {
    return tx.exec_params1(statement.text, std::forward<Args>(args)...);
  }
  return tx.exec_prepared1(statement.name, std::forward<Args>(args)...);
}

}  // namespace hub::pg

#endif  // HUB_PG_STATEMENTS_H_
