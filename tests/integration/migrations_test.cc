// Migrations: replicas starting together apply each one exactly once, and
// applying again is a no-op.
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <pqxx/connection>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
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

// 0008 gives each topic a reservation counter (docs/design.md,
// "Positions"); a topic made before it gets one at its head, so its next
// publish continues where the topic was, and new and deleted topics make
// and drop theirs.
TEST(MigrationsTest, TopicsFromBeforeReservationsContinueAtTheirHead) {
  const absl::Span<const pg::Migration> migrations = pg::EmbeddedMigrations();
  size_t before = 0;
  while (before < migrations.size() && migrations[before].version < 8) ++before;
  ASSERT_LT(before, migrations.size());
  const std::string url = SharedPostgres().CreateDatabase();
  pqxx::connection conn(url);
  ASSERT_TRUE(pg::ApplyMigrations(conn, migrations.subspan(0, before)).ok());
  const std::string publish =
      "SELECT max(position) FROM hub_publish('{old,old}', 'ab'::bytea, '{1,2}', '{1,1}', "
      "'{NULL,NULL}', '{\"\",\"\"}', '{k1,k2}')";
  QueryValue(url, pg::CreatePartitionSql("messages_test", absl::Now()));
  QueryValue(url,
             "WITH t AS (INSERT INTO topics (name, message_retention_ms, dedup_window_ms) "
             "VALUES ('old', 86400000, 600000) RETURNING id) "
             "INSERT INTO topic_heads SELECT id, 1 FROM t RETURNING 1");
  EXPECT_EQ(QueryValue(url, publish), "2");
  ASSERT_TRUE(pg::ApplyMigrations(conn, migrations).ok());
  EXPECT_EQ(QueryValue(url, "SELECT to_regclass('hub_reservations_1') IS NOT NULL"), "t");
  EXPECT_EQ(QueryValue(url, absl::StrReplaceAll(publish, {{"k1,k2", "k3,k4"}})), "4");
  EXPECT_EQ(QueryValue(url, "SELECT next_position FROM topic_heads"), "5");
  EXPECT_EQ(QueryValue(url, "SELECT last_value FROM hub_reservations_1"), "4");
  QueryValue(url, "DELETE FROM topics WHERE name = 'old' RETURNING 1");
  EXPECT_EQ(QueryValue(url, "SELECT to_regclass('hub_reservations_1') IS NULL"), "t");
}

}  // namespace
}  // namespace hub::testing
