// Migrations: replicas starting together apply each one exactly once, and
// applying again is a no-op.
#include <thread>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "tests/support/hub_client.h"
#include "tests/support/test_env.h"

namespace hub::testing {
namespace {

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
  const std::string before = QueryValue(url, "SELECT max(applied_at)::text FROM hub_schema_migrations");
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
  EXPECT_GE(std::stoi(QueryValue(url, "SELECT count(*) FROM hub_schema_migrations")), 3);
  HubProcess replica(url, {"--migrate=false"});
  ASSERT_NO_FATAL_FAILURE(replica.Start());
  auto publisher = replica.Publisher();
  EXPECT_TRUE(CreateTopic(*publisher, "orders").ok());
}

}  // namespace
}  // namespace hub::testing
