// Migrations: replicas starting together apply each one exactly once, and
// applying again is a no-op.
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <pqxx/connection>
#include <pqxx/nontransaction>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/pubsub/v1/pubsub.grpc.pb.h"
#include "hub/pg/migrations.h"
#include "hub/pg/statements.h"
#include "tests/support/hub_client.h"
#include "tests/support/test_env.h"

namespace hub::testing {
namespace {

// What pg_dump --schema-only prints of a database, without its comments,
// session settings, blank lines and the migrations' own record.
std::string SchemaOf(const std::string& url) {
  const CommandResult dump = RunCommand(absl::StrCat(
      "pg_dump --schema-only --no-owner --exclude-table=hub_schema_migrations -d '", url, "'"));
  EXPECT_EQ(dump.exit_code, 0) << dump.err;
  std::vector<std::string> kept;
  for (absl::string_view line : absl::StrSplit(dump.out, '\n')) {
    if (line.empty() || absl::StartsWith(line, "--") || absl::StartsWith(line, "SET ") ||
        absl::StartsWith(line, "\\restrict") || absl::StartsWith(line, "\\unrestrict") ||
        absl::StartsWith(line, "SELECT pg_catalog.set_config")) {
      continue;
    }
    kept.emplace_back(line);
  }
  return absl::StrJoin(kept, "\n") + "\n";
}

// The baseline folds the pre-release chain 0001-0004; testdata holds the
// schema that chain made (pg_dump of a database it was applied to, cut as
// SchemaOf cuts it).
TEST(MigrationsTest, TheBaselineMakesTheSchemaOfThePreReleaseChain) {
  const absl::Span<const pg::Migration> migrations = pg::EmbeddedMigrations();
  ASSERT_FALSE(migrations.empty());
  ASSERT_EQ(migrations[0].name, "0001_baseline.sql");
  const std::string url = SharedPostgres().CreateDatabase();
  pqxx::connection conn(url);
  ASSERT_TRUE(pg::ApplyMigrations(conn, migrations.subspan(0, 1)).ok());
  std::ifstream file(std::string(HUB_SOURCE_DIR) +
                     "/tests/integration/testdata/pre_baseline_schema.golden");
  ASSERT_TRUE(file.good());
  std::stringstream chain;
  chain << file.rdbuf();
  EXPECT_EQ(SchemaOf(url), chain.str());
}

TEST(MigrationsTest, ReplicasStartingTogetherApplyEachMigrationOnce) {
  const std::string url = SharedPostgres().CreateDatabase();
  std::vector<std::unique_ptr<HubProcess>> replicas;
  for (int i = 0; i < 3; ++i) replicas.push_back(std::make_unique<HubProcess>(url));
  std::vector<std::thread> starts;
  for (auto& r : replicas) {
    starts.emplace_back([&r] { r->Start(); });
  }
  for (auto& t : starts) t.join();
  for (auto& r : replicas) EXPECT_TRUE(r->running());

  const std::string applied = QueryValue(url, "SELECT count(*) FROM hub_schema_migrations");
  const std::string distinct =
      QueryValue(url, "SELECT count(DISTINCT version) FROM hub_schema_migrations");
  EXPECT_EQ(applied, distinct);
  EXPECT_GE(std::stoi(applied), 1);

  // A restart applies nothing new and changes nothing.
  const std::string before =
      QueryValue(url, "SELECT max(applied_at)::text FROM hub_schema_migrations");
  replicas[0]->Kill();
  replicas[0]->Start();
  EXPECT_EQ(QueryValue(url, "SELECT count(*) FROM hub_schema_migrations"), applied);
  EXPECT_EQ(QueryValue(url, "SELECT max(applied_at)::text FROM hub_schema_migrations"), before);
}

// The chart's migration Job: --migrate_only applies everything and exits 0;
// a replica started with --migrate=false then serves on that schema.
TEST(MigrationsTest, MigrateOnlyAppliesAndExits) {
  const std::string url = SharedPostgres().CreateDatabase();
  CommandResult r = RunCommand(absl::StrCat("HUB_DATABASE_URL='", url, "' ", HUBD_PATH,
                                            " --migrate_only --metrics_listen=127.0.0.1:0"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("\"event\":\"migrated\""), std::string::npos) << r.err;
  EXPECT_EQ(std::stoi(QueryValue(url, "SELECT count(*) FROM hub_schema_migrations")),
            static_cast<int>(pg::EmbeddedMigrations().size()));
  HubProcess replica(url, {"--migrate=false"});
  ASSERT_NO_FATAL_FAILURE(replica.Start());
  auto publisher = replica.Publisher();
  EXPECT_TRUE(CreateTopic(*publisher, "orders").ok());
}

// The number of migrations before `version`.
size_t Before(int version) {
  const absl::Span<const pg::Migration> migrations = pg::EmbeddedMigrations();
  size_t before = 0;
  while (before < migrations.size() && migrations[before].version < version) ++before;
  return before;
}

// A new database holding the migrations before `version`.
std::string DatabaseBefore(int version) {
  const std::string url = SharedPostgres().CreateDatabase();
  pqxx::connection conn(url);
  const absl::Status applied =
      pg::ApplyMigrations(conn, pg::EmbeddedMigrations().subspan(0, Before(version)));
  EXPECT_TRUE(applied.ok()) << applied;
  return url;
}

// Applies the rest of the migrations to the database at `url`.
void MigrateFully(const std::string& url) {
  pqxx::connection conn(url);
  const absl::Status applied = pg::ApplyMigrations(conn, pg::EmbeddedMigrations());
  EXPECT_TRUE(applied.ok()) << applied;
}

// A partition of today for a schema before 0012, which stored `messages`.
std::string TodaysMessagesPartition() {
  return absl::StrCat("CREATE TABLE messages_p",
                      absl::FormatTime("%Y%m%d", absl::Now(), absl::UTCTimeZone()),
                      " PARTITION OF messages FOR VALUES FROM (date_trunc('day', now() AT TIME "
                      "ZONE 'UTC') AT TIME ZONE 'UTC') TO (date_trunc('day', now() AT TIME ZONE "
                      "'UTC') AT TIME ZONE 'UTC' + interval '24 hours')");
}

// 0008 gives each topic a reservation counter (docs/design.md,
// "Positions"); a topic made before it gets one at its head, so its next
// publish continues where the topic was, and new and deleted topics make
// and drop theirs.
TEST(MigrationsTest, TopicsFromBeforeReservationsContinueAtTheirHead) {
  const absl::Span<const pg::Migration> migrations = pg::EmbeddedMigrations();
  ASSERT_LT(Before(12), migrations.size());
  const std::string url = SharedPostgres().CreateDatabase();
  pqxx::connection conn(url);
  ASSERT_TRUE(pg::ApplyMigrations(conn, migrations.subspan(0, Before(8))).ok());
  // hub_publish as it was until 0012.
  const std::string publish =
      "SELECT max(position) FROM hub_publish('{old,old}', 'ab'::bytea, '{1,2}', '{1,1}', "
      "'{NULL,NULL}', '{\"\",\"\"}', '{k1,k2}')";
  QueryValue(url, TodaysMessagesPartition());
  QueryValue(url,
             "WITH t AS (INSERT INTO topics (name, message_retention_ms, dedup_window_ms) "
             "VALUES ('old', 86400000, 600000) RETURNING id) "
             "INSERT INTO topic_heads SELECT id, 1 FROM t RETURNING 1");
  EXPECT_EQ(QueryValue(url, publish), "2");
  ASSERT_TRUE(pg::ApplyMigrations(conn, migrations.subspan(0, Before(12))).ok());
  EXPECT_EQ(QueryValue(url, "SELECT to_regclass('hub_reservations_1') IS NOT NULL"), "t");
  EXPECT_EQ(QueryValue(url, absl::StrReplaceAll(publish, {{"k1,k2", "k3,k4"}})), "4");
  EXPECT_EQ(QueryValue(url, "SELECT next_position FROM topic_heads"), "5");
  EXPECT_EQ(QueryValue(url, "SELECT last_value FROM hub_reservations_1"), "4");
  ASSERT_TRUE(pg::ApplyMigrations(conn, migrations).ok());
  QueryValue(url, "DELETE FROM topics WHERE name = 'old' RETURNING 1");
  EXPECT_EQ(QueryValue(url, "SELECT to_regclass('hub_reservations_1') IS NULL"), "t");
}

// Upgrading into segments (0012): a database at 0009 holding messages,
// keys, a lease row and a snapshot, written by the statements of then, is
// upgraded in place. Nothing acknowledged comes back, every other message
// is delivered once to each subscription with every field as published, a
// key published before is still recognised, and a seek to the snapshot
// delivers its messages again.
TEST(MigrationsTest, AnUpgradeIntoSegmentsKeepsMessagesLeasesSnapshotsAndKeys) {
  const std::string url = DatabaseBefore(10);
  {
    pqxx::connection conn(url);
    pqxx::nontransaction tx(conn);
    tx.exec(TodaysMessagesPartition());
    // The topic as hubd made it then (kCreateTopic now names 0014's columns).
    tx.exec(R"sql(
      WITH t AS (INSERT INTO topics (name, message_retention_ms, dedup_window_ms, labels)
                 VALUES ('orders', 86400000, 86400000, '{}') RETURNING id)
      INSERT INTO topic_heads (topic_id, next_position) SELECT id, 1 FROM t)sql");
    // Subscriptions as hubd made them then (kCreateSubscription now names
    // 0015's column).
    for (const char* sub : {"acked-some", "fresh"}) {
      tx.exec_params(R"sql(
        WITH t AS (SELECT h.topic_id, h.next_position FROM topics t
                   JOIN topic_heads h ON h.topic_id = t.id WHERE t.name = 'orders'),
        s AS (INSERT INTO subscriptions (name, topic_id, ack_deadline_seconds,
                delivery_guarantee, enable_message_ordering, filter, dead_letter_topic,
                max_delivery_attempts, minimum_backoff_ms, maximum_backoff_ms, labels)
              SELECT $1, t.topic_id, 60, 1, false, '', '', 0, 0, 0, '{}' FROM t RETURNING id)
        INSERT INTO subscription_cursors (subscription_id, next_position)
        SELECT s.id, t.next_position FROM s, t)sql",
                     sub);
    }
    // Ten messages through hub_publish as it was: "m1".."m10", keys
    // "k1".."k10", the odd ones with an attribute, every third with an
    // ordering key.
    std::string data, offsets, lengths, attributes, okeys, ikeys;
    for (int i = 1; i <= 10; ++i) {
      const std::string d = absl::StrCat("m", i);
      absl::StrAppend(&offsets, i > 1 ? "," : "", data.size() + 1);
      absl::StrAppend(&lengths, i > 1 ? "," : "", d.size());
      data += d;
      absl::StrAppend(&attributes, i > 1 ? "," : "",
                      i % 2 == 1 ? absl::StrCat("\"{\\\"n\\\": \\\"", i, "\\\"}\"") : "NULL");
      absl::StrAppend(&okeys, i > 1 ? "," : "", i % 3 == 0 ? "o" : "\"\"");
      absl::StrAppend(&ikeys, i > 1 ? "," : "", "k", i);
    }
    EXPECT_EQ(tx.exec_params1("SELECT max(position) FROM hub_publish(array_fill('orders'::text, "
                              "ARRAY[10]), convert_to($1, 'UTF8'), $2::int[], $3::int[], "
                              "$4::jsonb[], $5::text[], $6::text[])",
                              data, "{" + offsets + "}", "{" + lengths + "}",
                              "{" + attributes + "}", "{" + okeys + "}", "{" + ikeys + "}")[0]
                  .template as<int>(),
              10);
    // acked-some: 1, 2 and 5 acknowledged, 3 and 4 delivered and due again,
    // 6..10 never delivered; its snapshot holds the same.
    tx.exec(
        "UPDATE subscription_cursors SET next_position = 6 WHERE subscription_id = "
        "(SELECT id FROM subscriptions WHERE name = 'acked-some')");
    tx.exec(
        "INSERT INTO leases (subscription_id, pending, attempt, generation, expires_at, "
        "available_at) SELECT id, '{3,4}', 1, 1, now() - interval '1 minute', "
        "now() - interval '1 minute' FROM subscriptions WHERE name = 'acked-some'");
    tx.exec(
        "WITH s AS (INSERT INTO snapshots (name, topic_id, next_position, expire_time) "
        "SELECT 'before', id, 6, now() + interval '1 day' FROM topics RETURNING id) "
        "INSERT INTO snapshot_leases (snapshot_id, pending) SELECT id, '{3,4}' FROM s");
  }
  MigrateFully(url);
  EXPECT_EQ(QueryValue(url, "SELECT to_regclass('messages') IS NULL"), "t");
  EXPECT_EQ(QueryValue(url, "SELECT count(*) FROM publish_keys"), "10");
  EXPECT_EQ(QueryValue(url,
                       "SELECT string_agg(position::text || convert_from(data, 'UTF8'), ',' "
                       "ORDER BY position) FROM hub_messages"),
            "1m1,2m2,3m3,4m4,5m5,6m6,7m7,8m8,9m9,10m10");

  HubProcess hubd(url);
  ASSERT_NO_FATAL_FAILURE(hubd.Start());
  auto subscriber = hubd.Subscriber();
  auto publisher = hubd.Publisher();
  // Every message a subscription had not acknowledged, once, acked here.
  auto drain = [&](const std::string& sub) {
    std::map<std::string, v1::Message> got;
    int deliveries = 0;
    for (int empty = 0; empty < 3;) {
      v1::PullResponse resp;
      if (!Pull(*subscriber, sub, 100, absl::Milliseconds(300), &resp).ok()) continue;
      empty = resp.received_messages().empty() ? empty + 1 : 0;
      std::vector<std::string> acks;
      for (const auto& m : resp.received_messages()) {
        got[m.message().data()] = m.message();
        acks.push_back(m.ack_id());
        ++deliveries;
      }
      if (!acks.empty()) EXPECT_TRUE(Ack(*subscriber, sub, acks).ok());
    }
    EXPECT_EQ(deliveries, static_cast<int>(got.size())) << sub << ": a message came twice";
    return got;
  };
  std::vector<std::string> names;
  for (const auto& [data, m] : drain("acked-some")) names.push_back(data);
  EXPECT_EQ(names, (std::vector<std::string>{"m10", "m3", "m4", "m6", "m7", "m8", "m9"}));
  const std::map<std::string, v1::Message> fresh = drain("fresh");
  ASSERT_EQ(fresh.size(), 10u);
  const v1::Message& m9 = fresh.at("m9");
  EXPECT_EQ(m9.message_id(), "9");
  EXPECT_EQ(m9.attributes().at("n"), "9");
  EXPECT_EQ(m9.ordering_key(), "o");
  EXPECT_EQ(m9.idempotency_key(), "k9");
  EXPECT_TRUE(fresh.at("m2").attributes().empty());

  v1::PublishResponse retried;
  ASSERT_TRUE(PublishOne(*publisher, "orders", "m3", "k3", &retried).ok());
  EXPECT_TRUE(retried.results(0).duplicate());
  EXPECT_EQ(retried.results(0).message_id(), "3");

  auto ps_subscriber = google::pubsub::v1::Subscriber::NewStub(hubd.Channel());
  google::pubsub::v1::SeekRequest seek;
  seek.set_subscription("projects/hub/subscriptions/acked-some");
  seek.set_snapshot("projects/hub/snapshots/before");
  google::pubsub::v1::SeekResponse seeked;
  grpc::ClientContext ctx;
  const grpc::Status status = ps_subscriber->Seek(&ctx, seek, &seeked);
  ASSERT_TRUE(status.ok()) << status.error_message();
  names.clear();
  for (const auto& [data, m] : drain("acked-some")) names.push_back(data);
  EXPECT_EQ(names, (std::vector<std::string>{"m10", "m3", "m4", "m6", "m7", "m8", "m9"}));
}

// 0013 moves the producer batches 0012 remembered (a row per producer)
// into producer_batches: a batch committed before the upgrade and sent
// again after it is still answered with its first ids, and one
// overlapping it is still refused.
TEST(MigrationsTest, ProducerBatchesFromBeforeTheLogAreStillRecognised) {
  ASSERT_LT(Before(13), pg::EmbeddedMigrations().size());
  const std::string url = DatabaseBefore(13);
  // Producer p's batch of sequence numbers 0..2 at positions 1..3, as
  // 0012's hub_publish_number recorded it.
  QueryValue(url,
             "WITH t AS (INSERT INTO topics (name, message_retention_ms, dedup_window_ms) "
             "VALUES ('orders', 86400000, 86400000) RETURNING id), "
             "h AS (INSERT INTO topic_heads (topic_id, next_position) SELECT id, 4 FROM t) "
             "INSERT INTO producers (topic_id, producer, sequences, counts, positions, times) "
             "SELECT id, 'p', '{0}', '{3}', '{1}', ARRAY[now()] FROM t RETURNING 1");
  MigrateFully(url);
  EXPECT_EQ(QueryValue(url, "SELECT to_regclass('producers') IS NULL"), "t");
  EXPECT_EQ(QueryValue(url,
                       "SELECT string_agg(concat_ws(' ', producer, first_sequence, count, "
                       "position), ',') FROM producer_batches"),
            "p 0 3 1");

  HubProcess hubd(url);
  ASSERT_NO_FATAL_FAILURE(hubd.Start());
  auto publisher = hubd.Publisher();
  auto batch = [](int64_t first_sequence, int count) {
    v1::PublishRequest req;
    req.set_topic("orders");
    req.set_producer("p");
    req.set_first_sequence(first_sequence);
    for (int i = 0; i < count; ++i) req.add_messages()->set_data(absl::StrCat("m", i));
    return req;
  };
  grpc::ClientContext ctx;
  v1::PublishResponse again;
  ASSERT_TRUE(publisher->Publish(&ctx, batch(0, 3), &again).ok());
  ASSERT_EQ(again.results_size(), 3);
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(again.results(i).duplicate()) << i;
    EXPECT_EQ(again.results(i).message_id(), absl::StrCat(i + 1)) << i;
  }
  grpc::ClientContext overlap_ctx;
  v1::PublishResponse refused;
  EXPECT_EQ(publisher->Publish(&overlap_ctx, batch(2, 2), &refused).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

}  // namespace
}  // namespace hub::testing
