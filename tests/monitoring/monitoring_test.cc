// The monitoring kit against a real Prometheus (Debian's `prometheus` and
// `promtool`): the alert rules are checked and unit-tested with promtool; a
// Prometheus scrapes a hubd under a short load, evaluates the rules itself,
// and answers every expression of the dashboard and of the rules; a scrape
// passes `promtool check metrics`; `hubctl stats` agrees with the backlog
// gauge.
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "client/publisher.h"
#include "client/subscriber.h"
#include "tests/support/hub_client.h"
#include "tests/support/test_env.h"

namespace hub::testing {
namespace {

const std::string kRules =
    std::string(HUB_SOURCE_DIR) + "/charts/message-hub/rules/hub-alerts.yaml";
const std::string kDashboard =
    std::string(HUB_SOURCE_DIR) + "/charts/message-hub/dashboards/hub.json";

std::string UrlEncode(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += absl::StrCat("%", absl::Hex(c, absl::kZeroPad2));
    }
  }
  return out;
}

nlohmann::json ReadJson(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

TEST(AlertRules, PassPromtoolCheckAndUnitTests) {
  CommandResult check = RunCommand("promtool check rules " + kRules);
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  EXPECT_NE(check.out.find("SUCCESS: 10 rules found"), std::string::npos) << check.out;
  CommandResult test = RunCommand(absl::StrCat("cd ", HUB_SOURCE_DIR,
                                               "/tests/monitoring && promtool test rules "
                                               "hub-alerts-test.yaml"));
  EXPECT_EQ(test.exit_code, 0) << test.out << test.err;
}

// Every panel has a title, a description (docs/operations.md repeats them)
// and Prometheus targets through the datasource variable.
TEST(Dashboard, PanelsUseTheDatasourceVariable) {
  const nlohmann::json dashboard = ReadJson(kDashboard);
  std::set<std::string> variables;
  for (const auto& v : dashboard["templating"]["list"]) variables.insert(v["name"]);
  EXPECT_EQ(variables, (std::set<std::string>{"datasource", "instance", "topic", "subscription"}));
  int panels = 0;
  for (const auto& panel : dashboard["panels"]) {
    if (panel["type"] == "row") continue;
    ++panels;
    EXPECT_FALSE(panel["description"].get<std::string>().empty()) << panel["title"];
    EXPECT_EQ(panel["datasource"]["uid"], "${datasource}") << panel["title"];
    EXPECT_FALSE(panel["targets"].empty()) << panel["title"];
  }
  EXPECT_GE(panels, 20);
}

class PrometheusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    hubd_ = std::make_unique<HubProcess>(SharedPostgres().CreateDatabase(),
                                         std::vector<std::string>{"--stats_interval=1s"});
    ASSERT_NO_FATAL_FAILURE(hubd_->Start());
  }

  // Starts Prometheus scraping hubd every second and evaluating the rules
  // every second.
  void StartPrometheus() {
    char tmpl[] = "/tmp/hub-prometheus-XXXXXX";
    dir_ = mkdtemp(tmpl);
    prometheus_port_ = FreePort();
    std::ofstream(dir_ + "/prometheus.yml") << absl::StrCat(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        "rule_files:\n  - ",
        kRules,
        "\n"
        "scrape_configs:\n  - job_name: message-hub\n    static_configs:\n"
        "      - targets: ['127.0.0.1:",
        hubd_->metrics_port(), "']\n");
    prometheus_ = std::make_unique<ChildProcess>(std::vector<std::string>{
        "/usr/bin/prometheus", "--config.file=" + dir_ + "/prometheus.yml",
        "--storage.tsdb.path=" + dir_ + "/data",
        absl::StrCat("--web.listen-address=127.0.0.1:", prometheus_port_), "--log.level=warn"});
  }

  void TearDown() override {
    prometheus_.reset();
    if (!dir_.empty()) RunCommand("rm -rf " + dir_);
  }

  nlohmann::json Api(const std::string& path) {
    nlohmann::json answer = nlohmann::json::parse(HttpGet(prometheus_port_, path), nullptr, false);
    return answer.is_discarded() ? nlohmann::json::object() : answer;
  }

  // An instant query; the parsed answer (status "success" or "error").
  nlohmann::json Query(const std::string& promql) {
    return Api("/api/v1/query?query=" + UrlEncode(promql));
  }

  std::unique_ptr<HubProcess> hubd_;
  std::unique_ptr<ChildProcess> prometheus_;
  std::string dir_;
  int prometheus_port_ = 0;
};

// A short load that touches every metric the dashboard and the alerts read:
// publishes with duplicates, a streaming consumer that acks, nacks once per
// 50 messages and rejects once per 100 (to a dead-letter topic), and acks
// with an invalid id on an exactly-once subscription.
class Load {
 public:
  explicit Load(HubProcess& hubd) : hubd_(hubd) {
    auto publisher = hubd_.Publisher();
    EXPECT_TRUE(CreateTopic(*publisher, "orders").ok());
    EXPECT_TRUE(CreateTopic(*publisher, "orders-dead").ok());
    auto subscriber = hubd_.Subscriber();
    v1::Subscription readers;
    readers.set_name("readers");
    readers.set_topic("orders");
    readers.mutable_dead_letter_policy()->set_dead_letter_topic("orders-dead");
    readers.mutable_dead_letter_policy()->set_max_delivery_attempts(5);
    v1::Subscription exact;
    exact.set_name("exact");
    exact.set_topic("orders");
    exact.set_delivery_guarantee(v1::EXACTLY_ONCE);
    for (const v1::Subscription& s : {readers, exact}) {
      grpc::ClientContext ctx;
      v1::Subscription out;
      EXPECT_TRUE(subscriber->CreateSubscription(&ctx, s, &out).ok());
    }
    client::ConnectionOptions co;
    co.endpoint = hubd_.address();
    connection_ = std::make_unique<client::Connection>(*client::Connection::Open(co));
  }

  void StartConsuming() {
    client::Subscriber subscriber(*connection_, "readers");
    consumer_.emplace(subscriber.Subscribe([this](client::Message m, client::AckHandler h) {
      const int64_t n = ++handled_;
      if (n % 100 == 0) {
        EXPECT_TRUE(std::move(h).Reject("the test rejects one in a hundred").ok());
        return;
      }
      if (n % 50 == 0) {
        absl::MutexLock lock(&mu_);
        if (nacked_.insert(m.message_id).second) {
          std::move(h).Nack();  // once: it comes back as a redelivery
          return;
        }
      }
      std::move(h).Ack();
    }));
  }

  void StopConsuming() { consumer_->Stop(); }

  // `count` messages with keys k<first>..; a second call with the same
  // `first` republishes them (duplicates).
  void Publish(int first, int count) {
    client::Publisher publisher(*connection_, "orders");
    for (int i = first; i < first + count; ++i) {
      publisher.Publish(
          {.data = absl::StrCat("order ", i), .idempotency_key = absl::StrCat("k", i)});
    }
    publisher.Flush();
  }

  void RefusedAck() {
    auto subscriber = hubd_.Subscriber();
    grpc::ClientContext ctx;
    v1::AcknowledgeRequest request;
    request.set_subscription("exact");
    request.add_ack_ids("not-an-ack-id");
    v1::AcknowledgeResponse response;
    EXPECT_TRUE(subscriber->Acknowledge(&ctx, request, &response).ok());
  }

 private:
  HubProcess& hubd_;
  std::unique_ptr<client::Connection> connection_;
  std::optional<client::SubscriberSession> consumer_;
  std::atomic<int64_t> handled_{0};
  absl::Mutex mu_;
  std::set<std::string> nacked_ ABSL_GUARDED_BY(mu_);
};

TEST_F(PrometheusTest, EvaluatesEveryDashboardAndRuleExpression) {
  Load load(*hubd_);
  load.StartConsuming();
  StartPrometheus();
  // Ten seconds of traffic, scraped every second.
  for (int round = 0; round < 10; ++round) {
    load.Publish(round * 500, 500);
    load.Publish(round * 500, 50);  // duplicates
    load.RefusedAck();
    absl::SleepFor(absl::Seconds(1));
  }
  // Up and scraped?
  for (int i = 0; i < 50; ++i) {
    const nlohmann::json up = Query("up{job=\"message-hub\"} == 1");
    if (up.value("status", "") == "success" && !up["data"]["result"].empty()) break;
    absl::SleepFor(absl::Milliseconds(200));
  }

  // The dashboard: every target with its variables set to "all" and the
  // rate window to what a 1 s scrape supports.
  const nlohmann::json dashboard = ReadJson(kDashboard);
  // Series that only a rarer event creates: a lease running out on a stream.
  const std::set<std::string> may_be_empty = {"Redeliveries, nacks, expired leases/C"};
  int expressions = 0;
  for (const auto& panel : dashboard["panels"]) {
    if (panel["type"] == "row") continue;
    for (const auto& target : panel["targets"]) {
      const std::string expr =
          absl::StrReplaceAll(target["expr"].get<std::string>(), {{"$__rate_interval", "5s"},
                                                                  {"$topic", ".*"},
                                                                  {"$subscription", ".*"},
                                                                  {"$instance", ".*"}});
      const std::string name =
          absl::StrCat(panel["title"].get<std::string>(), "/", target["refId"].get<std::string>());
      const nlohmann::json answer = Query(expr);
      ++expressions;
      ASSERT_EQ(answer.value("status", ""), "success") << name << ": " << expr << "\n" << answer;
      if (may_be_empty.count(name) == 0) {
        EXPECT_FALSE(answer["data"]["result"].empty()) << name << " has no data: " << expr;
      }
    }
  }
  EXPECT_GE(expressions, 30);
  // Template variables: label_values(metric, label) is Grafana's; the label
  // API answers the same question.
  for (const auto& variable : dashboard["templating"]["list"]) {
    if (variable["type"] != "query") continue;
    const std::string q = variable["query"]["query"];
    std::smatch m;
    ASSERT_TRUE(std::regex_match(q, m, std::regex(R"(label_values\((\w+), (\w+)\))"))) << q;
    const nlohmann::json values =
        Api(absl::StrCat("/api/v1/label/", m[2].str(), "/values?match[]=", m[1].str()));
    EXPECT_FALSE(values["data"].empty()) << q;
  }

  // The rules, as Prometheus loaded and evaluated them: all healthy; each
  // expression answers; two have data, as they must: dead letters (the load
  // rejects messages) and a growing backlog, of "exact" alone (nobody
  // consumes it); the others stay quiet on a healthy hub. Every metric they
  // read exists.
  const std::map<std::string, std::set<std::string>> firing = {{"HubDeadLetters", {"readers"}},
                                                               {"HubBacklogGrowing", {"exact"}}};
  const nlohmann::json rules = Api("/api/v1/rules");
  int alerts = 0;
  for (const auto& group : rules["data"]["groups"]) {
    for (const auto& rule : group["rules"]) {
      ++alerts;
      const std::string name = rule["name"];
      EXPECT_EQ(rule["health"], "ok") << name << ": " << rule.value("lastError", "");
      const std::string expr = rule["query"];
      const nlohmann::json answer = Query(expr);
      ASSERT_EQ(answer.value("status", ""), "success") << name << "\n" << answer;
      std::set<std::string> subscriptions;
      for (const auto& series : answer["data"]["result"]) {
        subscriptions.insert(series["metric"].value("subscription", "-"));
      }
      const auto expected = firing.find(name);
      EXPECT_EQ(subscriptions,
                expected == firing.end() ? std::set<std::string>{} : expected->second)
          << name << ": " << answer;
      std::smatch m;
      // A metric name, not a label of a matcher (hub_database="true").
      for (std::string rest = expr;
           std::regex_search(rest, m, std::regex(R"(\b(hub_\w+|up)\b(?![=!]))"));
           rest = m.suffix()) {
        EXPECT_FALSE(Query(absl::StrCat("count(", m[1].str(), ")"))["data"]["result"].empty())
            << name << " reads " << m[1].str() << ", which has no series";
      }
    }
  }
  EXPECT_EQ(alerts, 10);

  // hubctl stats and the backlog gauge agree once the figures stand still:
  // "exact", which nobody reads, after the last 300 messages. ("readers"
  // would not stand still: its nacked messages turn due when their retry
  // backoff ends.)
  load.StopConsuming();
  load.Publish(100000, 300);
  absl::SleepFor(absl::Seconds(3));  // a stats interval and a scrape
  CommandResult stats = RunCommand(
      absl::StrCat(HubctlPath(), " --endpoint ", hubd_->address(), " stats exact -o json"));
  ASSERT_EQ(stats.exit_code, 0) << stats.err;
  const nlohmann::json doc = nlohmann::json::parse(stats.out);
  const nlohmann::json& row = doc.is_array() ? doc.at(0) : doc;
  const int64_t hubctl_backlog = std::stoll(row.at("backlog_messages").get<std::string>());
  const nlohmann::json gauge =
      Query("max by (subscription) (hub_subscription_backlog_messages{subscription=\"exact\"})");
  ASSERT_FALSE(gauge["data"]["result"].empty()) << gauge;
  const int64_t prometheus_backlog =
      std::stoll(gauge["data"]["result"][0]["value"][1].get<std::string>());
  EXPECT_GE(hubctl_backlog, 300);
  EXPECT_EQ(prometheus_backlog, hubctl_backlog);
}

// A sample of a scrape: `series` is the name with its labels as the
// exposition prints them; -1 when absent.
double Sample(const std::string& scrape, const std::string& series) {
  const std::string prefix = "\n" + series + " ";
  const size_t at = scrape.find(prefix);
  if (at == std::string::npos) return -1;
  return std::stod(scrape.substr(at + prefix.size()));
}

// The counters count what happened, exactly, and the scrape passes
// promtool's lint.
TEST_F(PrometheusTest, ScrapeCountsWhatHappenedAndPassesPromtool) {
  Load load(*hubd_);
  load.StartConsuming();
  load.Publish(0, 200);
  load.Publish(0, 50);  // duplicates
  load.RefusedAck();
  std::string scrape;
  // Every message acked or rejected (dead-lettered), the acks committed.
  for (int i = 0; i < 100; ++i) {
    scrape = "\n" + HttpGet(hubd_->metrics_port(), "/metrics");
    if (Sample(scrape, "hub_acks_total{subscription=\"readers\"}") +
            Sample(
                scrape,
                "hub_dead_lettered_messages_total{reason=\"rejected\",subscription=\"readers\"}") ==
        200) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(Sample(scrape, "hub_published_messages_total{topic=\"orders\"}"), 200);
  EXPECT_EQ(Sample(scrape, "hub_publish_duplicates_total{topic=\"orders\"}"), 50);
  EXPECT_EQ(
      Sample(scrape, "hub_acks_total{subscription=\"readers\"}") +
          Sample(scrape,
                 "hub_dead_lettered_messages_total{reason=\"rejected\",subscription=\"readers\"}"),
      200);
  EXPECT_GE(
      Sample(scrape,
             "hub_dead_lettered_messages_total{reason=\"rejected\",subscription=\"readers\"}"),
      2);
  const double nacks = Sample(scrape, "hub_nacks_total{subscription=\"readers\"}");
  EXPECT_GE(nacks, 1);
  EXPECT_EQ(Sample(scrape, "hub_redeliveries_total{subscription=\"readers\"}"), nacks);
  EXPECT_EQ(Sample(scrape, "hub_deliveries_total{subscription=\"readers\"}"), 200 + nacks);
  EXPECT_EQ(Sample(scrape, "hub_ack_refusals_total{reason=\"invalid\",subscription=\"exact\"}"), 1);
  EXPECT_EQ(Sample(scrape,
                   "hub_grpc_requests_total{code=\"OK\",method=\"hub.v1.Subscriber/Acknowledge\"}"),
            1);
  EXPECT_EQ(Sample(scrape, "hub_streaming_pull_streams{subscription=\"readers\"}"), 1);
  EXPECT_EQ(Sample(scrape, "hub_database_up"), 1);
  EXPECT_GT(Sample(scrape, "hub_end_to_end_latency_seconds_count"), 0);

  char tmpl[] = "/tmp/hub-scrape-XXXXXX";
  const int fd = mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, scrape.data(), scrape.size()), static_cast<ssize_t>(scrape.size()));
  close(fd);
  CommandResult check = RunCommand(absl::StrCat("promtool check metrics < ", tmpl));
  unlink(tmpl);
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
}

}  // namespace
}  // namespace hub::testing
