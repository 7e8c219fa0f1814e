// The Pub/Sub API (docs/pubsub.md) through Google's own Node.js client,
// unchanged but for the endpoint: tests/pubsub/client.js runs a scenario
// against a real hubd and PostgreSQL and reports what it saw; these tests
// check it, and what hub.v1 and the database say of the same resources.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "google/pubsub/v1/pubsub.grpc.pb.h"
#include "hub/v1/schemas.grpc.pb.h"
#include "tests/support/hub_client.h"
#include "tests/support/hub_test.h"
#include "tests/support/test_certificates.h"
#include "tests/support/test_env.h"

namespace hub::testing {
namespace {

using nlohmann::json;

const std::string kClient = absl::StrCat(HUB_SOURCE_DIR, "/tests/pubsub/client.js");

// The command line of a client.js scenario with `env` (NAME=value) set.
std::vector<std::string> ClientArgv(const std::string& scenario,
                                    const std::vector<std::string>& env) {
  std::vector<std::string> argv = {
      "/usr/bin/env", absl::StrCat("NODE_PATH=", HUB_SOURCE_DIR, "/.tools/node_modules"),
      // Google's auth library looks for a cloud metadata server otherwise.
      "METADATA_SERVER_DETECTION=none"};
  argv.insert(argv.end(), env.begin(), env.end());
  argv.insert(argv.end(), {"node", kClient, scenario});
  return argv;
}

// The RESULT line of a scenario's output, parsed; a failure when none.
json ResultOf(const std::string& output) {
  const size_t at = output.rfind("RESULT ");
  if (at == std::string::npos) {
    ADD_FAILURE() << "no RESULT in:\n" << output;
    return json::object();
  }
  return json::parse(output.substr(at + 7, output.find('\n', at) - at - 7));
}

std::string Quoted(const std::vector<std::string>& argv) {
  std::vector<std::string> quoted;
  for (const std::string& a : argv) quoted.push_back(absl::StrCat("'", a, "'"));
  return absl::StrJoin(quoted, " ");
}

class PubSubClientTest : public HubTest {
 protected:
  // Runs `scenario` against this test's hubd, each run with names of its own.
  json Run(const std::string& scenario, std::vector<std::string> env = {}) {
    env.push_back(absl::StrCat("PUBSUB_EMULATOR_HOST=", hubd_->address()));
    env.push_back(absl::StrCat("HUB_RUN=", run_));
    const CommandResult r = RunCommand(Quoted(ClientArgv(scenario, env)));
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    return ResultOf(r.out);
  }
  std::string Named(const std::string& base) const { return absl::StrCat(base, "-", run_); }

  const std::string run_ = absl::StrCat(getpid(), absl::ToUnixMicros(absl::Now()) % 1000000);
};

TEST_F(PubSubClientTest, TopicsAndSubscriptionsAcrossProjects) {
  const json r = Run("crud");
  EXPECT_EQ(r["topic"], "projects/hub/topics/" + Named("orders"));
  EXPECT_EQ(r["shop_topic"], "projects/shop/topics/" + Named("orders"));
  EXPECT_EQ(r["labels_after_update"], json({{"team", "b"}}));
  EXPECT_EQ(r["ack_deadline_after_update"], 30);
  EXPECT_EQ(r["sub_labels"], json({{"x", "y"}}));
  // Each project lists its own.
  EXPECT_EQ(r["topics"], json::array({"projects/hub/topics/" + Named("orders")}));
  EXPECT_EQ(r["shop_topics"], json::array({"projects/shop/topics/" + Named("orders")}));
  EXPECT_EQ(r["topic_subscriptions"],
            json::array({"projects/hub/subscriptions/" + Named("billing")}));
  EXPECT_EQ(r["create_existing"], 6);  // ALREADY_EXISTS
  EXPECT_EQ(r["get_missing"], 5);      // NOT_FOUND
  EXPECT_EQ(r["bad_name"], 3);         // INVALID_ARGUMENT
  EXPECT_EQ(r["bad_project"], 3);
  EXPECT_EQ(r["tilde_at_home"], 3);
  EXPECT_EQ(r["push"], 12);  // UNIMPLEMENTED
  EXPECT_EQ(r["expiring"], 0);
  EXPECT_EQ(r["expiring_ttl"], 86400);
  EXPECT_EQ(r["expiring_soon"], 3);
  EXPECT_EQ(r["subscription_retention"], 3);
  EXPECT_EQ(r["never_expires"], 0);
  EXPECT_EQ(r["missing_topic_sub"], 5);
  EXPECT_EQ(r["deleted_get"], 5);
  EXPECT_EQ(r["shop_topics_after_delete"], json::array());
  // The home project's topic is the hub's plain name; nothing refused
  // left anything behind.
  grpc::ClientContext ctx;
  v1::GetTopicRequest get;
  get.set_name(Named("orders"));
  v1::Topic topic;
  ASSERT_TRUE(publisher_->GetTopic(&ctx, get, &topic).ok());
  EXPECT_EQ(topic.labels().at("team"), "b");
  EXPECT_EQ(CountRows("SELECT count(*) FROM subscriptions"), 0);
  EXPECT_EQ(CountRows("SELECT count(*) FROM topics"), 1);
}

// A topic made through hub.v1 is a Pub/Sub topic of the home project, and
// one of another project is the hub name with its project before '~'.
TEST_F(PubSubClientTest, HubNamesAreVisibleThroughPubSub) {
  ASSERT_TRUE(CreateTopic(*publisher_, Named("orders")).ok());
  ASSERT_TRUE(CreateTopic(*publisher_, "shop~" + Named("orders")).ok());
  const json r = Run("list");
  EXPECT_EQ(r["hub"], json::array({"projects/hub/topics/" + Named("orders")}));
  EXPECT_EQ(r["shop"], json::array({"projects/shop/topics/" + Named("orders")}));
}

TEST_F(PubSubClientTest, TenThousandMessagesThroughBatchingAndStreamingPull) {
  const json r = Run("throughput");
  EXPECT_EQ(r["published"], 10000);
  EXPECT_EQ(r["unique_ids"], 10000);
  EXPECT_EQ(r["unique_received"], 10000);
  // Every nacked message came again and was acked then.
  EXPECT_GT(r["nacked"].get<int>(), 0);
  EXPECT_EQ(r["redelivered"], r["nacked"]);
  EXPECT_EQ(StoredMessages(), 10000);
  // Nothing is left unacknowledged. Google's Node client (5.3.1) now and
  // then never sends the ack of one message it handled: the id reaches the
  // hub in no call (seen in about one run in four, with the old hubd too). The
  // guarantee is at-least-once, so the message comes back once its lease
  // runs out, and a consumer that acks it then leaves nothing behind. (On
  // a loaded machine it may drop several, held in more than one lease row:
  // each round takes what comes back.)
  for (int round = 0; round < 5 && CountRows("SELECT count(*) FROM leases") > 0; ++round) {
    EXPECT_GE(Run("redelivered")["acked"].get<int>(), 1);
  }
  EXPECT_EQ(CountRows("SELECT count(*) FROM leases"), 0);
}

// Pub/Sub takes messages of up to 10 MB, and so does the hub by default:
// 9 MB ones go through the client's batching, StreamingPull and Pull
// whole, while hubd's memory stays within P6's bound.
TEST_F(PubSubClientTest, NineMegabyteMessagesThroughTheStockClient) {
  PeakRss rss(hubd_->pid());
  const json r = Run("large");
  const double peak = rss.Stop();
  EXPECT_EQ(r["whole"], 6);
  EXPECT_EQ(r["small"], 60);
  EXPECT_EQ(r["pulled"], true);
  EXPECT_EQ(r["over"], 3);  // INVALID_ARGUMENT
  EXPECT_LT(peak, 256) << "hubd's peak resident set, MiB";
  std::printf("9 MB messages through Pub/Sub: hubd peak RSS %.0f MiB\n", peak);
}

// Schemas through the stock client (docs/schemas.md): the fixture's first
// list, CRUD, validation, a topic whose schema refuses a batch with one bad
// message and stores nothing of it, revisions with a breaking one refused,
// and a deleted schema's topic.
TEST_F(PubSubClientTest, SchemasRevisionsAndValidatedPublish) {
  const json r = Run("schemas");
  const std::string schema = "projects/hub/schemas/" + Named("orders");
  EXPECT_EQ(r["listed_first"], json::array());
  EXPECT_EQ(r["name"], schema);
  EXPECT_EQ(r["type"], "PROTOCOL_BUFFER");
  EXPECT_EQ(r["definition_back"], true);
  EXPECT_EQ(r["first_revision"].get<std::string>().size(), 8u);
  EXPECT_EQ(r["basic_has_definition"], false);
  EXPECT_EQ(r["listed"], json::array({schema}));
  EXPECT_EQ(r["create_again"], 6);  // ALREADY_EXISTS
  EXPECT_EQ(r["bad_definition"], 3);
  EXPECT_EQ(r["valid_schema"], 0);
  EXPECT_EQ(r["invalid_schema"], 3);
  EXPECT_EQ(r["valid_json"], 0);
  EXPECT_EQ(r["invalid_json"], 3);
  EXPECT_EQ(r["topic_schema"], schema);
  EXPECT_EQ(r["topic_encoding"], "BINARY");
  EXPECT_EQ(r["bad_batch"], 3);
  EXPECT_TRUE(absl::StrContains(r["bad_batch_message"].get<std::string>(),
                                "message 1 does not match schema"))
      << r["bad_batch_message"];
  EXPECT_TRUE(absl::StrContains(r["bad_batch_message"].get<std::string>(), "field id"))
      << r["bad_batch_message"];
  // Only the good batch was stored: nothing of the refused one.
  EXPECT_EQ(r["received"], json::array({"c4", "c5"}));
  EXPECT_EQ(StoredMessages(), 2);
  EXPECT_EQ(r["attributes"]["googclient_schemaname"], schema);
  EXPECT_EQ(r["attributes"]["googclient_schemarevisionid"], r["first_revision"]);
  EXPECT_EQ(r["attributes"]["googclient_schemaencoding"], "BINARY");
  EXPECT_EQ(r["second_revision_differs"], true);
  EXPECT_EQ(r["breaking"], 9);  // FAILED_PRECONDITION
  EXPECT_TRUE(absl::StrContains(r["breaking_message"].get<std::string>(),
                                "field 1 (id) of Order changes type from int64 to string"))
      << r["breaking_message"];
  EXPECT_EQ(r["revisions"], 2);
  EXPECT_EQ(r["rollback"], 9);
  EXPECT_EQ(r["rollback_definition"], true);
  EXPECT_EQ(r["deleted_revision"], true);
  EXPECT_EQ(r["revisions_after"], 2);
  EXPECT_EQ(r["get_deleted"], 5);
  EXPECT_EQ(r["topic_schema_after_delete"], "_deleted-schema_");
  EXPECT_EQ(r["publish_after_delete"], 9);
  EXPECT_EQ(CountRows("SELECT count(*) FROM schema_revisions"), 0);
}

TEST_F(PubSubClientTest, AvroSchemaOnAJsonTopic) {
  const json r = Run("avro");
  EXPECT_EQ(r["type"], "AVRO");
  EXPECT_EQ(r["bad_batch"], 3);
  EXPECT_EQ(r["received"], json::array({3, 4}));
  EXPECT_EQ(StoredMessages(), 2);
  EXPECT_EQ(r["encoding"], "JSON");
  EXPECT_EQ(r["breaking"], 9);  // `id` removed without a default
  EXPECT_EQ(r["compatible"], 0);
}

TEST_F(PubSubClientTest, ASubscriptionsRetentionIsReportedAsInEffect) {
  const json r = Run("retention");
  EXPECT_EQ(r["own"], 3600);
  EXPECT_EQ(r["own_retains_acked"], true);
  EXPECT_EQ(r["plain"], 2 * 86400);   // the topic's
  EXPECT_EQ(r["longer"], 2 * 86400);  // never longer than the topic's
  EXPECT_EQ(r["own_after_update"], 7200);
  EXPECT_EQ(r["too_long"], 3);
  EXPECT_EQ(CountRows("SELECT message_retention_ms FROM subscriptions WHERE name = '" +
                      Named("longer") + "'"),
            10 * 86400 * 1000);
}

TEST_F(PubSubClientTest, UnaryPullAcknowledgeAndModifyAckDeadline) {
  const json r = Run("pull");
  EXPECT_EQ(r["first"], 3);
  EXPECT_EQ(r["rest"], 2);
  EXPECT_EQ(r["redelivered"], json::array({r["nacked"]}));
  // Pub/Sub fills delivery_attempt only with a dead-letter policy.
  EXPECT_EQ(r["delivery_attempt"], 0);
  EXPECT_EQ(r["empty_after"], 0);
  EXPECT_EQ(r["zero_max"], 3);
  EXPECT_EQ(r["bad_subscription"], 3);
}

TEST_F(PubSubClientTest, OrderingKeysKeepPublishOrder) {
  const json r = Run("ordering");
  EXPECT_EQ(r["received"], 500);
  EXPECT_EQ(r["out_of_order"], 0);
  EXPECT_EQ(r["keys"], 10);
  EXPECT_EQ(r["ordering_enabled"], true);
}

TEST_F(PubSubClientTest, FiltersInPubSubSyntax) {
  const json r = Run("filter");
  EXPECT_EQ(r["received"], json::array({"end", "f0", "f2"}));
  EXPECT_EQ(r["bad_filter"], 3);
}

TEST_F(PubSubClientTest, DeadLettersAfterMaxDeliveryAttempts) {
  const json r = Run("deadletter");
  EXPECT_EQ(r["attempts"], json::array({1, 2, 3, 4, 5}));
  EXPECT_EQ(r["dead_letters"], json::array({"poison"}));
  EXPECT_EQ(r["max_delivery_attempts"], 5);
}

TEST_F(PubSubClientTest, ExactlyOnceVerdictsReachTheClient) {
  const json r = Run("exactlyonce");
  EXPECT_EQ(r["exactly_once"], true);
  EXPECT_EQ(r["verdicts"], json::array({"SUCCESS", "SUCCESS", "SUCCESS"}));
  // Google's AckResponses.Invalid, through the client's own ackWithResponse().
  EXPECT_EQ(r["stale_verdict"], "INVALID");
  const json& failed = r["expired_ack"];
  ASSERT_TRUE(failed.is_object()) << r.dump();
  EXPECT_EQ(failed["code"], 3);
  EXPECT_EQ(failed["reason"], "EXACTLY_ONCE_ACKID_FAILURE");
  // The late subscription's four messages (p0..p2 and the one held across
  // the seek) and the made-up id.
  ASSERT_EQ(failed["metadata"].size(), 5u) << failed.dump();
  for (const json& id : r["expired_ack_ids"]) {
    EXPECT_EQ(failed["metadata"][id.get<std::string>()], "PERMANENT_FAILURE_INVALID_ACK_ID");
  }
  EXPECT_EQ(failed["metadata"]["made-up"], "PERMANENT_FAILURE_INVALID_ACK_ID");
  EXPECT_TRUE(absl::StrContains(failed["message"].get<std::string>(), "4 expired"));
  EXPECT_TRUE(absl::StrContains(failed["message"].get<std::string>(), "1 invalid"));
  EXPECT_EQ(r["redelivered"], json::array({"held", "p0", "p1", "p2"}));
}

TEST_F(PubSubClientTest, SeekToASnapshotAndToATime) {
  const json r = Run("seek");
  const json all = json::array({"s0", "s1", "s2", "s3", "s4"});
  EXPECT_EQ(r["first"], all);
  EXPECT_EQ(r["after_snapshot"], all);
  EXPECT_EQ(r["after_time"], all);
  EXPECT_EQ(r["snapshots"], json::array({r["snapshot"]}));
  EXPECT_EQ(r["other_topic_seek"], 9);  // FAILED_PRECONDITION
  EXPECT_EQ(r["missing_snapshot"], 5);
  EXPECT_EQ(r["deleted_seek"], 5);
  EXPECT_EQ(CountRows("SELECT count(*) FROM snapshots"), 0);
}

TEST_F(PubSubClientTest, TheIdempotencyAttributeStoresARetriedPublishOnce) {
  const json r = Run("idempotent");
  EXPECT_EQ(r["first"], r["second"]);
  EXPECT_NE(r["first"], r["third"]);
  EXPECT_EQ(StoredMessages(), 2);
  EXPECT_EQ(r["delivered"],
            json::parse(R"([{"data": "once", "attributes": {"hub-idempotency-key": "order-42",
                                                           "kind": "order"}},
                            {"data": "other", "attributes": {}}])"));
  // Stored once, as the key (the attribute comes back from it).
  EXPECT_EQ(CountRows("SELECT count(*) FROM publish_keys WHERE idempotency_key = 'order-42'"), 1);
}

// Delayed delivery through attributes: hub-delivery-delay or
// hub-deliver-time at publish; consumers get the time it was due as
// hub-deliver-time, and nothing arrives before it.
TEST_F(PubSubClientTest, DelayedDeliveryThroughAttributes) {
  const json r = Run("delayed");
  EXPECT_EQ(r["bad"], 3) << "a malformed delay is INVALID_ARGUMENT";
  ASSERT_EQ(r["arrived"].size(), 2u) << r.dump();
  for (const json& m : r["arrived"]) {
    EXPECT_FALSE(m["attributes"].contains("hub-delivery-delay")) << m.dump();
    ASSERT_TRUE(m["attributes"].contains("hub-deliver-time")) << m.dump();
    EXPECT_GE(m["arrived_ms"].get<int64_t>(), m["due_ms"].get<int64_t>()) << m.dump();
    EXPECT_LT(m["arrived_ms"].get<int64_t>(), m["due_ms"].get<int64_t>() + 3000) << m.dump();
    if (m["data"] == "by-delay") EXPECT_EQ(m["attributes"]["kind"], "order");
    // The time asked for, or later by the publish's own latency.
    if (m["data"] == "by-time") {
      EXPECT_GE(m["due_ms"].get<int64_t>(), r["asked_ms"].get<int64_t>());
      EXPECT_LT(m["due_ms"].get<int64_t>(), r["asked_ms"].get<int64_t>() + 1000);
    }
  }
}

TEST_F(PubSubClientTest, ADetachedSubscriptionDeliversNothing) {
  const json r = Run("detach");
  EXPECT_EQ(r["detached"], true);
  EXPECT_EQ(r["pull"], 9);  // FAILED_PRECONDITION
  EXPECT_EQ(CountRows("SELECT count(*) FROM leases"), 0);
}

// A Go service on Go's stock client: ordered publish with its batching,
// receive with acks, a snapshot and a seek back to it.
TEST_F(PubSubClientTest, GoClientPublishesReceivesAndSeeks) {
  constexpr int kMessages = 300;
  ASSERT_EQ(access(PUBSUB_GO_PATH, X_OK), 0)
      << PUBSUB_GO_PATH << " was not built: Go is missing (scripts/install-deps installs it)";
  // A typed topic (docs/schemas.md), made through hub.v1.
  {
    auto schemas = v1::SchemaService::NewStub(hubd_->Channel());
    grpc::ClientContext ctx;
    v1::CreateSchemaRequest create;
    create.mutable_schema()->set_name("go-typed");
    create.mutable_schema()->set_type(v1::PROTOCOL_BUFFER);
    create.mutable_schema()->set_definition("syntax = \"proto3\"; message E { int64 id = 1; }");
    v1::Schema schema;
    ASSERT_TRUE(schemas->CreateSchema(&ctx, create, &schema).ok());
    grpc::ClientContext topic_ctx;
    v1::Topic topic;
    topic.set_name("go-typed");
    topic.mutable_schema_settings()->set_schema("go-typed");
    topic.mutable_schema_settings()->set_encoding(v1::JSON);
    v1::Topic created;
    ASSERT_TRUE(publisher_->CreateTopic(&topic_ctx, topic, &created).ok());
  }
  const CommandResult r = RunCommand(absl::StrCat("PUBSUB_EMULATOR_HOST=", hubd_->address(),
                                                  " HUB_RUN=", run_, " HUB_MESSAGES=", kMessages,
                                                  " HUB_TYPED_TOPIC=go-typed ", PUBSUB_GO_PATH));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const json result = ResultOf(r.out);
  EXPECT_EQ(result["published"], kMessages);
  EXPECT_EQ(result["received"], kMessages);
  EXPECT_EQ(result["after_seek"], kMessages);
  EXPECT_EQ(result["out_of_order"], 0);
  EXPECT_EQ(result["ack_deadline_s"], 20);
  EXPECT_EQ(result["topic"], "projects/hub/topics/go-orders-" + run_);
  EXPECT_EQ(result["typed_good"], "OK");
  EXPECT_EQ(result["typed_bad"], "InvalidArgument");
  grpc::ClientContext ctx;
  v1::GetSubscriptionRequest get;
  get.set_name("go-billing-" + run_);
  v1::Subscription sub;
  ASSERT_TRUE(subscriber_->GetSubscription(&ctx, get, &sub).ok());
  EXPECT_TRUE(sub.enable_message_ordering());
}

// What the Node client does not use: acks on the stream. On an exactly-once
// subscription the stream confirms them, and says what it is.
TEST_F(PubSubClientTest, StreamConfirmationsOfAnExactlyOnceSubscription) {
  namespace gps = ::google::pubsub::v1;
  auto publisher = gps::Publisher::NewStub(hubd_->Channel());
  auto subscriber = gps::Subscriber::NewStub(hubd_->Channel());
  {
    grpc::ClientContext ctx;
    gps::Topic topic, made;
    topic.set_name("projects/hub/topics/ledger");
    ASSERT_TRUE(publisher->CreateTopic(&ctx, topic, &made).ok());
  }
  {
    grpc::ClientContext ctx;
    gps::Subscription sub, made;
    sub.set_name("projects/hub/subscriptions/ledger-eo");
    sub.set_topic("projects/hub/topics/ledger");
    sub.set_enable_exactly_once_delivery(true);
    ASSERT_TRUE(subscriber->CreateSubscription(&ctx, sub, &made).ok());
  }
  {
    grpc::ClientContext ctx;
    gps::PublishRequest request;
    request.set_topic("projects/hub/topics/ledger");
    request.add_messages()->set_data("entry");
    gps::PublishResponse response;
    ASSERT_TRUE(publisher->Publish(&ctx, request, &response).ok());
  }
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
  auto stream = subscriber->StreamingPull(&ctx);
  gps::StreamingPullRequest first;
  first.set_subscription("projects/hub/subscriptions/ledger-eo");
  first.set_stream_ack_deadline_seconds(60);
  ASSERT_TRUE(stream->Write(first));
  gps::StreamingPullResponse delivered;
  ASSERT_TRUE(stream->Read(&delivered));
  ASSERT_EQ(delivered.received_messages_size(), 1);
  EXPECT_EQ(delivered.received_messages(0).message().data(), "entry");
  EXPECT_TRUE(delivered.subscription_properties().exactly_once_delivery_enabled());
  EXPECT_FALSE(delivered.subscription_properties().message_ordering_enabled());

  const std::string ack_id = delivered.received_messages(0).ack_id();
  gps::StreamingPullRequest settle;
  settle.add_ack_ids(ack_id);
  settle.add_ack_ids("bogus");
  settle.add_modify_deadline_ack_ids("nope");
  settle.add_modify_deadline_seconds(30);
  ASSERT_TRUE(stream->Write(settle));
  gps::StreamingPullResponse confirmed;
  ASSERT_TRUE(stream->Read(&confirmed));
  const auto& acks = confirmed.acknowledge_confirmation();
  EXPECT_EQ(std::vector<std::string>(acks.ack_ids().begin(), acks.ack_ids().end()),
            std::vector<std::string>{ack_id});
  EXPECT_EQ(std::vector<std::string>(acks.invalid_ack_ids().begin(), acks.invalid_ack_ids().end()),
            std::vector<std::string>{"bogus"});
  EXPECT_EQ(acks.temporary_failed_ack_ids_size(), 0);
  const auto& changes = confirmed.modify_ack_deadline_confirmation();
  EXPECT_EQ(
      std::vector<std::string>(changes.invalid_ack_ids().begin(), changes.invalid_ack_ids().end()),
      std::vector<std::string>{"nope"});
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
  EXPECT_EQ(CountRows("SELECT count(*) FROM leases"), 0);
}

// hubd killed -9 twice while a publisher and a consumer of the stock client
// run: every message the hub acknowledged to the publisher reaches the
// consumer, and the publisher's retries (same idempotency attribute) are
// stored once.
TEST_F(PubSubClientTest, KillNineLosesNoAcknowledgedMessage) {
  constexpr int kMessages = 6000;
  const std::vector<std::string> env = {absl::StrCat("PUBSUB_EMULATOR_HOST=", hubd_->address()),
                                        absl::StrCat("HUB_RUN=", run_),
                                        absl::StrCat("HUB_MESSAGES=", kMessages)};
  ChildProcess publisher(ClientArgv("survivorpublish", env));
  ASSERT_EQ(publisher.ReadLine(), "READY");
  ChildProcess consumer(ClientArgv("survivor", env));
  for (int kill = 0; kill < 2; ++kill) {
    std::string line;
    do {
      line = consumer.ReadLine(absl::Seconds(60));
    } while (!line.empty() && !absl::StartsWith(line, "PROGRESS"));
    ASSERT_FALSE(line.empty()) << "the consumer made no progress";
    hubd_->Kill();
    absl::SleepFor(absl::Milliseconds(500));
    ASSERT_NO_FATAL_FAILURE(hubd_->Start());
  }
  std::string published, consumed, line;
  while (!(line = publisher.ReadLine(absl::Seconds(120))).empty()) published = line;
  while (!(line = consumer.ReadLine(absl::Seconds(120))).empty()) consumed = line;
  EXPECT_EQ(publisher.Wait(), 0);
  EXPECT_EQ(consumer.Wait(), 0);
  EXPECT_EQ(ResultOf(published)["acknowledged"], kMessages);
  EXPECT_EQ(ResultOf(consumed)["unique_received"], kMessages);
  EXPECT_EQ(StoredMessages(), kMessages);
}

// Over TLS with bearer tokens: the same token file and policy as hub.v1's.
class PubSubAuthTest : public PubSubClientTest {
 protected:
  std::vector<std::string> ExtraFlags() override {
    const std::string dir = Certs().Path("");
    WriteTokensFile(dir + "pubsub-tokens", {"ops", "orders"});
    std::ofstream(dir + "pubsub-policy") << "allow ops * *\nallow orders publish topic:orders\n";
    return {"--tls_cert_file=" + Certs().Path("server.pem"),
            "--tls_key_file=" + Certs().Path("server.key"),
            "--tokens_file=" + dir + "pubsub-tokens", "--policy_file=" + dir + "pubsub-policy"};
  }
  void SetUp() override {
    url_ = SharedPostgres().CreateDatabase();
    hubd_ = std::make_unique<HubProcess>(url_, ExtraFlags());
    hubd_->UseCredentials(Certs().Credentials("ca"));
    ASSERT_NO_FATAL_FAILURE(hubd_->Start());
  }
};

TEST_F(PubSubAuthTest, TokensOverTlsAndThePolicyApply) {
  const CommandResult r = RunCommand(Quoted(
      ClientArgv("auth", {absl::StrCat("HUB_TLS_ENDPOINT=localhost:", hubd_->address().substr(10)),
                          "HUB_TLS_CA=" + Certs().Path("ca.pem"), "HUB_ADMIN_TOKEN=t-ops",
                          "HUB_TOKEN=t-orders", "HUB_TOPIC=orders", "HUB_OTHER_TOPIC=secret"})));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const json result = ResultOf(r.out);
  EXPECT_EQ(result["allowed"], 0);
  EXPECT_EQ(result["refused"], 7);     // PERMISSION_DENIED
  EXPECT_EQ(result["anonymous"], 16);  // UNAUTHENTICATED
  EXPECT_EQ(StoredMessages(), 1);
}

// IAM on the hub's policy (docs/security.md, "Stored bindings"): two hubd
// on one database, a tokens file and a policy that lets `ops` do
// everything and `alice` nothing until a binding says so.
class PubSubIamTest : public PubSubClientTest {
 protected:
  std::vector<std::string> ExtraFlags() override {
    const std::string dir = ::testing::TempDir();
    WriteTokensFile(dir + "iam-tokens", {"ops", "alice"});
    std::ofstream(dir + "iam-policy") << "allow ops * *\n";
    return {"--tokens_file=" + dir + "iam-tokens", "--policy_file=" + dir + "iam-policy"};
  }
};

TEST_F(PubSubIamTest, BindingsSetThroughOneReplicaAreEnforcedByTheOther) {
  HubProcess other(url_, ExtraFlags());
  ASSERT_NO_FATAL_FAILURE(other.Start());
  const json r = Run("iam", {"HUB_OTHER_HOST=" + other.address(), "HUB_ADMIN_TOKEN=t-ops",
                             "HUB_USER_TOKEN=t-alice", "HUB_USER=alice"});
  EXPECT_EQ(r["user_publish_before"], 7);  // PERMISSION_DENIED
  EXPECT_EQ(r["user_permissions_before"], json::array());
  EXPECT_EQ(r["admin_permissions"], json::array({"pubsub.topics.publish", "pubsub.topics.get",
                                                 "pubsub.topics.setIamPolicy"}));
  EXPECT_EQ(r["bindings_before"], json::array());
  EXPECT_EQ(r["etag_changed"], true);
  EXPECT_EQ(r["stale_etag"], 10);  // ABORTED
  EXPECT_EQ(r["user_set"], 7);
  EXPECT_EQ(r["user_publish_after"], 0);
  // What TestIamPermissions says is what the hub then enforced.
  EXPECT_EQ(r["user_permissions_after"], json::array({"pubsub.topics.publish"}));
  EXPECT_EQ(r["user_get_policy"], 7);
  EXPECT_EQ(r["bindings_after"],
            json::array({{{"role", "roles/pubsub.publisher"}, {"members", {"user:alice"}}}}));
  EXPECT_EQ(r["viewer_get"], 0);
  EXPECT_EQ(r["viewer_pull"], 7);
  EXPECT_EQ(r["user_schema_before"], 7);
  EXPECT_EQ(r["user_schema_after"], 0);
  EXPECT_EQ(r["snapshot_bindings_before"], 0);
  EXPECT_EQ(r["user_snapshot_permissions"], json::array({"pubsub.snapshots.get"}));
  EXPECT_EQ(r["bad_role"], 3);
  EXPECT_EQ(r["bad_member"], 3);
  EXPECT_EQ(r["conditional"], 3);
  EXPECT_EQ(r["bad_permission"], 3);
  EXPECT_EQ(r["missing_resource_policy"], 5);
  EXPECT_EQ(r["missing_resource_permissions"], json::array());
  // Deleting the topic takes its policy along (the subscription's and the
  // snapshot's with them); the schema's stays.
  EXPECT_EQ(CountRows("SELECT count(*) FROM access_policies"), 4);
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer t-ops");
  v1::DeleteTopicRequest del;
  del.set_name(Named("guarded"));
  google::protobuf::Empty empty;
  ASSERT_TRUE(publisher_->DeleteTopic(&ctx, del, &empty).ok());
  EXPECT_EQ(CountRows("SELECT count(*) FROM access_policies"), 1);  // the schema's
}

TEST_F(PubSubClientTest, WithoutAPolicyTheIamCallsSaySoTruthfully) {
  const json r = Run("iamoff");
  EXPECT_EQ(r["bindings"],
            json::array({{{"role", "roles/pubsub.admin"}, {"members", {"allUsers"}}}}));
  EXPECT_EQ(r["set"], 9);  // FAILED_PRECONDITION
  EXPECT_EQ(r["permissions"], json::array({"pubsub.topics.publish", "pubsub.topics.delete"}));
}

}  // namespace
}  // namespace hub::testing
