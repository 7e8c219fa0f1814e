// The adapters end to end (docs/adapters.md): each with a real hubd and
// PostgreSQL, 10,000 records through it while it is killed (kill -9) twice;
// afterwards every record is on the topic exactly once, and for the sink
// every message reached a real HTTP endpoint at least once.
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include <CivetServer.h>
#include <curl/curl.h>
#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "client/admin_client.h"
#include "client/publisher.h"
#include "tests/support/hub_test.h"

namespace hub::testing {
namespace {

constexpr int kRecords = 10000;

std::string MakeTempDir() {
  char dir[] = "/tmp/hub-adapters-XXXXXX";
  if (mkdtemp(dir) == nullptr) std::abort();
  return dir;
}

// An adapter binary as its own process, started from the test's main thread
// (it dies with it), stderr to a log file.
class AdapterProcess {
 public:
  AdapterProcess(std::string binary, std::string config_path, std::string log_path)
      : binary_(std::move(binary)),
        config_path_(std::move(config_path)),
        log_path_(std::move(log_path)) {}

  void Start(int metrics_port) {
    process_ = std::make_unique<ChildProcess>(std::vector<std::string>{
        "/bin/sh", "-c",
        absl::StrCat("exec ", binary_, " --config=", config_path_, " 2>>", log_path_)});
    const absl::Time deadline = absl::Now() + absl::Seconds(15);
    while (HttpGet(metrics_port, "/healthz") != "ok\n") {
      ASSERT_LT(absl::Now(), deadline) << binary_ << " did not start; see " << log_path_;
      absl::SleepFor(absl::Milliseconds(20));
    }
    ++starts_;
  }
  void Kill() { process_->Kill(); }
  // SIGTERM, the graceful stop; its exit code.
  int Stop() {
    process_->Signal(SIGTERM);
    return process_->Wait();
  }
  int starts() const { return starts_; }
  std::string log() const {
    std::ifstream in(log_path_);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

 private:
  const std::string binary_, config_path_, log_path_;
  std::unique_ptr<ChildProcess> process_;
  int starts_ = 0;
};

class AdaptersTest : public HubTest {
 protected:
  void SetUp() override {
    HubTest::SetUp();
    dir_ = MakeTempDir();
    metrics_port_ = FreePort();
  }

  // Writes the adapter's configuration (the `hub` part and the metrics port
  // filled in) and starts it.
  std::unique_ptr<AdapterProcess> StartAdapter(const std::string& binary, const std::string& own) {
    const std::string config = absl::StrCat(dir_, "/adapter.yaml");
    std::ofstream(config) << "hub:\n  endpoint: " << hubd_->address()
                          << "\nmetrics_listen: 127.0.0.1:" << metrics_port_ << "\n"
                          << own;
    auto adapter = std::make_unique<AdapterProcess>(binary, config, dir_ + "/adapter.log");
    adapter->Start(metrics_port_);
    return adapter;
  }

  int64_t StoredOn(const std::string& topic, bool distinct = false) {
    return CountRows(absl::StrCat("SELECT count(", distinct ? "DISTINCT data" : "*",
                                  ") FROM hub_messages m JOIN topics t ON t.id = m.topic_id ",
                                  "WHERE t.name = '", topic, "'"));
  }

  void WaitForStored(const std::string& topic, int64_t at_least, absl::Duration limit) {
    const absl::Time deadline = absl::Now() + limit;
    while (StoredOn(topic) < at_least && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(20));
    }
  }

  // Waits until `topic` holds `kRecords` messages, kills the adapter at a
  // third and at two thirds of the way and starts it again each time.
  void KillTwiceWhileFlowing(AdapterProcess& adapter, const std::string& topic) {
    for (int64_t mark : {kRecords / 3, 2 * kRecords / 3}) {
      WaitForStored(topic, mark, absl::Seconds(60));
      adapter.Kill();
      adapter.Start(metrics_port_);
    }
  }

  // Every record on the topic exactly once: kRecords messages, kRecords
  // distinct bodies, each of the expected form.
  void ExpectEachRecordOnce(const std::string& topic, const std::string& pattern) {
    WaitForStored(topic, kRecords, absl::Seconds(90));
    absl::SleepFor(absl::Milliseconds(500));  // nothing late arrives twice
    EXPECT_EQ(StoredOn(topic), kRecords);
    EXPECT_EQ(StoredOn(topic, /*distinct=*/true), kRecords);
    EXPECT_EQ(CountRows(absl::StrCat("SELECT count(*) FROM hub_messages m JOIN topics t ON t.id = "
                                     "m.topic_id WHERE t.name = '",
                                     topic, "' AND convert_from(data, 'UTF8') !~ '", pattern, "'")),
              0);
  }

  std::string Metric(const std::string& series) {
    std::string scrape = HttpGet(metrics_port_, "/metrics");
    size_t at = scrape.find(series + " ");
    return at == std::string::npos ? ""
                                   : scrape.substr(at + series.size() + 1,
                                                   scrape.find('\n', at) - at - series.size() - 1);
  }

  std::string dir_;
  int metrics_port_ = 0;
};

// --- file source -----------------------------------------------------------

TEST_F(AdaptersTest, FileSourceTenThousandLinesThroughRotationAndTwoKills) {
  ASSERT_TRUE(CreateTopic(*publisher_, "logs").ok());
  const std::string log = dir_ + "/app.log";
  std::ofstream(log).close();
  auto adapter =
      StartAdapter(FILE_SOURCE_PATH, absl::StrCat("file_source:\n  topic: logs\n  paths: [", log,
                                                  "*]\n  position_file: ", dir_,
                                                  "/positions\n  poll_interval: 50ms\n"));
  // The legacy service: appends lines, rotated by rename half way.
  std::thread writer([&] {
    std::FILE* out = std::fopen(log.c_str(), "a");
    for (int i = 0; i < kRecords; ++i) {
      if (i == kRecords / 2) {
        std::fclose(out);
        std::rename(log.c_str(), (log + ".1").c_str());
        out = std::fopen(log.c_str(), "a");
      }
      std::fprintf(out, "line-%05d\n", i);
      if (i % 100 == 99) {
        std::fflush(out);
        absl::SleepFor(absl::Milliseconds(40));
      }
    }
    std::fclose(out);
  });
  KillTwiceWhileFlowing(*adapter, "logs");
  writer.join();
  ExpectEachRecordOnce("logs", "^line-[0-9]{5}$");
  EXPECT_EQ(adapter->starts(), 3);
}

TEST_F(AdaptersTest, FileSourceTruncationAndRestartNeitherLoseNorRepeat) {
  // The topic is the adapter's to create (create_topic).
  const std::string log = dir_ + "/app.log";
  auto write_lines = [&](int count, const char* mode) {
    std::FILE* out = std::fopen(log.c_str(), mode);
    for (int i = 1; i <= count; ++i) std::fprintf(out, "x-%d\n", i);
    std::fclose(out);
  };
  write_lines(10, "w");
  const std::string config =
      absl::StrCat("file_source:\n  topic: logs\n  paths: ", log, "\n  position_file: ", dir_,
                   "/positions\n  poll_interval: 50ms\n  create_topic: true\n");
  auto adapter = StartAdapter(FILE_SOURCE_PATH, config);
  WaitForStored("logs", 10, absl::Seconds(10));
  ASSERT_EQ(StoredOn("logs"), 10);
  // copytruncate: the same file starts over with the same bytes at the same
  // offsets, which a new generation keeps from being taken for retries.
  write_lines(5, "w");
  WaitForStored("logs", 15, absl::Seconds(10));
  EXPECT_EQ(StoredOn("logs"), 15);
  // A restart resumes from the position file: nothing read again.
  adapter->Kill();
  adapter->Start(metrics_port_);
  write_lines(1, "a");
  WaitForStored("logs", 16, absl::Seconds(10));
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(StoredOn("logs"), 16);
  EXPECT_EQ(Metric("hub_adapter_messages_total{adapter=\"file_source\",outcome=\"duplicate\"}"),
            "0");
  EXPECT_EQ(Metric("hub_adapter_messages_total{adapter=\"file_source\",outcome=\"published\"}"),
            "1");
  // The log says what was published, per file (every 10 s, and at a stop).
  EXPECT_EQ(adapter->Stop(), 0);
  EXPECT_TRUE(absl::StrContains(
      adapter->log(), absl::StrCat(R"("event":"file_source_published","level":"info","path":")",
                                   log, R"(","records":"1")")))
      << adapter->log();
}

// A position file the adapter cannot write: at start, a refusal that names
// the folder (else it would publish, and send everything again after a
// restart); while running, not ready and an event that says what failed.
TEST_F(AdaptersTest, FileSourceRefusesOrIsNotReadyWhenItCannotSavePositions) {
  const std::string log = dir_ + "/app.log";
  std::ofstream(log) << "a-1\n";
  const std::string missing = dir_ + "/no-such-folder";
  const std::string config = dir_ + "/missing.yaml";
  std::ofstream(config) << "hub:\n  endpoint: " << hubd_->address()
                        << "\nmetrics_listen: 127.0.0.1:" << metrics_port_
                        << "\nfile_source:\n  topic: logs\n  paths: [" << log
                        << "]\n  position_file: " << missing << "/positions\n";
  const absl::Time start = absl::Now();
  const CommandResult refused = RunCommand(absl::StrCat(FILE_SOURCE_PATH, " --config=", config));
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_TRUE(absl::StrContains(refused.err, "create the folder " + missing)) << refused.err;

  const std::string folder = dir_ + "/state";
  std::filesystem::create_directory(folder);
  auto adapter =
      StartAdapter(FILE_SOURCE_PATH, absl::StrCat("file_source:\n  topic: logs\n  paths: [", log,
                                                  "]\n  position_file: ", folder,
                                                  "/positions\n  poll_interval: 50ms\n  "
                                                  "create_topic: true\n"));
  WaitForStored("logs", 1, absl::Seconds(10));
  EXPECT_EQ(HttpGet(metrics_port_, "/readyz"), "ready\n");
  std::filesystem::remove_all(folder);
  std::ofstream(log, std::ios::app) << "a-2\n";
  WaitForStored("logs", 2, absl::Seconds(10));
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (HttpGet(metrics_port_, "/readyz") == "ready\n" && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_NE(HttpGet(metrics_port_, "/readyz"), "ready\n");
  EXPECT_EQ(adapter->Stop(), 0);
  EXPECT_TRUE(absl::StrContains(adapter->log(), R"("event":"file_source_position_save_failed")"))
      << adapter->log();
  EXPECT_FALSE(absl::StrContains(adapter->log(), R"("event":"file_source_publish_failed")"))
      << adapter->log();
}

// --- HTTP ingress ----------------------------------------------------------

size_t CollectBody(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

// POSTs until the ingress answers 200, as a legacy client with retries
// would; the same body (and so the same keys) every time.
void PostUntilAccepted(CURL* curl, const std::string& url, const std::string& body) {
  for (;;) {
    std::string answer;
    curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, CollectBody);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer);
    long status = 0;
    if (curl_easy_perform(curl) == CURLE_OK)
      curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    if (status == 200) return;
    absl::SleepFor(absl::Milliseconds(50));
  }
}

TEST_F(AdaptersTest, HttpIngressTenThousandRecordsThroughTwoKills) {
  ASSERT_TRUE(CreateTopic(*publisher_, "orders").ok());
  const int port = FreePort();
  auto adapter = StartAdapter(HTTP_INGRESS_PATH,
                              absl::StrCat("http_ingress:\n  listen: 127.0.0.1:", port, "\n"));
  const std::string url = absl::StrCat("http://127.0.0.1:", port, "/v1/topics/orders:publish");
  constexpr int kPerRequest = 10;
  constexpr int kClients = 4;
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      CURL* curl = curl_easy_init();
      for (int request = c; request < kRecords / kPerRequest; request += kClients) {
        std::string body = R"({"messages": [)";
        for (int i = 0; i < kPerRequest; ++i) {
          int record = request * kPerRequest + i;
          absl::StrAppendFormat(&body, R"(%s{"data": "order-%05d", "idempotency_key": "order-%d"})",
                                i ? "," : "", record, record);
        }
        body += "]}";
        PostUntilAccepted(curl, url, body);
        absl::SleepFor(absl::Milliseconds(10));
      }
      curl_easy_cleanup(curl);
    });
  }
  KillTwiceWhileFlowing(*adapter, "orders");
  for (auto& client : clients) client.join();
  ExpectEachRecordOnce("orders", "^order-[0-9]{5}$");
  EXPECT_EQ(adapter->starts(), 3);
}

TEST_F(AdaptersTest, HttpIngressDrivenByCurl) {
  ASSERT_TRUE(CreateTopic(*publisher_, "orders").ok());
  const int port = FreePort();
  auto adapter = StartAdapter(
      HTTP_INGRESS_PATH,
      absl::StrCat("http_ingress:\n  listen: 127.0.0.1:", port, "\n  publish_timeout: 1s\n"));
  auto curl = [&](const std::string& args, const std::string& topic = "orders") {
    return RunCommand(absl::StrCat("curl -s -i -X POST ", args, " http://127.0.0.1:", port,
                                   "/v1/topics/", topic, ":publish"));
  };
  const std::string json = "-H 'Content-Type: application/json' ";

  CommandResult first =
      curl(json + "-H 'Idempotency-Key: k1' --data '{\"messages\":[{\"data\":\"hello\"}]}'");
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_NE(first.out.find("HTTP/1.1 200"), std::string::npos) << first.out;
  EXPECT_NE(first.out.find("\"duplicate\":false"), std::string::npos) << first.out;
  CommandResult again =
      curl(json + "-H 'Idempotency-Key: k1' --data '{\"messages\":[{\"data\":\"hello\"}]}'");
  EXPECT_NE(again.out.find("\"duplicate\":true"), std::string::npos) << again.out;
  EXPECT_EQ(StoredOn("orders"), 1);

  CommandResult raw = curl(
      "-H 'Content-Type: text/plain' -H 'X-Hub-Attribute-Source: legacy' --data-binary 'raw line'");
  EXPECT_NE(raw.out.find("HTTP/1.1 200"), std::string::npos) << raw.out;
  EXPECT_EQ(CountRows("SELECT count(*) FROM hub_messages WHERE attributes->>'source' = 'legacy' "
                      "AND data = 'raw line'::bytea"),
            1);

  EXPECT_NE(curl(json + "--data '{\"messages\":[{\"data\":5}]}'").out.find("HTTP/1.1 400"),
            std::string::npos);
  EXPECT_NE(
      curl(json + "--data '{\"messages\":[{\"data\":\"x\"}]}'", "nosuch").out.find("HTTP/1.1 404"),
      std::string::npos);
  EXPECT_EQ(StoredOn("orders"), 2);  // refused requests left nothing

  // The hub away: 503 with Retry-After, so that the caller comes again.
  hubd_->Kill();
  CommandResult away = curl(json + "--data '{\"messages\":[{\"data\":\"later\"}]}'");
  EXPECT_NE(away.out.find("HTTP/1.1 503"), std::string::npos) << away.out;
  EXPECT_NE(away.out.find("Retry-After: 1"), std::string::npos) << away.out;
}

// A hub that checks bearer tokens: the ingress passes the caller's on.
class AdaptersWithTokensTest : public AdaptersTest {
 protected:
  std::vector<std::string> ExtraFlags() override {
    const std::string tokens = MakeTempDir() + "/tokens";
    WriteTokensFile(tokens, {"legacy"});
    return {"--tokens_file=" + tokens};
  }
};

TEST_F(AdaptersWithTokensTest, HttpIngressPassesTheCallersBearerTokenThrough) {
  auto connection =
      client::Connection::Open({.endpoint = hubd_->address(), .bearer_token = "t-legacy"});
  ASSERT_TRUE(connection.ok());
  v1::Topic topic;
  topic.set_name("orders");
  ASSERT_TRUE(client::AdminClient(*connection).CreateTopic(topic).ok());
  const int port = FreePort();
  auto adapter = StartAdapter(HTTP_INGRESS_PATH,
                              absl::StrCat("http_ingress:\n  listen: 127.0.0.1:", port, "\n"));
  auto post = [&](const std::string& auth) {
    return RunCommand(absl::StrCat("curl -s -i -X POST ", auth,
                                   " --data-binary 'x' http://127.0.0.1:", port,
                                   "/v1/topics/orders:publish"))
        .out;
  };
  EXPECT_NE(post("-H 'Authorization: Bearer t-legacy'").find("HTTP/1.1 200"), std::string::npos);
  const std::string none = post("");
  EXPECT_NE(none.find("HTTP/1.1 401"), std::string::npos) << none;
  EXPECT_NE(none.find("UNAUTHENTICATED"), std::string::npos) << none;
  EXPECT_NE(post("-H 'Authorization: Bearer t-wrong'").find("HTTP/1.1 401"), std::string::npos);
  EXPECT_EQ(StoredOn("orders"), 1);
}

// --- webhook sink ----------------------------------------------------------

// The legacy endpoint: a real HTTP server that remembers every message id
// it was sent, fails every 50th request with 500 and refuses "poison" with
// 400.
class Endpoint final : public CivetHandler {
 public:
  Endpoint() : port_(FreePort()) {
    server_ = std::make_unique<CivetServer>(std::vector<std::string>{
        "listening_ports", absl::StrCat("127.0.0.1:", port_), "num_threads", "16"});
    server_->addHandler("/hook", this);
  }
  bool handlePost(CivetServer*, mg_connection* conn) override {
    const char* id = mg_get_header(conn, "Hub-Message-Id");
    std::string body;
    char buffer[4096];
    for (int got; (got = mg_read(conn, buffer, sizeof buffer)) > 0;) body.append(buffer, got);
    int status = 200;
    const char* attempt = mg_get_header(conn, "Hub-Delivery-Attempt");
    if (body == "slow" && attempt != nullptr && std::string(attempt) == "1") {
      absl::SleepFor(absl::Seconds(3));  // past the sink's timeout
    }
    {
      absl::MutexLock lock(&mu_);
      if (attempt != nullptr) attempts_[body] = attempt;
      if (++requests_ % 50 == 0) {
        status = 500;
      } else if (body == "poison") {
        status = 400;
      } else if (id != nullptr) {
        seen_[id] = body;
      }
    }
    mg_printf(conn, "HTTP/1.1 %d X\r\nContent-Length: 0\r\n\r\n", status);
    return true;
  }
  std::string url() const { return absl::StrCat("http://127.0.0.1:", port_, "/hook"); }
  size_t seen() {
    absl::MutexLock lock(&mu_);
    return seen_.size();
  }
  int64_t requests() {
    absl::MutexLock lock(&mu_);
    return requests_;
  }
  // The Hub-Delivery-Attempt of the last request with `body`.
  std::string AttemptOf(const std::string& body) {
    absl::MutexLock lock(&mu_);
    return attempts_[body];
  }
  std::string BodyOf(const std::string& id) {
    absl::MutexLock lock(&mu_);
    auto it = seen_.find(id);
    return it == seen_.end() ? "" : it->second;
  }

 private:
  const int port_;
  absl::Mutex mu_;
  int64_t requests_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<std::string, std::string> seen_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::string> attempts_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<CivetServer> server_;
};

std::string SinkConfig(const Endpoint& endpoint) {
  return absl::StrCat("webhook_sink:\n  subscription: hook\n  url: ", endpoint.url(),
                      "\n  max_concurrency: 8\n  ack_deadline_seconds: 10\n");
}

TEST_F(AdaptersTest, WebhookSinkTenThousandMessagesThroughTwoKills) {
  ASSERT_TRUE(CreateTopic(*publisher_, "events").ok());
  ASSERT_TRUE(CreateSubscription(*subscriber_, "hook", "events").ok());
  auto connection = client::Connection::Open({.endpoint = hubd_->address()});
  ASSERT_TRUE(connection.ok());
  std::vector<std::string> ids;
  {
    client::Publisher publisher(*connection, "events");
    std::vector<std::future<absl::StatusOr<client::PublishAck>>> acks;
    for (int i = 0; i < kRecords; ++i)
      acks.push_back(publisher.Publish({.data = absl::StrFormat("event-%05d", i)}));
    for (auto& ack : acks) {
      auto result = ack.get();
      ASSERT_TRUE(result.ok()) << result.status();
      ids.push_back(result->message_id);
    }
  }
  Endpoint endpoint;
  auto adapter = StartAdapter(WEBHOOK_SINK_PATH, SinkConfig(endpoint));
  for (size_t mark : {ids.size() / 3, 2 * ids.size() / 3}) {
    while (endpoint.seen() < mark) absl::SleepFor(absl::Milliseconds(10));
    adapter->Kill();
    adapter->Start(metrics_port_);
  }
  // What the killed sink held comes back when its leases (10 s) end.
  const absl::Time deadline = absl::Now() + absl::Seconds(90);
  while (endpoint.seen() < ids.size() && absl::Now() < deadline)
    absl::SleepFor(absl::Milliseconds(50));
  ASSERT_EQ(endpoint.seen(), ids.size());
  for (int i = 0; i < kRecords; ++i) {
    ASSERT_EQ(endpoint.BodyOf(ids[i]), absl::StrFormat("event-%05d", i)) << ids[i];
  }
  // The 500s were retried: more requests than messages.
  EXPECT_GT(endpoint.requests(), kRecords + kRecords / 60);
}

TEST_F(AdaptersTest, WebhookSinkRetriesARequestThatTimedOut) {
  ASSERT_TRUE(CreateTopic(*publisher_, "events").ok());
  grpc::ClientContext context;
  v1::Subscription subscription, created;
  subscription.set_name("hook");
  subscription.set_topic("events");
  subscription.mutable_retry_policy()->mutable_minimum_backoff()->set_seconds(1);
  ASSERT_TRUE(subscriber_->CreateSubscription(&context, subscription, &created).ok());
  ASSERT_TRUE(PublishOne(*publisher_, "events", "slow", "").ok());
  Endpoint endpoint;
  auto adapter = StartAdapter(WEBHOOK_SINK_PATH, SinkConfig(endpoint) + "  timeout: 1s\n");
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (endpoint.seen() < 1 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(endpoint.seen(), 1u);
  // Delivered on a later attempt, the first having timed out.
  EXPECT_EQ(endpoint.AttemptOf("slow"), "2");
  EXPECT_EQ(Metric("hub_adapter_messages_total{adapter=\"webhook_sink\",outcome=\"retried\"}"),
            "1");
}

TEST_F(AdaptersTest, WebhookSinkRejectsWhatTheEndpointRefusesToTheDeadLetterTopic) {
  ASSERT_TRUE(CreateTopic(*publisher_, "events").ok());
  ASSERT_TRUE(CreateTopic(*publisher_, "events-dead").ok());
  grpc::ClientContext context;
  v1::Subscription subscription, created;
  subscription.set_name("hook");
  subscription.set_topic("events");
  subscription.mutable_dead_letter_policy()->set_dead_letter_topic("events-dead");
  ASSERT_TRUE(subscriber_->CreateSubscription(&context, subscription, &created).ok());
  ASSERT_TRUE(PublishOne(*publisher_, "events", "fine", "").ok());
  ASSERT_TRUE(PublishOne(*publisher_, "events", "poison", "").ok());
  Endpoint endpoint;
  auto adapter = StartAdapter(WEBHOOK_SINK_PATH, SinkConfig(endpoint));
  WaitForStored("events-dead", 1, absl::Seconds(15));
  EXPECT_EQ(StoredOn("events-dead"), 1);
  EXPECT_EQ(CountRows("SELECT count(*) FROM hub_messages m JOIN topics t ON t.id = m.topic_id "
                      "WHERE t.name = 'events-dead' AND data = 'poison'::bytea"),
            1);
  EXPECT_EQ(endpoint.seen(), 1u);
  EXPECT_EQ(Metric("hub_adapter_messages_total{adapter=\"webhook_sink\",outcome=\"rejected\"}"),
            "1");
}

// --- PostgreSQL outbox -----------------------------------------------------

TEST_F(AdaptersTest, PgOutboxTenThousandRowsThroughTwoKills) {
  ASSERT_TRUE(CreateTopic(*publisher_, "orders").ok());
  const std::string legacy = SharedPostgres().CreateDatabase();
  pqxx::connection db(legacy);
  pqxx::nontransaction(db).exec(
      "CREATE TABLE outbox (id bigserial PRIMARY KEY, payload text NOT NULL)");
  auto adapter =
      StartAdapter(PG_OUTBOX_PATH,
                   absl::StrCat("pg_outbox:\n  database_url: ", legacy,
                                "\n  topic: orders\n  batch_size: 200\n  poll_interval: 50ms\n"));
  // The legacy application: writes its business rows and outbox rows in
  // its own transactions, 100 at a time.
  std::thread application([&] {
    pqxx::connection app(legacy);
    for (int i = 0; i < kRecords; i += 100) {
      pqxx::work txn(app);
      txn.exec(
          absl::StrFormat("INSERT INTO outbox (payload) SELECT 'order-' || lpad(g::text, 5, '0') "
                          "FROM generate_series(%d, %d) g",
                          i, i + 99));
      txn.commit();
      absl::SleepFor(absl::Milliseconds(30));
    }
  });
  KillTwiceWhileFlowing(*adapter, "orders");
  application.join();
  ExpectEachRecordOnce("orders", "^order-[0-9]{5}$");
  EXPECT_EQ(adapter->starts(), 3);
  EXPECT_EQ(QueryValue(legacy, "SELECT count(*) FROM outbox"), "0");
}

TEST_F(AdaptersTest, PgOutboxMarksRowsAndRoutesByColumns) {
  ASSERT_TRUE(CreateTopic(*publisher_, "orders").ok());
  ASSERT_TRUE(CreateTopic(*publisher_, "invoices").ok());
  const std::string legacy = SharedPostgres().CreateDatabase();
  pqxx::connection db(legacy);
  pqxx::nontransaction(db).exec(
      "CREATE TABLE events (seq bigserial PRIMARY KEY, event_id uuid NOT NULL DEFAULT "
      "gen_random_uuid(), "
      "kind text NOT NULL, body bytea NOT NULL, customer text, meta jsonb, sent_at timestamptz);"
      "INSERT INTO events (kind, body, customer, meta) VALUES "
      "('orders', '\\x0001ff', 'c1', '{\"source\": \"erp\", \"version\": 2}'),"
      "('invoices', 'inv', NULL, NULL), ('orders', 'o2', 'c1', NULL)");
  auto adapter = StartAdapter(
      PG_OUTBOX_PATH,
      absl::StrCat("pg_outbox:\n  database_url: ", legacy,
                   "\n  table: events\n  id_column: seq\n  key_column: event_id\n"
                   "  payload_column: body\n  topic_column: kind\n  ordering_key_column: customer\n"
                   "  attributes_column: meta\n  after_publish: mark\n  mark_column: sent_at\n"
                   "  poll_interval: 50ms\n"));
  WaitForStored("orders", 2, absl::Seconds(10));
  WaitForStored("invoices", 1, absl::Seconds(10));
  EXPECT_EQ(StoredOn("orders"), 2);
  EXPECT_EQ(StoredOn("invoices"), 1);
  EXPECT_EQ(CountRows("SELECT count(*) FROM hub_messages WHERE data = '\\x0001ff'::bytea "
                      "AND ordering_key = 'c1' AND attributes->>'source' = 'erp' "
                      "AND attributes->>'version' = '2'"),
            1);
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(QueryValue(legacy, "SELECT count(*) FROM events WHERE sent_at IS NOT NULL"), "3");
  // The row's own key is the idempotency key.
  EXPECT_EQ(CountRows(absl::StrCat(
                "SELECT count(*) FROM hub_messages WHERE idempotency_key = 'events:",
                QueryValue(legacy, "SELECT event_id FROM events WHERE kind = 'invoices'"), "'")),
            1);
}

// --- the runtime -----------------------------------------------------------

TEST_F(AdaptersTest, AConfigurationWithATypoIsRefusedAtStart) {
  const std::string config = dir_ + "/bad.yaml";
  std::ofstream(config)
      << "file_source:\n  topic: logs\n  pathz: [/tmp/x]\n  position_file: /tmp/p\n";
  CommandResult result = RunCommand(absl::StrCat(FILE_SOURCE_PATH, " --config=", config));
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("file_source.paths is required"), std::string::npos) << result.err;
  std::ofstream(config)
      << "file_source:\n  topic: logs\n  paths: [/tmp/x]\n  position_file: /tmp/p\n  extra: 1\n";
  result = RunCommand(absl::StrCat(FILE_SOURCE_PATH, " --config=", config));
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("unknown key file_source.extra"), std::string::npos) << result.err;
}

// A hub whose name does not resolve is said at start, within seconds, not
// when the first publish gives up; the adapter runs on, and SIGTERM does not
// wait out the retries of the record it is publishing.
TEST_F(AdaptersTest, AnUnresolvableHubIsSaidAtStartAndDoesNotDelayAStop) {
  std::ofstream(dir_ + "/none.log") << "waiting\n";
  const std::string config = dir_ + "/unresolvable.yaml";
  std::ofstream(config) << "hub:\n  endpoint: no-such-hub.invalid:50051\nmetrics_listen: "
                        << "127.0.0.1:" << metrics_port_ << "\nfile_source:\n  topic: logs\n"
                        << "  paths: [" << dir_ << "/none*]\n  position_file: " << dir_
                        << "/positions\n";
  AdapterProcess adapter(FILE_SOURCE_PATH, config, dir_ + "/unresolvable.log");
  const absl::Time start = absl::Now();
  ASSERT_NO_FATAL_FAILURE(adapter.Start(metrics_port_));
  while (!absl::StrContains(adapter.log(), "adapter_hub_unreachable") &&
         absl::Now() - start < absl::Seconds(10)) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_LT(absl::Now() - start, absl::Seconds(5)) << adapter.log();
  EXPECT_TRUE(absl::StrContains(adapter.log(), "no-such-hub.invalid")) << adapter.log();
  absl::SleepFor(absl::Seconds(1));  // the record's publish is retrying
  const absl::Time stop = absl::Now();
  EXPECT_EQ(adapter.Stop(), 0);
  EXPECT_LT(absl::Now() - stop, absl::Seconds(2));
  EXPECT_FALSE(absl::StrContains(adapter.log(), "file_source_publish_failed")) << adapter.log();
}

// Each adapter's --help lists its flag and exits 0, and --version says what
// it is.
TEST(AdapterHelpTest, HelpListsTheFlagAndVersionNamesTheBinary) {
  for (const char* path :
       {FILE_SOURCE_PATH, HTTP_INGRESS_PATH, WEBHOOK_SINK_PATH, PG_OUTBOX_PATH}) {
    const CommandResult help = RunCommand(absl::StrCat(path, " --help"));
    EXPECT_EQ(help.exit_code, 0) << path;
    EXPECT_TRUE(absl::StrContains(help.out + help.err, "--config")) << path << help.out;
    EXPECT_FALSE(absl::StrContains(help.out + help.err, "No flags matched")) << path;
    const CommandResult version = RunCommand(absl::StrCat(path, " --version"));
    EXPECT_TRUE(absl::StartsWith(version.out, "hub-")) << path << version.out;
  }
}

}  // namespace
}  // namespace hub::testing
