// Authentication and per-topic authorization (docs/security.md): a matrix of
// principals x RPCs x {allowed, denied, prefix, deny-wins, other's resource,
// no token, wrong token}, each answered with exactly the expected code, and
// the database's row counts unchanged after every refused call.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <functional>

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/support/hub_client.h"
#include "tests/support/test_env.h"

namespace hub::testing {
namespace {

using grpc::StatusCode;

constexpr char kPolicy[] = R"(
allow ops      *          *
allow orders   publish    topic:orders*
deny  *        publish    topic:orders.frozen
allow billing  subscribe  subscription:billing*
allow billing  publish    topic:payments
allow team     admin      subscription:team-*
allow team     subscribe  topic:orders
allow lister   admin      topic:*
allow lister   admin      subscription:*
deny  lister   admin      topic:secret*
deny  lister   admin      subscription:billing-eu
allow cleaner  admin      topic:*
allow cleaner  admin      subscription:scratch*
)";

class AuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = SharedPostgres().CreateDatabase();
    hubd_ = std::make_unique<HubProcess>(url_, files_.Flags());
    ASSERT_NO_FATAL_FAILURE(hubd_->Start());
    publisher_ = hubd_->Publisher();
    subscriber_ = hubd_->Subscriber();
    // Set up as ops.
    for (const char* topic : {"orders", "orders.v2", "orders.frozen", "payments", "secret"}) {
      grpc::ClientContext ctx;
      As(ctx, "t-ops");
      v1::Topic t, out;
      t.set_name(topic);
      ASSERT_TRUE(publisher_->CreateTopic(&ctx, t, &out).ok()) << topic;
    }
    for (const char* sub : {"billing", "billing-eu", "scratch"}) {
      ASSERT_EQ(CreateSubscription("t-ops", sub, "orders", "").error_code(), StatusCode::OK) << sub;
    }
  }

  static void As(grpc::ClientContext& ctx, const std::string& token) {
    if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
  }

  grpc::Status CreateSubscription(const std::string& token, const std::string& name,
                                  const std::string& topic, const std::string& dead_letter) {
    grpc::ClientContext ctx;
    As(ctx, token);
    v1::Subscription s, out;
    s.set_name(name);
    s.set_topic(topic);
    if (!dead_letter.empty()) s.mutable_dead_letter_policy()->set_dead_letter_topic(dead_letter);
    return subscriber_->CreateSubscription(&ctx, s, &out);
  }

  grpc::Status Publish(const std::string& token, const std::string& topic) {
    grpc::ClientContext ctx;
    As(ctx, token);
    v1::PublishRequest r;
    r.set_topic(topic);
    r.add_messages()->set_data("x");
    v1::PublishResponse out;
    return publisher_->Publish(&ctx, r, &out);
  }

  grpc::Status Pull(const std::string& token, const std::string& sub) {
    grpc::ClientContext ctx;
    As(ctx, token);
    v1::PullRequest r;
    r.set_subscription(sub);
    r.set_max_messages(1);
    v1::PullResponse out;
    return subscriber_->Pull(&ctx, r, &out);
  }

  grpc::Status StreamingPull(const std::string& token, const std::string& sub) {
    grpc::ClientContext ctx;
    As(ctx, token);
    auto stream = subscriber_->StreamingPull(&ctx);
    v1::StreamingPullRequest first;
    first.set_subscription(sub);
    stream->Write(first);
    stream->WritesDone();
    v1::StreamingPullResponse response;
    while (stream->Read(&response)) {
    }
    return stream->Finish();
  }

  grpc::Status Acknowledge(const std::string& token, const std::string& sub) {
    grpc::ClientContext ctx;
    As(ctx, token);
    v1::AcknowledgeRequest r;
    r.set_subscription(sub);
    r.add_ack_ids("not-an-ack-id");
    v1::AcknowledgeResponse out;
    return subscriber_->Acknowledge(&ctx, r, &out);
  }

  grpc::Status Seek(const std::string& token, const std::string& sub) {
    grpc::ClientContext ctx;
    As(ctx, token);
    v1::SeekRequest r;
    r.set_subscription(sub);
    r.mutable_time()->set_seconds(0);
    v1::SeekResponse out;
    return subscriber_->Seek(&ctx, r, &out);
  }

  grpc::Status Transact(const std::string& token, const std::string& sub,
                        const std::string& topic) {
    grpc::ClientContext ctx;
    As(ctx, token);
    v1::TransactRequest r;
    r.set_subscription(sub);
    v1::PublishRequest* p = r.add_publishes();
    p->set_topic(topic);
    p->add_messages()->set_data("y");
    v1::TransactResponse out;
    return subscriber_->Transact(&ctx, r, &out);
  }

  grpc::Status CreateTopic(const std::string& token, const std::string& name) {
    grpc::ClientContext ctx;
    As(ctx, token);
    v1::Topic t, out;
    t.set_name(name);
    return publisher_->CreateTopic(&ctx, t, &out);
  }

  grpc::Status DeleteSubscription(const std::string& token, const std::string& name) {
    grpc::ClientContext ctx;
    As(ctx, token);
    v1::DeleteSubscriptionRequest r;
    r.set_name(name);
    google::protobuf::Empty out;
    return subscriber_->DeleteSubscription(&ctx, r, &out);
  }

  // Rows of every table, as one string to compare.
  std::string RowCounts() {
    std::string counts;
    for (const char* table : {"topics", "topic_heads", "subscriptions", "subscription_cursors",
                              "segments", "publish_keys", "producer_batches", "leases"}) {
      absl::StrAppend(&counts, table, "=",
                      QueryValue(url_, absl::StrCat("SELECT count(*) FROM ", table)), " ");
    }
    // Seek moves cursors without adding rows: their positions count too.
    absl::StrAppend(
        &counts, "cursors=",
        QueryValue(url_, "SELECT coalesce(sum(next_position), 0) FROM subscription_cursors"));
    return counts;
  }

  const AccessFiles files_{{"ops", "orders", "billing", "team", "lister", "cleaner"}, kPolicy};
  std::string url_;
  std::unique_ptr<HubProcess> hubd_;
  std::unique_ptr<v1::Publisher::Stub> publisher_;
  std::unique_ptr<v1::Subscriber::Stub> subscriber_;
};

TEST_F(AuthTest, EveryCallGetsExactlyTheExpectedCode) {
  struct Row {
    std::string what;
    std::function<grpc::Status()> call;
    StatusCode expected;
  };
  const std::vector<Row> matrix = {
      {"Publish allowed", [&] { return Publish("t-orders", "orders"); }, StatusCode::OK},
      {"Publish by prefix", [&] { return Publish("t-orders", "orders.v2"); }, StatusCode::OK},
      {"Publish, deny wins over the prefix", [&] { return Publish("t-orders", "orders.frozen"); },
       StatusCode::PERMISSION_DENIED},
      {"Publish to another's topic", [&] { return Publish("t-orders", "payments"); },
       StatusCode::PERMISSION_DENIED},
      {"Publish by a subscriber", [&] { return Publish("t-billing", "orders"); },
       StatusCode::PERMISSION_DENIED},
      {"Publish without a token", [&] { return Publish("", "orders"); },
       StatusCode::UNAUTHENTICATED},
      {"Publish with a wrong token", [&] { return Publish("t-nobody", "orders"); },
       StatusCode::UNAUTHENTICATED},
      {"Pull allowed", [&] { return Pull("t-billing", "billing"); }, StatusCode::OK},
      {"Pull by prefix", [&] { return Pull("t-billing", "billing-eu"); }, StatusCode::OK},
      {"Pull of another's subscription", [&] { return Pull("t-orders", "billing"); },
       StatusCode::PERMISSION_DENIED},
      {"Pull without a token", [&] { return Pull("", "billing"); }, StatusCode::UNAUTHENTICATED},
      {"StreamingPull allowed", [&] { return StreamingPull("t-billing", "billing"); },
       StatusCode::OK},
      {"StreamingPull of another's subscription",
       [&] { return StreamingPull("t-orders", "billing"); }, StatusCode::PERMISSION_DENIED},
      {"StreamingPull with a wrong token", [&] { return StreamingPull("t-x", "billing"); },
       StatusCode::UNAUTHENTICATED},
      {"Acknowledge allowed", [&] { return Acknowledge("t-billing", "billing"); }, StatusCode::OK},
      {"Acknowledge on another's subscription", [&] { return Acknowledge("t-team", "billing"); },
       StatusCode::PERMISSION_DENIED},
      {"Seek allowed", [&] { return Seek("t-billing", "billing-eu"); }, StatusCode::OK},
      {"Seek on another's subscription", [&] { return Seek("t-orders", "billing"); },
       StatusCode::PERMISSION_DENIED},
      {"Transact allowed", [&] { return Transact("t-billing", "billing", "payments"); },
       StatusCode::OK},
      {"Transact publishing where it may not",
       [&] { return Transact("t-billing", "billing", "orders"); }, StatusCode::PERMISSION_DENIED},
      {"Transact on another's subscription",
       [&] { return Transact("t-orders", "billing", "orders"); }, StatusCode::PERMISSION_DENIED},
      {"CreateTopic by an admin", [&] { return CreateTopic("t-ops", "audit"); }, StatusCode::OK},
      {"CreateTopic by a publisher", [&] { return CreateTopic("t-orders", "orders.new"); },
       StatusCode::PERMISSION_DENIED},
      {"CreateTopic without a token", [&] { return CreateTopic("", "x"); },
       StatusCode::UNAUTHENTICATED},
      {"CreateSubscription by prefix",
       [&] { return CreateSubscription("t-team", "team-a", "orders", ""); }, StatusCode::OK},
      {"CreateSubscription on a topic it may not read",
       [&] { return CreateSubscription("t-team", "team-b", "payments", ""); },
       StatusCode::PERMISSION_DENIED},
      {"CreateSubscription naming a dead-letter topic it may not publish to",
       [&] { return CreateSubscription("t-team", "team-c", "orders", "secret"); },
       StatusCode::PERMISSION_DENIED},
      {"DeleteSubscription by an admin", [&] { return DeleteSubscription("t-ops", "scratch"); },
       StatusCode::OK},
      {"DeleteSubscription by its consumer",
       [&] { return DeleteSubscription("t-billing", "billing"); }, StatusCode::PERMISSION_DENIED},
  };
  for (const Row& row : matrix) {
    const std::string before = RowCounts();
    const grpc::Status status = row.call();
    EXPECT_EQ(status.error_code(), row.expected) << row.what << ": " << status.error_message();
    if (row.expected != StatusCode::OK) {
      EXPECT_EQ(RowCounts(), before) << row.what << " changed the database";
      // The token is never echoed back.
      EXPECT_EQ(status.error_message().find("t-"), std::string::npos) << row.what;
    }
  }
}

TEST(AuthStartTest, RefusesAnOpenAddressWithoutAllowInsecure) {
  CommandResult r = RunCommand(absl::StrCat("HUB_DATABASE_URL='", SharedPostgres().CreateDatabase(),
                                            "' ", HUBD_PATH, " --listen=0.0.0.0:0"));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("allow_insecure"), std::string::npos) << r.err;
}

// A deny rule hides what it denies from lists too: the list as a whole is
// allowed, each item is shown only if the caller may administer it.
// Probe finding: with two authorization headers the first won. A call that
// carries two is refused, whichever is valid, and writes nothing.
TEST_F(AuthTest, TwoAuthorizationHeadersAreRefused) {
  const std::string before = RowCounts();
  for (const auto& [first, second] : std::vector<std::pair<std::string, std::string>>{
           {"t-ops", "t-orders"}, {"t-orders", "t-ops"}, {"t-ops", "t-ops"}, {"bad", "t-ops"}}) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + first);
    ctx.AddMetadata("authorization", "Bearer " + second);
    v1::PublishRequest r;
    r.set_topic("orders");
    r.add_messages()->set_data("x");
    v1::PublishResponse out;
    const grpc::Status s = publisher_->Publish(&ctx, r, &out);
    EXPECT_EQ(s.error_code(), StatusCode::UNAUTHENTICATED) << first << ", " << second;
    EXPECT_EQ(s.error_message(), "a call carries at most one authorization header");
  }
  EXPECT_EQ(RowCounts(), before);
  EXPECT_TRUE(Publish("t-ops", "orders").ok());
}

TEST_F(AuthTest, ListsShowOnlyWhatTheCallerMayAdminister) {
  grpc::ClientContext topics_ctx;
  As(topics_ctx, "t-lister");
  v1::ListTopicsRequest list_topics;
  v1::ListTopicsResponse topics;
  ASSERT_TRUE(publisher_->ListTopics(&topics_ctx, list_topics, &topics).ok());
  std::vector<std::string> names;
  for (const v1::Topic& t : topics.topics()) names.push_back(t.name());
  EXPECT_EQ(names, (std::vector<std::string>{"orders", "orders.frozen", "orders.v2", "payments"}));

  grpc::ClientContext subs_ctx;
  As(subs_ctx, "t-lister");
  v1::ListSubscriptionsRequest list_subs;
  list_subs.set_topic("orders");
  v1::ListSubscriptionsResponse subs;
  ASSERT_TRUE(subscriber_->ListSubscriptions(&subs_ctx, list_subs, &subs).ok());
  names.clear();
  for (const v1::Subscription& s : subs.subscriptions()) names.push_back(s.name());
  EXPECT_EQ(names, (std::vector<std::string>{"billing", "scratch"}));
}

// Deleting a topic deletes its subscriptions, so it needs admin on each.
TEST_F(AuthTest, DeletingATopicNeedsAdminOnEverySubscriptionOfIt) {
  grpc::ClientContext ctx;
  As(ctx, "t-cleaner");
  v1::DeleteTopicRequest del;
  del.set_name("orders");
  google::protobuf::Empty empty;
  EXPECT_EQ(publisher_->DeleteTopic(&ctx, del, &empty).error_code(), StatusCode::PERMISSION_DENIED);
  grpc::ClientContext get_ctx;
  As(get_ctx, "t-ops");
  v1::GetSubscriptionRequest get;
  get.set_name("billing");
  v1::Subscription billing;
  EXPECT_TRUE(subscriber_->GetSubscription(&get_ctx, get, &billing).ok());
  // A topic whose subscriptions the caller may administer goes.
  grpc::ClientContext payments_ctx;
  As(payments_ctx, "t-cleaner");
  del.set_name("payments");
  EXPECT_TRUE(publisher_->DeleteTopic(&payments_ctx, del, &empty).ok());
}

// /metrics names every topic and subscription; with --metrics_token_file
// it answers only the holder of the token. The probes stay open.
TEST(MetricsTokenTest, MetricsNeedTheTokenAndProbesDoNot) {
  char tmpl[] = "/tmp/hub-metrics-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  std::ofstream(dir + "/token") << "s3cret\n";
  HubProcess hubd(SharedPostgres().CreateDatabase(), {"--metrics_token_file=" + dir + "/token"});
  ASSERT_NO_FATAL_FAILURE(hubd.Start());
  const std::string base = absl::StrCat("http://127.0.0.1:", hubd.metrics_port());
  auto code = [&](const std::string& path, const std::string& header) {
    return RunCommand(absl::StrCat("curl -s -o /dev/null -w '%{http_code}' ",
                                   header.empty() ? "" : "-H '" + header + "' ", base, path))
        .out;
  };
  EXPECT_EQ(code("/metrics", ""), "401");
  EXPECT_EQ(code("/metrics", "Authorization: Bearer wrong"), "401");
  EXPECT_EQ(code("/metrics", "Authorization: Bearer s3cret"), "200");
  EXPECT_EQ(code("/healthz", ""), "200");
  EXPECT_EQ(code("/readyz", ""), "200");
  RunCommand("rm -rf " + dir);
}

// The tokens and policy files are read again without a restart: every
// --access_reload_interval when they changed, and on SIGHUP. Files are
// replaced by rename, as a mounted Secret is, so that no read sees half of
// one.
class AccessReloadTest : public ::testing::Test {
 protected:
  void Start(const std::string& interval) {
    std::vector<std::string> flags = files_.Flags();
    flags.push_back("--access_reload_interval=" + interval);
    hubd_ = std::make_unique<HubProcess>(SharedPostgres().CreateDatabase(), flags);
    ASSERT_NO_FATAL_FAILURE(hubd_->Start());
    publisher_ = hubd_->Publisher();
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer t-ops");
    v1::Topic t, out;
    t.set_name("orders");
    ASSERT_TRUE(publisher_->CreateTopic(&ctx, t, &out).ok());
  }

  void Replace(const std::string& file, const std::string& text) {
    std::ofstream(dir_ + "/" + file + ".new") << text;
    ASSERT_EQ(std::rename((dir_ + "/" + file + ".new").c_str(), (dir_ + "/" + file).c_str()), 0);
  }
  void ReplaceTokens(const std::vector<std::string>& principals) {
    WriteTokensFile(dir_ + "/tokens.new", principals);
    ASSERT_EQ(std::rename((dir_ + "/tokens.new").c_str(), (dir_ + "/tokens").c_str()), 0);
  }

  StatusCode Publish(const std::string& token) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + token);
    v1::PublishRequest r;
    r.set_topic("orders");
    r.add_messages()->set_data("x");
    v1::PublishResponse out;
    return publisher_->Publish(&ctx, r, &out).error_code();
  }

  // How long until a publish with `token` is answered `code`; nullopt
  // when it is not within `limit`.
  std::optional<absl::Duration> Until(const std::string& token, StatusCode code,
                                      absl::Duration limit) {
    const absl::Time start = absl::Now();
    while (absl::Now() - start < limit) {
      if (Publish(token) == code) return absl::Now() - start;
      absl::SleepFor(absl::Milliseconds(50));
    }
    return std::nullopt;
  }

  int LogLines(const std::string& event) {
    return std::stoi(
        RunCommand(absl::StrCat("grep -c '\"event\":\"", event, "\"' ", hubd_->log_path())).out);
  }

  const AccessFiles files_{{"ops", "orders"}, "allow ops * *\nallow orders publish topic:orders\n"};
  const std::string& dir_ = files_.dir();
  std::unique_ptr<HubProcess> hubd_;
  std::unique_ptr<v1::Publisher::Stub> publisher_;
};

TEST_F(AccessReloadTest, AnEditedFileAppliesWithinTheReloadInterval) {
  ASSERT_NO_FATAL_FAILURE(Start("1s"));
  ASSERT_EQ(Publish("t-orders"), StatusCode::OK);
  EXPECT_EQ(MetricValue(*hubd_, "hub_access_files_generation"), 1);

  // A revoked token: refused within the interval (and the time it takes to
  // read the file), with no restart.
  ASSERT_NO_FATAL_FAILURE(ReplaceTokens({"ops"}));
  const std::optional<absl::Duration> revoked =
      Until("t-orders", StatusCode::UNAUTHENTICATED, absl::Seconds(3));
  ASSERT_TRUE(revoked.has_value()) << "the revoked token still works after 3 s";
  std::printf("a revoked token was refused %s after the file changed\n",
              absl::FormatDuration(*revoked).c_str());
  EXPECT_EQ(MetricValue(*hubd_, "hub_access_files_generation"), 2);
  EXPECT_EQ(LogLines("access_reloaded"), 1);

  // A policy change: ops loses publish on orders.
  ASSERT_NO_FATAL_FAILURE(Replace("policy", "allow ops admin *\n"));
  EXPECT_TRUE(Until("t-ops", StatusCode::PERMISSION_DENIED, absl::Seconds(3)).has_value());

  // A malformed file keeps the old one, says why once, and counts.
  ASSERT_NO_FATAL_FAILURE(Replace("policy", "allow ops admin *\npermit everyone *\n"));
  absl::SleepFor(absl::Seconds(2.5));
  EXPECT_EQ(Publish("t-ops"), StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(MetricValue(*hubd_, "hub_access_files_reloads_refused_total"), 1);
  EXPECT_EQ(LogLines("access_reload_refused"), 1);
  EXPECT_TRUE(absl::StrContains(RunCommand("cat " + hubd_->log_path()).out, "line 2"));
  EXPECT_EQ(MetricValue(*hubd_, "hub_access_files_generation"), 3);

  // Fixed, it applies.
  ASSERT_NO_FATAL_FAILURE(Replace("policy", "allow ops * *\n"));
  EXPECT_TRUE(Until("t-ops", StatusCode::OK, absl::Seconds(3)).has_value());
  EXPECT_EQ(MetricValue(*hubd_, "hub_access_files_generation"), 4);
}

TEST_F(AccessReloadTest, SighupReadsTheFilesAtOnce) {
  ASSERT_NO_FATAL_FAILURE(Start("1h"));
  ASSERT_NO_FATAL_FAILURE(ReplaceTokens({"ops", "orders", "newcomer"}));
  ASSERT_NO_FATAL_FAILURE(
      Replace("policy", "allow ops * *\nallow newcomer publish topic:orders\n"));
  absl::SleepFor(absl::Seconds(1));
  EXPECT_EQ(Publish("t-newcomer"), StatusCode::UNAUTHENTICATED) << "read before the interval";

  ASSERT_EQ(kill(hubd_->pid(), SIGHUP), 0);
  EXPECT_TRUE(Until("t-newcomer", StatusCode::OK, absl::Seconds(2)).has_value());
  EXPECT_EQ(Publish("t-orders"), StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(LogLines("access_reloaded"), 1);
  EXPECT_TRUE(absl::StrContains(RunCommand("cat " + hubd_->log_path()).out, "SIGHUP"));
  // A SIGHUP with nothing changed reads them again too, and hubd serves on.
  ASSERT_EQ(kill(hubd_->pid(), SIGHUP), 0);
  absl::SleepFor(absl::Milliseconds(500));
  EXPECT_EQ(MetricValue(*hubd_, "hub_access_files_generation"), 3);
  EXPECT_EQ(Publish("t-newcomer"), StatusCode::OK);
}

// Without access files there is nothing to read again, and hubd's main
// thread waits for signals rather than spin (it once did, once the first
// reload interval had passed: a core of CPU for nothing).
TEST(AccessReloadIdleTest, WithoutAccessFilesHubdIdles) {
  HubProcess hubd(SharedPostgres().CreateDatabase(), {"--access_reload_interval=1s"});
  ASSERT_NO_FATAL_FAILURE(hubd.Start());
  // CPU seconds of the process, from /proc (user + system clock ticks).
  auto cpu_ticks = [&] {
    return std::stol(
        RunCommand(absl::StrCat("awk '{print $14 + $15}' /proc/", hubd.pid(), "/stat")).out);
  };
  absl::SleepFor(absl::Seconds(1.5));  // past the first interval
  const long before = cpu_ticks();
  absl::SleepFor(absl::Seconds(2));
  const double seconds = static_cast<double>(cpu_ticks() - before) / sysconf(_SC_CLK_TCK);
  std::printf("idle hubd used %.2f CPU s in 2 s\n", seconds);
  EXPECT_LT(seconds, 0.3);
}

}  // namespace
}  // namespace hub::testing
