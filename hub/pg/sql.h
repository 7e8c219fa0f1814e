#ifndef HUB_PG_SQL_H_
#define HUB_PG_SQL_H_

// Every statement PgStore runs, as named constants so they can be prepared
// once per connection and read in one place. docs/design.md explains the
// invariants they keep.
namespace hub::pg::sql {

inline constexpr char kCreateTopic[] = R"sql(
WITH t AS (
  INSERT INTO topics (name, message_retention_ms, dedup_window_ms, labels)
  VALUES ($1, $2, $3, $4::jsonb) RETURNING id)
INSERT INTO topic_heads (topic_id, next_position) SELECT id, 1 FROM t)sql";

inline constexpr char kGetTopic[] = R"sql(
SELECT name, message_retention_ms, dedup_window_ms, labels::text
FROM topics WHERE name = $1)sql";

inline constexpr char kListTopics[] = R"sql(
SELECT name, message_retention_ms, dedup_window_ms, labels::text
FROM topics WHERE name > $1 ORDER BY name LIMIT $2)sql";

inline constexpr char kDeleteTopic[] = "DELETE FROM topics WHERE name = $1";

inline constexpr char kTopicExists[] = "SELECT 1 FROM topics WHERE name = $1";

// Locks the topic head for share so that the cursor starts exactly after
// the last committed publish (a publish in progress holds the lock).
inline constexpr char kCreateSubscription[] = R"sql(
WITH t AS (
  SELECT h.topic_id, h.next_position
  FROM topics t JOIN topic_heads h ON h.topic_id = t.id
  WHERE t.name = $2 FOR SHARE OF h),
s AS (
  INSERT INTO subscriptions (name, topic_id, ack_deadline_seconds,
    delivery_guarantee, enable_message_ordering, filter, dead_letter_topic,
    max_delivery_attempts, minimum_backoff_ms, maximum_backoff_ms, labels)
  SELECT $1, t.topic_id, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb FROM t
  RETURNING id)
INSERT INTO subscription_cursors (subscription_id, next_position)
SELECT s.id, t.next_position FROM s, t RETURNING subscription_id)sql";

#define HUB_SQL_SUBSCRIPTION_COLUMNS                                        \
  "s.id, s.topic_id, s.name, t.name, s.ack_deadline_seconds, "              \
  "s.delivery_guarantee, s.enable_message_ordering, s.filter, "             \
  "s.dead_letter_topic, s.max_delivery_attempts, s.minimum_backoff_ms, "    \
  "s.maximum_backoff_ms, s.labels::text "                                   \
  "FROM subscriptions s JOIN topics t ON t.id = s.topic_id "

inline constexpr char kGetSubscription[] =
    "SELECT " HUB_SQL_SUBSCRIPTION_COLUMNS "WHERE s.name = $1";

inline constexpr char kListSubscriptions[] =
    "SELECT " HUB_SQL_SUBSCRIPTION_COLUMNS
    "WHERE ($1 = '' OR t.name = $1) AND s.name > $2 "
    "ORDER BY s.name LIMIT $3";

inline constexpr char kDeleteSubscription[] =
    "DELETE FROM subscriptions WHERE name = $1";

inline constexpr char kSubscriptionExists[] =
    "SELECT 1 FROM subscription_cursors WHERE subscription_id = $1";

// A publish batch in one call (migrations/0003_publish_function.sql): locks
// the topics (invariant P), resolves idempotency keys, writes the messages
// and the heads, notifies. Arrays hold one element per message; payloads
// are sliced out of one binary parameter. One row per message of a topic
// that exists: its ordinal, topic id, position, duplicate.
inline constexpr char kPublish[] = R"sql(
SELECT ord, topic_id, position, duplicate
FROM hub_publish($1::text[], $2::bytea, $3::int[], $4::int[], $5::jsonb[], $6::text[],
                 $7::text[]))sql";

inline constexpr char kHasAvailableLeases[] = R"sql(
SELECT EXISTS (SELECT 1 FROM leases
               WHERE subscription_id = $1 AND available_at <= now()))sql";

// Lease rows due for redelivery; SKIP LOCKED so that two claimers (on any
// replica) never take the same row.
inline constexpr char kLockAvailableLeases[] = R"sql(
SELECT lease_id, pending::text, attempt, generation,
       COALESCE(ordering_key, ''), last_end
FROM leases
WHERE subscription_id = $1 AND available_at <= now()
ORDER BY available_at LIMIT $2
FOR UPDATE SKIP LOCKED)sql";

// Lease rows named by ack ids, locked for settling them.
inline constexpr char kLockLeases[] = R"sql(
SELECT lease_id, pending::text, attempt, generation,
       COALESCE(ordering_key, ''), last_end, expires_at > now()
FROM leases
WHERE subscription_id = $1 AND lease_id = ANY ($2::bigint[])
ORDER BY lease_id
FOR UPDATE)sql";

// Sets a row's whole state. Durations in ms from now: $6 the lease, $7 until
// the row is due again if the lease ends unacked.
inline constexpr char kRewriteLease[] = R"sql(
UPDATE leases
SET pending = $3::bigint[], attempt = $4::int, generation = $5::int,
    expires_at = now() + $6::bigint * interval '1 millisecond',
    available_at = now() + $7::bigint * interval '1 millisecond',
    last_end = $8
WHERE subscription_id = $1 AND lease_id = $2)sql";

// A new row (generation 1) with the same duration parameters; $4 is the
// ordering key, '' for none.
inline constexpr char kInsertLease[] = R"sql(
INSERT INTO leases (subscription_id, pending, attempt, generation, ordering_key,
                    expires_at, available_at, last_end)
VALUES ($1, $2::bigint[], $3::int, 1, NULLIF($4, ''),
        now() + $5::bigint * interval '1 millisecond',
        now() + $6::bigint * interval '1 millisecond', $7)
RETURNING lease_id)sql";

inline constexpr char kSetPending[] =
    "UPDATE leases SET pending = $3::bigint[] "
    "WHERE subscription_id = $1 AND lease_id = $2";

inline constexpr char kAppendPending[] =
    "UPDATE leases SET pending = pending || $3::bigint[] "
    "WHERE subscription_id = $1 AND lease_id = $2";

inline constexpr char kDeleteLeases[] =
    "DELETE FROM leases WHERE subscription_id = $1 AND lease_id = ANY ($2::bigint[])";

// Rows of ordering keys already in flight on an ordered subscription.
inline constexpr char kLockKeyedLeases[] = R"sql(
SELECT ordering_key, lease_id FROM leases
WHERE subscription_id = $1 AND ordering_key = ANY ($2::text[])
FOR UPDATE)sql";

#define HUB_SQL_MESSAGE_COLUMNS                                             \
  "m.position, (extract(epoch FROM m.publish_time) * 1000000)::bigint, "    \
  "m.data, m.attributes::text, m.ordering_key, m.idempotency_key"

// Every read of messages bounds publish_time by now() + 1 hour: a committed
// row's publish_time is older than the statement (it was read under the
// topic lock before that commit), and the bound prunes the empty partitions
// made days ahead from the plan, which each statement would otherwise open.
#define HUB_SQL_NOT_AHEAD "publish_time < now() + interval '1 hour'"

inline constexpr char kFetchMessages[] =
    "SELECT " HUB_SQL_MESSAGE_COLUMNS " FROM messages m "
    "WHERE m.topic_id = $1 AND m.position = ANY ($2::bigint[]) AND m." HUB_SQL_NOT_AHEAD;

inline constexpr char kLockCursor[] =
    "SELECT next_position FROM subscription_cursors "
    "WHERE subscription_id = $1 FOR UPDATE";

inline constexpr char kSetCursor[] =
    "UPDATE subscription_cursors SET next_position = $2 WHERE subscription_id = $1";

// What a claim needs to decide on each new message before reading its data.
inline constexpr char kScanMessages[] = R"sql(
SELECT position, attributes::text, ordering_key, octet_length(data)
FROM messages
WHERE topic_id = $1 AND position >= $2 AND )sql" HUB_SQL_NOT_AHEAD R"sql(
ORDER BY position LIMIT $3)sql";

// Claims new messages in one statement, for subscriptions without ordering
// or filter: locks the cursor, reads the next messages, writes one lease row
// for all of them and advances the cursor past them. By invariant P the rows
// read are a contiguous run from the cursor, so the cursor never passes an
// unread message (invariant C). $3 max messages, $4 ack deadline, $5 the
// first retry backoff (ms), $6 a byte budget for the data (the first
// message is always taken).
inline constexpr char kClaimNew[] =
    "WITH c AS ("
    "  SELECT next_position FROM subscription_cursors"
    "  WHERE subscription_id = $1 FOR UPDATE),"
    " m AS ("
    "  SELECT * FROM ("
    "    SELECT *, sum(octet_length(data)) OVER (ORDER BY position) AS upto"
    "    FROM (SELECT * FROM messages"
    "          WHERE topic_id = $2 AND " HUB_SQL_NOT_AHEAD
    "            AND position >= (SELECT next_position FROM c)"
    "          ORDER BY position LIMIT $3::int) AS first_n) AS sized"
    "  WHERE upto - octet_length(data) < $6::bigint),"
    " l AS ("
    "  INSERT INTO leases (subscription_id, pending, attempt, generation,"
    "                      expires_at, available_at)"
    "  SELECT $1, array_agg(position ORDER BY position), 1, 1,"
    "         now() + $4::bigint * interval '1 millisecond',"
    "         now() + ($4::bigint + $5::bigint) * interval '1 millisecond'"
    "  FROM m HAVING count(*) > 0 RETURNING lease_id),"
    " u AS ("
    "  UPDATE subscription_cursors"
    "  SET next_position = (SELECT max(position) + 1 FROM m)"
    "  WHERE subscription_id = $1 AND EXISTS (SELECT 1 FROM m))"
    " SELECT l.lease_id, " HUB_SQL_MESSAGE_COLUMNS
    " FROM m CROSS JOIN l ORDER BY m.position";

// At-least-once acks of plain subscriptions, for any number of
// subscriptions in one statement: positions leave their rows; a row left
// with nothing pending is deleted instead. The `= ANY` conditions repeat the
// join's so that the scan of `leases` can take both key columns as index
// conditions (joined only, a plan made on a small table read every row).
inline constexpr char kAcknowledge[] = R"sql(
WITH a AS (
  SELECT s, l, array_agg(p) AS ps
  FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS t (s, l, p)
  GROUP BY s, l),
d AS (
  DELETE FROM leases x USING a
  WHERE x.subscription_id = ANY ($1::bigint[]) AND x.lease_id = ANY ($2::bigint[])
    AND x.subscription_id = a.s AND x.lease_id = a.l AND x.pending <@ a.ps
  RETURNING 1),
u AS (
  UPDATE leases x
  SET pending = ARRAY(SELECT e FROM unnest(x.pending) AS e WHERE e <> ALL (a.ps))
  FROM a
  WHERE x.subscription_id = ANY ($1::bigint[]) AND x.lease_id = ANY ($2::bigint[])
    AND x.subscription_id = a.s AND x.lease_id = a.l
    AND x.pending && a.ps AND NOT x.pending <@ a.ps
  RETURNING 1)
SELECT (SELECT count(*) FROM d), (SELECT count(*) FROM u))sql";

// Only the current, unexpired delivery of a row may extend it; an extension
// never shortens a lease. $5/$6 minimum/maximum backoff (ms).
inline constexpr char kExtendLeases[] =
    "UPDATE leases l SET "
    "expires_at = GREATEST(l.expires_at, "
    "now() + $4::bigint * interval '1 millisecond'), "
    "available_at = GREATEST(l.available_at, now() + ($4::bigint + "
    "LEAST($6::bigint, $5::bigint * power(2, l.attempt - 1))"
    ") * interval '1 millisecond') "
    "FROM unnest($2::bigint[], $3::int[]) AS q (lease_id, generation) "
    "WHERE l.subscription_id = $1 AND l.lease_id = q.lease_id "
    "AND l.generation = q.generation AND l.expires_at > now()";

// The first position published at or after $2 (unix microseconds), or the
// topic's next position when there is none: where Seek puts the cursor, and
// the first position retention keeps.
inline constexpr char kFirstPositionSince[] = R"sql(
SELECT COALESCE(
  (SELECT min(position) FROM messages
   WHERE topic_id = $1 AND publish_time >= to_timestamp($2::bigint / 1e6)),
  (SELECT next_position FROM topic_heads WHERE topic_id = $1)))sql";

inline constexpr char kDeleteAllLeases[] =
    "DELETE FROM leases WHERE subscription_id = $1";

inline constexpr char kUpdateTopic[] = R"sql(
UPDATE topics SET message_retention_ms = $2, dedup_window_ms = $3,
                  labels = $4::jsonb
WHERE name = $1)sql";

inline constexpr char kUpdateSubscription[] = R"sql(
UPDATE subscriptions
SET ack_deadline_seconds = $2, filter = $3, dead_letter_topic = $4,
    max_delivery_attempts = $5, minimum_backoff_ms = $6,
    maximum_backoff_ms = $7, labels = $8::jsonb
WHERE name = $1)sql";

// Moves the cursors of a topic's subscriptions past expired messages and
// says how far each moved.
inline constexpr char kSkipExpired[] = R"sql(
WITH old AS (
  SELECT c.subscription_id, c.next_position, s.name
  FROM subscription_cursors c JOIN subscriptions s ON s.id = c.subscription_id
  WHERE s.topic_id = $1 AND c.next_position < $2
  FOR UPDATE OF c)
UPDATE subscription_cursors c SET next_position = $2
FROM old WHERE c.subscription_id = old.subscription_id
RETURNING old.name, $2 - old.next_position)sql";

// Lease rows of a topic's subscriptions that hold expired positions.
inline constexpr char kLeasesWithExpired[] = R"sql(
SELECT l.subscription_id, l.lease_id, l.pending::text, s.name
FROM leases l JOIN subscriptions s ON s.id = l.subscription_id
WHERE s.topic_id = $1 AND EXISTS (SELECT 1 FROM unnest(l.pending) e WHERE e < $2)
FOR UPDATE OF l)sql";

inline constexpr char kTopicRetentions[] =
    "SELECT id, message_retention_ms FROM topics";

inline constexpr char kMessagePartitions[] = R"sql(
SELECT c.relname FROM pg_inherits i
JOIN pg_class c ON c.oid = i.inhrelid
JOIN pg_class p ON p.oid = i.inhparent
WHERE p.relname = 'messages')sql";

// Backlog and lag per subscription ($1 a name, or '' for all), from the
// cursor, the topic head and the lease rows; the only message read is the
// oldest unacknowledged one, by primary position. A keyed row's head is the
// one message of it a consumer holds; the rest of the row waits. The LIMIT
// keeps that read a lookup per subscription: without it the planner may
// flatten the subquery into a join, and with the statistics of 2,800,000
// messages it merge-joined every message of the topic (3.6 s per call).
inline constexpr char kSubscriptionStats[] = R"sql(
SELECT s.name, t.name,
       h.next_position - c.next_position
         + COALESCE(l.total, 0) - COALESCE(l.held, 0),
       COALESCE(l.held, 0),
       (extract(epoch FROM m.publish_time) * 1000000)::bigint
FROM subscriptions s
JOIN topics t ON t.id = s.topic_id
JOIN topic_heads h ON h.topic_id = s.topic_id
JOIN subscription_cursors c ON c.subscription_id = s.id
LEFT JOIN LATERAL (
  SELECT sum(cardinality(x.pending)) AS total,
         sum(CASE WHEN x.expires_at <= now() THEN 0
                  WHEN x.ordering_key IS NULL THEN cardinality(x.pending)
                  ELSE least(1, cardinality(x.pending)) END) AS held,
         min((SELECT min(e) FROM unnest(x.pending) AS e)) AS oldest
  FROM leases x WHERE x.subscription_id = s.id) l ON true
LEFT JOIN LATERAL (
  SELECT publish_time FROM messages
  WHERE topic_id = s.topic_id
    AND position = LEAST(l.oldest, CASE WHEN h.next_position > c.next_position
                                        THEN c.next_position END)
    AND publish_time < now() + interval '1 hour'
  LIMIT 1) m ON true
WHERE $1 = '' OR s.name = $1
ORDER BY s.name)sql";

}  // namespace hub::pg::sql

#endif  // HUB_PG_SQL_H_
