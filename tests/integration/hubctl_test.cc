// hubctl against a real hubd: every command, text and --output json, and
// the exit codes scripts rely on.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "tests/support/hub_test.h"

namespace hub::testing {
namespace {

class HubctlTest : public HubTest {
 protected:
  CommandResult Hubctl(const std::string& args) {
    return RunCommand(absl::StrCat(HubctlPath(), " --endpoint ", hubd_->address(), " ", args));
  }
  // Runs a command that must succeed and prints JSON; returns the document.
  nlohmann::json Json(const std::string& args) {
    CommandResult r = Hubctl(absl::StrCat(args, " -o json"));
    EXPECT_EQ(r.exit_code, 0) << args << ": " << r.err;
    nlohmann::json doc = nlohmann::json::parse(r.out, nullptr, false);
    EXPECT_FALSE(doc.is_discarded()) << args << " printed: " << r.out;
    return doc;
  }
  int64_t Number(const nlohmann::json& value) {
    // proto3 JSON prints int64 as a string.
    return value.is_string() ? std::stoll(value.get<std::string>()) : value.get<int64_t>();
  }
};

TEST_F(HubctlTest, TopicCommands) {
  CommandResult created =
      Hubctl("topics create orders --retention 2d --dedup_window 1h --label team=shop");
  ASSERT_EQ(created.exit_code, 0) << created.err;
  EXPECT_TRUE(absl::StrContains(created.out, "orders")) << created.out;
  EXPECT_TRUE(absl::StrContains(created.out, "48h")) << created.out;
  CommandResult again = Hubctl("topics create orders");
  EXPECT_EQ(again.exit_code, 4);
  EXPECT_TRUE(absl::StrContains(again.err, "ALREADY_EXISTS: topic orders already exists"))
      << again.err;

  nlohmann::json topic = Json("topics get orders");
  EXPECT_EQ(topic["name"], "orders");
  EXPECT_EQ(topic["message_retention"], "172800s");
  EXPECT_EQ(topic["dedup_window"], "3600s");
  EXPECT_EQ(topic["labels"]["team"], "shop");

  ASSERT_EQ(Hubctl("topics create payments").exit_code, 0);
  nlohmann::json list = Json("topics list");
  ASSERT_TRUE(list.is_array());
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["name"], "orders");
  EXPECT_EQ(list[1]["name"], "payments");
  EXPECT_EQ(Hubctl("topics list").out.find("payments") != std::string::npos, true);

  EXPECT_EQ(Json("topics delete payments"), nlohmann::json::object());
  CommandResult gone = Hubctl("topics get payments");
  EXPECT_EQ(gone.exit_code, 3);
  EXPECT_TRUE(absl::StrContains(gone.err, "NOT_FOUND")) << gone.err;
  EXPECT_EQ(Hubctl("topics create 'bad name'").exit_code, 2);
  EXPECT_EQ(Hubctl("topics create orders2 --retention soon").exit_code, 2);
}

TEST_F(HubctlTest, SubscriptionCommandsTakeEveryOption) {
  ASSERT_EQ(Hubctl("topics create orders").exit_code, 0);
  ASSERT_EQ(Hubctl("topics create dead").exit_code, 0);
  CommandResult created = Hubctl(
      "subscriptions create billing --topic orders --ack_deadline 20 --guarantee exactly-once "
      "--ordering --filter 'attributes.kind = \"order\"' --dead_letter_topic dead "
      "--max_delivery_attempts 5 --min_backoff 1s --max_backoff 1m --label team=billing "
      "--retention 1d --expiration_ttl 30d --start oldest");
  ASSERT_EQ(created.exit_code, 0) << created.err;
  EXPECT_TRUE(absl::StrContains(created.out, "expires_unused=720h")) << created.out;
  nlohmann::json sub = Json("subscriptions get billing");
  EXPECT_EQ(sub["topic"], "orders");
  EXPECT_EQ(sub["ack_deadline_seconds"], 20);
  EXPECT_EQ(sub["delivery_guarantee"], "EXACTLY_ONCE");
  EXPECT_EQ(sub["enable_message_ordering"], true);
  EXPECT_EQ(sub["filter"], "attributes.kind = \"order\"");
  EXPECT_EQ(sub["dead_letter_policy"]["dead_letter_topic"], "dead");
  EXPECT_EQ(sub["dead_letter_policy"]["max_delivery_attempts"], 5);
  EXPECT_EQ(sub["retry_policy"]["minimum_backoff"], "1s");
  EXPECT_EQ(sub["retry_policy"]["maximum_backoff"], "60s");
  EXPECT_EQ(sub["labels"]["team"], "billing");
  EXPECT_EQ(sub["message_retention"], "86400s");
  EXPECT_EQ(sub["expiration_ttl"], "2592000s");
  EXPECT_EQ(Hubctl("subscriptions create sub_x5 --topic orders --start yesterday").exit_code, 2);
  EXPECT_EQ(Hubctl("subscriptions create sub_x6 --topic orders --start snapshot:none").exit_code,
            3);

  ASSERT_EQ(Hubctl("subscriptions create audit --topic dead --guarantee at-most-once").exit_code,
            0);
  EXPECT_EQ(Json("subscriptions list").size(), 2u);
  nlohmann::json of_orders = Json("subscriptions list --topic orders");
  ASSERT_EQ(of_orders.size(), 1u);
  EXPECT_EQ(of_orders[0]["name"], "billing");
  EXPECT_TRUE(absl::StrContains(Hubctl("subscriptions list").out, "at-most-once"));

  EXPECT_EQ(Hubctl("subscriptions create sub_x1 --topic orders --guarantee twice").exit_code, 2);
  EXPECT_EQ(Hubctl("subscriptions create sub_x2 --topic nowhere").exit_code, 3);
  EXPECT_EQ(Hubctl("subscriptions create sub_x3 --topic orders --filter 'attributes.'").exit_code,
            2);
  EXPECT_EQ(Hubctl("subscriptions create sub_x4").exit_code, 2);  // --topic is required
  EXPECT_EQ(Hubctl("subscriptions delete audit").exit_code, 0);
  EXPECT_EQ(Hubctl("subscriptions get audit").exit_code, 3);
}

TEST_F(HubctlTest, PublishPullTailAndStats) {
  ASSERT_EQ(Hubctl("topics create orders").exit_code, 0);
  ASSERT_EQ(Hubctl("subscriptions create billing --topic orders").exit_code, 0);

  nlohmann::json first =
      Json("publish orders one two -a kind=order -a region=eu --ordering_key customer-7");
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0]["duplicate"], false);
  CommandResult stdin_publish =
      RunCommand(absl::StrCat("printf 'three\\n\\nfour\\n' | ", HubctlPath(), " --endpoint ",
                              hubd_->address(), " publish orders"));
  ASSERT_EQ(stdin_publish.exit_code, 0) << stdin_publish.err;
  EXPECT_EQ(absl::StrSplit(stdin_publish.out, '\n', absl::SkipEmpty()).begin()->size() > 0, true);
  const std::string file = absl::StrCat("/tmp/hubctl-test-", getpid(), ".txt");
  std::ofstream(file) << "five\nsix\n";
  nlohmann::json keyed =
      Json(absl::StrCat("publish orders --file ", file, " --idempotency_key import-1"));
  nlohmann::json repeated =
      Json(absl::StrCat("publish orders --file ", file, " --idempotency_key import-1"));
  std::remove(file.c_str());
  ASSERT_EQ(repeated.size(), 2u);
  EXPECT_EQ(repeated[0]["duplicate"], true);
  EXPECT_EQ(repeated[0]["message_id"], keyed[0]["message_id"]);
  EXPECT_EQ(repeated[1]["message_id"], keyed[1]["message_id"]);
  EXPECT_EQ(StoredMessages(), 6);

  nlohmann::json stats = Json("stats");
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0]["subscription"], "billing");
  EXPECT_EQ(Number(stats[0]["backlog_messages"]), 6);
  EXPECT_EQ(Number(stats[0]["unacked_messages"]), 0);

  // Pulled without --ack: leased, not consumed.
  nlohmann::json pulled = Json("pull billing --max 2 --wait 2s");
  ASSERT_EQ(pulled.size(), 2u);
  EXPECT_EQ(pulled[0]["message"]["attributes"]["kind"], "order");
  EXPECT_EQ(pulled[0]["message"]["ordering_key"], "customer-7");
  EXPECT_EQ(pulled[0]["delivery_attempt"], 1);
  stats = Json("stats billing");
  EXPECT_EQ(Number(stats[0]["backlog_messages"]), 4);
  EXPECT_EQ(Number(stats[0]["unacked_messages"]), 2);
  EXPECT_TRUE(stats[0].contains("oldest_unacked_age"));

  CommandResult acked = Hubctl("pull billing --max 2 --ack");
  ASSERT_EQ(acked.exit_code, 0) << acked.err;
  EXPECT_TRUE(absl::StrContains(acked.out, "three")) << acked.out;

  // tail prints one JSON document per line.
  CommandResult tail = Hubctl("tail billing --count 2 --ack -o json");
  ASSERT_EQ(tail.exit_code, 0) << tail.err;
  std::vector<std::string> lines = absl::StrSplit(tail.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u) << tail.out;
  for (const std::string& line : lines) {
    nlohmann::json m = nlohmann::json::parse(line);
    EXPECT_FALSE(m["ack_id"].get<std::string>().empty());
  }
  stats = Json("stats");
  EXPECT_EQ(Number(stats[0]["backlog_messages"]), 0);
  EXPECT_EQ(Number(stats[0]["unacked_messages"]), 2);  // the first pull's, still leased
  CommandResult text_stats = Hubctl("stats");
  EXPECT_TRUE(absl::StrContains(text_stats.out, "OLDEST_UNACKED_AGE")) << text_stats.out;

  EXPECT_EQ(Hubctl("publish nowhere x").exit_code, 3);
  EXPECT_EQ(Hubctl("publish orders -a novalue x").exit_code, 2);
  EXPECT_EQ(Hubctl("pull billing --max 0").exit_code, 2);
  EXPECT_EQ(Hubctl("stats nobody").exit_code, 3);
}

// Schemas through hubctl and so through hub.v1.SchemaService: a joining
// service gets the .proto file from `schemas get`, a typed topic refuses a
// message that does not match (through hub.v1's Publish), and revisions
// are checked for compatibility.
TEST_F(HubctlTest, SchemaCommandsAndATypedTopic) {
  const std::string dir = ::testing::TempDir();
  const std::string v1 = dir + "/order-v1.proto";
  const std::string v2 = dir + "/order-v2.proto";
  const std::string breaking = dir + "/order-breaking.proto";
  const std::string definition =
      "syntax = \"proto3\";\nmessage Order {\n  int64 id = 1;\n  string customer = 2;\n}\n";
  std::ofstream(v1) << definition;
  std::ofstream(v2) << "syntax = \"proto3\"; message Order { int64 id = 1; string customer = 2; "
                       "string note = 3; }";
  std::ofstream(breaking) << "syntax = \"proto3\"; message Order { string id = 1; }";

  nlohmann::json created = Json(absl::StrCat("schemas create orders --definition_file ", v1));
  EXPECT_EQ(created["name"], "orders");
  EXPECT_EQ(created["type"], "PROTOCOL_BUFFER");
  const std::string first = created["revision_id"];
  EXPECT_EQ(Hubctl(absl::StrCat("schemas create orders --definition_file ", v1)).exit_code, 4);
  CommandResult bad =
      Hubctl(absl::StrCat("schemas create other --type avro --definition_file ", v1));
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(bad.err, "not JSON")) << bad.err;

  // `get` hands out the file as it was written.
  CommandResult file = Hubctl("schemas get orders");
  ASSERT_EQ(file.exit_code, 0) << file.err;
  EXPECT_EQ(file.out, definition);
  CommandResult listed = Hubctl("schemas list");
  EXPECT_TRUE(absl::StrContains(listed.out, first)) << listed.out;

  // A topic with the schema, in JSON: hub.v1's Publish is checked, also
  // right after a publish found no topic of the name.
  EXPECT_EQ(Hubctl("publish orders '{\"id\": \"one\"}'").exit_code, 3);
  ASSERT_EQ(Hubctl("topics create orders --schema orders --encoding json").exit_code, 0);
  nlohmann::json topic = Json("topics get orders");
  EXPECT_EQ(topic["schema_settings"]["schema"], "orders");
  EXPECT_EQ(topic["schema_settings"]["encoding"], "JSON");
  EXPECT_TRUE(absl::StrContains(Hubctl("topics get orders").out, "orders:JSON"));
  CommandResult good = Hubctl("publish orders '{\"id\": \"1\", \"customer\": \"ada\"}'");
  EXPECT_EQ(good.exit_code, 0) << good.err;
  CommandResult refused = Hubctl("publish orders '{\"id\": \"one\"}'");
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(refused.out + refused.err, "does not match schema orders"))
      << refused.out << refused.err;
  EXPECT_EQ(StoredMessages(), 1);

  EXPECT_EQ(Hubctl("schemas validate orders --message '{\"id\": \"2\"}'").exit_code, 0);
  CommandResult invalid = Hubctl("schemas validate orders --message '{\"id\": true}'");
  EXPECT_EQ(invalid.exit_code, 2);
  EXPECT_EQ(Hubctl(absl::StrCat("schemas validate --definition_file ", v2)).exit_code, 0);

  // Revisions: compatible, breaking (refused, then allowed on purpose),
  // and back.
  nlohmann::json second = Json(absl::StrCat("schemas commit orders --definition_file ", v2));
  EXPECT_NE(second["revision_id"], first);
  CommandResult refused_commit =
      Hubctl(absl::StrCat("schemas commit orders --definition_file ", breaking));
  EXPECT_EQ(refused_commit.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(refused_commit.err, "FAILED_PRECONDITION"));
  EXPECT_TRUE(absl::StrContains(refused_commit.err, "changes type from int64 to string"))
      << refused_commit.err;
  EXPECT_EQ(Hubctl(absl::StrCat("schemas rollback orders --revision ", first)).exit_code, 1);
  nlohmann::json rolled =
      Json(absl::StrCat("schemas rollback orders --allow_breaking --revision ", first));
  EXPECT_EQ(Hubctl(absl::StrCat("schemas get orders --revision ",
                                rolled["revision_id"].get<std::string>()))
                .out,
            definition);

  EXPECT_EQ(Json("schemas delete orders"), nlohmann::json::object());
  EXPECT_EQ(Hubctl("schemas get orders").exit_code, 3);
  EXPECT_EQ(Json("topics get orders")["schema_settings"]["schema"], "_deleted-schema_");
  CommandResult after = Hubctl("publish orders '{\"id\": \"3\"}'");
  EXPECT_TRUE(absl::StrContains(after.out + after.err, "FAILED_PRECONDITION"))
      << after.out << after.err;
}

TEST_F(HubctlTest, EveryCommandHasHelp) {
  const char* commands[] = {"",
                            "topics",
                            "topics create",
                            "topics get",
                            "topics list",
                            "topics delete",
                            "subscriptions",
                            "subscriptions create",
                            "subscriptions get",
                            "subscriptions list",
                            "subscriptions delete",
                            "publish",
                            "pull",
                            "tail",
                            "stats",
                            "messages",
                            "messages show",
                            "messages list",
                            "subscriptions messages",
                            "subscriptions update",
                            "subscriptions seek",
                            "topics update",
                            "reject",
                            "apply",
                            "snapshots",
                            "snapshots create",
                            "snapshots list",
                            "snapshots delete",
                            "dead-letters",
                            "dead-letters list",
                            "dead-letters redrive",
                            "schemas",
                            "schemas create",
                            "schemas get",
                            "schemas list",
                            "schemas commit",
                            "schemas rollback",
                            "schemas validate",
                            "schemas delete"};
  for (const char* command : commands) {
    CommandResult r = RunCommand(absl::StrCat(HubctlPath(), " ", command, " --help"));
    EXPECT_EQ(r.exit_code, 0) << command;
    EXPECT_TRUE(absl::StrContains(r.out, "Usage:")) << command << ": " << r.out;
  }
}

TEST_F(HubctlTest, UnreachableHubAndBadUsageHaveTheirExitCodes) {
  CommandResult down = RunCommand(absl::StrCat(HubctlPath(), " --endpoint 127.0.0.1:", FreePort(),
                                               " --timeout 2s topics list"));
  EXPECT_EQ(down.exit_code, 5);
  EXPECT_TRUE(absl::StrContains(down.err, "UNAVAILABLE")) << down.err;
  EXPECT_EQ(Hubctl("frobnicate").exit_code, 2);
  EXPECT_EQ(Hubctl("--timeout never topics list").exit_code, 2);
  EXPECT_EQ(Hubctl("").exit_code, 2);
}

// No hub where hubctl looks: said plainly and at once when the connection
// is refused, and within --timeout when something accepts but never speaks.
TEST(HubctlWithoutAHubTest, SaysSoWithinTheTimeout) {
  const int refused = FreePort();
  const absl::Time start = absl::Now();
  CommandResult r = RunCommand(absl::StrCat(HubctlPath(), " --endpoint 127.0.0.1:", refused,
                                            " --timeout 20s publish orders hello"));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_EQ(r.exit_code, 5) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, absl::StrCat("no hub at 127.0.0.1:", refused))) << r.err;

  // A listener that never accepts: the TCP handshake completes, HTTP/2's
  // does not.
  const int silent = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(silent, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(silent, 16), 0);
  socklen_t len = sizeof(addr);
  getsockname(silent, reinterpret_cast<sockaddr*>(&addr), &len);
  const absl::Time again = absl::Now();
  r = RunCommand(absl::StrCat(HubctlPath(), " --endpoint 127.0.0.1:", ntohs(addr.sin_port),
                              " --timeout 2s topics list"));
  EXPECT_LT(absl::Now() - again, absl::Seconds(5));
  EXPECT_EQ(r.exit_code, 5) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "within 2s")) << r.err;
  close(silent);
}

// What a new user types: dashes for underscores, a typo of a command (also
// before --help), a URL for an endpoint.
TEST_F(HubctlTest, TyposAndSpellingsAreNamedOrTaken) {
  ASSERT_EQ(Hubctl("topics create orders").exit_code, 0);
  CommandResult dashed = Hubctl(
      "subscriptions create billing --topic orders --ack-deadline 20 --max-delivery-attempts 5 "
      "--dead-letter-topic orders-dead");
  EXPECT_EQ(dashed.exit_code, 3) << dashed.err;  // the dead-letter topic does not exist
  ASSERT_EQ(Hubctl("topics create orders-dead").exit_code, 0);
  dashed = Hubctl(
      "subscriptions create billing --topic orders --ack-deadline 20 --max-delivery-attempts 5 "
      "--dead-letter-topic orders-dead");
  ASSERT_EQ(dashed.exit_code, 0) << dashed.err;
  nlohmann::json sub = Json("subscriptions get billing");
  EXPECT_EQ(sub["ack_deadline_seconds"], 20);
  EXPECT_EQ(sub["dead_letter_policy"]["max_delivery_attempts"], 5);
  ASSERT_EQ(Hubctl("publish orders x --ordering-key k --idempotency-key i").exit_code, 0);

  CommandResult typo = Hubctl("pul billing");
  EXPECT_EQ(typo.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(typo.err, "unknown command 'pul' of hubctl; did you mean 'pull'?"))
      << typo.err;
  typo = Hubctl("topics crate x");
  EXPECT_EQ(typo.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(typo.err, "did you mean 'create'?")) << typo.err;
  CommandResult help = Hubctl("deploy --help");
  EXPECT_EQ(help.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(help.err, "unknown command 'deploy'")) << help.err;
  EXPECT_TRUE(help.out.empty()) << help.out;

  CommandResult url = RunCommand(
      absl::StrCat(HubctlPath(), " --endpoint http://", hubd_->address(), " topics list"));
  EXPECT_EQ(url.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(url.err, "give host:port, without http://")) << url.err;
}

// --tls against a hub that speaks plain text: hubctl's own message, and no
// line of gRPC's log (the raw SSL error) before it.
TEST_F(HubctlTest, TlsAgainstAPlainHubSaysSoInItsOwnWords) {
  CommandResult r = Hubctl("--tls --timeout 5s topics list");
  EXPECT_EQ(r.exit_code, 5);
  EXPECT_TRUE(absl::StartsWith(r.err, "hubctl: UNAVAILABLE: no hub at")) << r.err;
  EXPECT_FALSE(absl::StrContains(r.err, "SSL")) << r.err;
}

// tail says that the hub went away, and goes on when it is back.
TEST_F(HubctlTest, TailSaysWhenTheHubIsAway) {
  ASSERT_EQ(Hubctl("topics create orders").exit_code, 0);
  ASSERT_EQ(Hubctl("subscriptions create billing --topic orders").exit_code, 0);
  ChildProcess tail({"/bin/sh", "-c",
                     absl::StrCat("exec ", HubctlPath(), " --endpoint ", hubd_->address(),
                                  " tail billing --ack --count 1 2>&1")});
  absl::SleepFor(absl::Milliseconds(500));
  hubd_->Kill();
  EXPECT_TRUE(absl::StartsWith(tail.ReadLine(absl::Seconds(10)), "hubctl: the hub is away ("));
  ASSERT_NO_FATAL_FAILURE(hubd_->Start());
  ASSERT_EQ(Hubctl("publish orders back").exit_code, 0);
  std::string line;
  while (!(line = tail.ReadLine(absl::Seconds(20))).empty() && !absl::StrContains(line, "back")) {
  }
  EXPECT_TRUE(absl::StrContains(line, "back")) << line;
  EXPECT_EQ(tail.Wait(), 0);
}

// Each consuming tail ended with Ctrl-C costs the message it showed one
// delivery attempt, not two (docs/client.md): three tails, then the fourth
// delivery.
TEST_F(HubctlTest, EachConsumingTailEndedWithCtrlCCostsOneAttempt) {
  ASSERT_EQ(Hubctl("topics create orders").exit_code, 0);
  ASSERT_EQ(Hubctl("subscriptions create billing --topic orders").exit_code, 0);
  ASSERT_EQ(Hubctl("publish orders looked-at").exit_code, 0);
  for (int look = 1; look <= 3; ++look) {
    ChildProcess tail(
        {HubctlPath(), "--endpoint", hubd_->address(), "tail", "billing", "--consume"});
    const std::string line = tail.ReadLine(absl::Seconds(10));
    ASSERT_TRUE(absl::StrContains(line, "looked-at")) << look << ": " << line;
    tail.Signal(SIGINT);
    EXPECT_EQ(tail.Wait(), 0);
  }
  v1::PullResponse resp;
  ASSERT_TRUE(Pull(*subscriber_, "billing", 10, absl::Seconds(5), &resp).ok());
  ASSERT_EQ(resp.received_messages_size(), 1);
  EXPECT_EQ(resp.received_messages(0).delivery_attempt(), 4);
}

// A tail without --consume looks: it shows the backlog and what arrives,
// and the next consumer gets each message as a first delivery.
TEST_F(HubctlTest, ATailLooksByDefaultAndCostsNothing) {
  ASSERT_EQ(Hubctl("topics create orders").exit_code, 0);
  ASSERT_EQ(Hubctl("subscriptions create billing --topic orders").exit_code, 0);
  ASSERT_EQ(Hubctl("publish orders first").exit_code, 0);
  ChildProcess tail({HubctlPath(), "--endpoint", hubd_->address(), "tail", "billing"});
  EXPECT_TRUE(absl::StrContains(tail.ReadLine(absl::Seconds(10)), "first"));
  ASSERT_EQ(Hubctl("publish orders second").exit_code, 0);
  EXPECT_TRUE(absl::StrContains(tail.ReadLine(absl::Seconds(10)), "second"));
  tail.Signal(SIGINT);
  EXPECT_EQ(tail.Wait(), 0);
  EXPECT_EQ(CountRows("SELECT count(*) FROM leases"), 0);
  v1::PullResponse resp;
  ASSERT_TRUE(Pull(*subscriber_, "billing", 10, absl::Seconds(5), &resp).ok());
  ASSERT_EQ(resp.received_messages_size(), 2);
  EXPECT_EQ(resp.received_messages(0).delivery_attempt(), 1);
}

// Messages, their fate, a subscription's messages and its dead letters,
// and a redrive, from the command line.
TEST_F(HubctlTest, MessagesAndDeadLettersFromTheCommandLine) {
  ASSERT_EQ(Hubctl("topics create orders").exit_code, 0);
  ASSERT_EQ(Hubctl("topics create dead").exit_code, 0);
  ASSERT_EQ(
      Hubctl("subscriptions create billing --topic orders --dead_letter_topic dead").exit_code, 0);
  ASSERT_EQ(Hubctl("publish orders one two three -a kind=order").exit_code, 0);
  nlohmann::json listed = Json("messages list orders --filter 'attributes.kind = \"order\"'");
  ASSERT_EQ(listed.size(), 3u);
  const std::string id = listed[1]["message_id"];
  EXPECT_EQ(Json("messages list orders --start " + id).size(), 2u);

  // billing rejects "two": its fate says dead-lettered, and where.
  v1::PullResponse resp;
  ASSERT_TRUE(Pull(*subscriber_, "billing", 10, absl::Seconds(5), &resp).ok());
  ASSERT_EQ(resp.received_messages_size(), 3);
  {
    grpc::ClientContext ctx;
    v1::RejectRequest r;
    r.set_subscription("billing");
    r.add_ack_ids(resp.received_messages(1).ack_id());
    v1::RejectResponse out;
    ASSERT_TRUE(subscriber_->Reject(&ctx, r, &out).ok());
  }
  const CommandResult shown = Hubctl("messages show orders " + id);
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_TRUE(absl::StrContains(shown.out, "dead-lettered")) << shown.out;
  EXPECT_TRUE(absl::StrContains(shown.out, "to=dead/")) << shown.out;
  EXPECT_EQ(Json("subscriptions messages billing --state in-flight").size(), 2u);
  nlohmann::json dead = Json("dead-letters list billing");
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0]["fate"]["state"], "MESSAGE_STATE_DEAD_LETTERED");

  const CommandResult redriven = Hubctl("dead-letters redrive billing --id " + id);
  ASSERT_EQ(redriven.exit_code, 0) << redriven.err;
  EXPECT_EQ(redriven.out, "redrove 1 message: " + id + "\n");
  EXPECT_EQ(Json("dead-letters list billing").size(), 0u);
  EXPECT_EQ(Hubctl("dead-letters redrive billing").exit_code, 2);  // nothing chosen
  EXPECT_EQ(Hubctl("messages show orders 99").exit_code, 3);
  EXPECT_EQ(Hubctl("subscriptions messages billing --state lost").exit_code, 2);
}

// A delayed publish from the command line: the message shows as waiting,
// due at its time, and a delay that is neither duration nor time is bad
// input.
TEST_F(HubctlTest, PublishesWithADelay) {
  ASSERT_EQ(Hubctl("topics create orders").exit_code, 0);
  ASSERT_EQ(Hubctl("subscriptions create billing --topic orders").exit_code, 0);
  ASSERT_EQ(Hubctl("publish orders later --delay 1h").exit_code, 0);
  const nlohmann::json listed = Json("messages list orders");
  ASSERT_EQ(listed.size(), 1u);
  const std::string id = listed[0]["message_id"];
  ASSERT_TRUE(listed[0].contains("deliver_time")) << listed.dump();
  const nlohmann::json fate = Json("messages show orders " + id);
  EXPECT_EQ(fate["subscriptions"][0]["state"], "MESSAGE_STATE_WAITING");
  EXPECT_EQ(fate["message"]["deliver_time"], listed[0]["deliver_time"]);
  const CommandResult shown = Hubctl("messages show orders " + id);
  EXPECT_TRUE(absl::StrContains(shown.out, "due=")) << shown.out;
  v1::PullResponse resp;
  ASSERT_TRUE(Pull(*subscriber_, "billing", 10, absl::Milliseconds(500), &resp).ok());
  EXPECT_EQ(resp.received_messages_size(), 0) << "delivered before its time";
  const CommandResult bad = Hubctl("publish orders x --delay soon");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(bad.err, "--delay must be")) << bad.err;
  EXPECT_EQ(Hubctl("publish orders x --delay 400d").exit_code, 2) << "past the retention";
}

// Updates field by field, a seek and a reject, from the command line.
TEST_F(HubctlTest, UpdatesSeeksAndRejects) {
  ASSERT_EQ(Hubctl("topics create orders --label team=a").exit_code, 0);
  ASSERT_EQ(Hubctl("topics create dead").exit_code, 0);
  ASSERT_EQ(Hubctl("subscriptions create billing --topic orders --dead_letter_topic dead "
                   "--ack_deadline 20 --filter 'attributes:kind'")
                .exit_code,
            0);
  nlohmann::json topic = Json("topics update orders --retention 2d");
  EXPECT_EQ(topic["message_retention"], "172800s");
  EXPECT_EQ(topic["labels"]["team"], "a") << "a field not named is left alone";
  nlohmann::json sub = Json("subscriptions update billing --ack_deadline 45 --expiration_ttl 2d");
  EXPECT_EQ(sub["ack_deadline_seconds"], 45);
  EXPECT_EQ(sub["expiration_ttl"], "172800s");
  EXPECT_EQ(sub["filter"], "attributes:kind");
  EXPECT_EQ(sub["dead_letter_policy"]["dead_letter_topic"], "dead");
  EXPECT_EQ(Hubctl("subscriptions update billing").exit_code, 2);
  EXPECT_EQ(Hubctl("subscriptions update billing --ack_deadline 601").exit_code, 2);

  ASSERT_EQ(Hubctl("publish orders one two -a kind=x").exit_code, 0);
  nlohmann::json pulled = Json("pull billing --max 10 --wait 5s");
  ASSERT_EQ(pulled.size(), 2u);
  const std::string ack_id = pulled[0]["ack_id"];
  const CommandResult rejected = Hubctl("reject billing " + ack_id + " --reason unparseable");
  ASSERT_EQ(rejected.exit_code, 0) << rejected.err;
  EXPECT_EQ(rejected.out, ack_id + "\tOK\n");
  nlohmann::json dead = Json("dead-letters list billing");
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0]["fate"]["dead_letter"]["reason"], "unparseable");

  // Seeking an hour back delivers both again (the dead-lettered one too:
  // a seek is to a time, not to a state).
  const std::string hour_ago =
      absl::FormatTime(absl::RFC3339_full, absl::Now() - absl::Hours(1), absl::UTCTimeZone());
  const CommandResult sought = Hubctl("subscriptions seek billing --time " + hour_ago);
  ASSERT_EQ(sought.exit_code, 0) << sought.err;
  EXPECT_EQ(Json("pull billing --max 10 --wait 5s --ack").size(), 2u);
  EXPECT_EQ(Hubctl("subscriptions seek billing").exit_code, 2);
  EXPECT_EQ(Hubctl("subscriptions seek billing --snapshot none").exit_code, 3);
}

// Snapshots made, listed, sought to and deleted from the command line.
TEST_F(HubctlTest, SnapshotsFromTheCommandLine) {
  ASSERT_EQ(Hubctl("topics create orders").exit_code, 0);
  ASSERT_EQ(Hubctl("subscriptions create billing --topic orders").exit_code, 0);
  ASSERT_EQ(Hubctl("publish orders one two").exit_code, 0);
  nlohmann::json made = Json("snapshots create before --subscription billing --label why=test");
  EXPECT_EQ(made["name"], "before");
  EXPECT_EQ(made["topic"], "orders");
  EXPECT_EQ(Json("pull billing --max 10 --wait 5s --ack").size(), 2u);
  EXPECT_EQ(Json("pull billing --max 10 --wait 1s").size(), 0u);
  ASSERT_EQ(Hubctl("subscriptions seek billing --snapshot before").exit_code, 0);
  EXPECT_EQ(Json("pull billing --max 10 --wait 5s --ack").size(), 2u);
  nlohmann::json listed = Json("snapshots list");
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["labels"]["why"], "test");
  EXPECT_EQ(Hubctl("snapshots create before --subscription billing").exit_code, 4);
  ASSERT_EQ(Hubctl("snapshots delete before").exit_code, 0);
  EXPECT_EQ(Json("snapshots list").size(), 0u);
  EXPECT_EQ(Hubctl("snapshots delete before").exit_code, 3);
}

// The estate of a shop: a schema, two topics, and subscriptions with
// every kind of option. `{ACK}` and `{AUDIT}` vary between versions.
constexpr char kEstate[] = R"(estate: shop
schemas:
  - name: order
    type: protobuf
    definition: |
      syntax = "proto3";
      message Order { string sku = 1; }
topics:
  - name: orders
    retention: 3d
    schema: order
    encoding: json
    labels: {team: shop}
  - name: orders-dead
subscriptions:
  - name: billing
    topic: orders
    ack_deadline: {ACK}
    guarantee: {GUARANTEE}
    dead_letter_topic: orders-dead
    filter: 'attributes:kind'
    min_backoff: 1s
    max_backoff: 1m
    labels: {team: billing}
{AUDIT})";

constexpr char kAudit[] = R"(  - name: audit
    topic: orders
    expiration_ttl: 30d
)";

std::string EstateFile(const std::string& dir, const std::string& ack, const std::string& audit,
                       const std::string& guarantee = "at-least-once") {
  std::string text = kEstate;
  text =
      absl::StrReplaceAll(text, {{"{ACK}", ack}, {"{AUDIT}", audit}, {"{GUARANTEE}", guarantee}});
  const std::string path = dir + "/estate.yaml";
  std::ofstream(path) << text;
  return path;
}

TEST_F(HubctlTest, ApplyMakesTheHubMatchTheFile) {
  char tmpl[] = "/tmp/hub-estate-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  ASSERT_EQ(Hubctl("topics create by-hand").exit_code, 0);
  const std::string v1 = EstateFile(dir, "20", kAudit);
  CommandResult first = Hubctl("apply -f " + v1);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(first.out,
            "create schema order\ncreate topic orders\ncreate topic orders-dead\n"
            "create subscription billing\ncreate subscription audit\n"
            "5 changes applied, 0 unchanged\n");
  nlohmann::json billing = Json("subscriptions get billing");
  EXPECT_EQ(billing["ack_deadline_seconds"], 20);
  EXPECT_EQ(billing["labels"]["hub-estate"], "shop");
  EXPECT_EQ(billing["labels"]["team"], "billing");
  EXPECT_EQ(billing["dead_letter_policy"]["max_delivery_attempts"], 20);
  EXPECT_EQ(Json("topics get orders")["schema_settings"]["schema"], "order");

  // Idempotent: a second apply changes nothing and says so; so does a dry
  // run, with exit 0.
  EXPECT_EQ(Hubctl("apply -f " + v1).out, "no changes: 5 resources match the file\n");
  EXPECT_EQ(Hubctl("apply -f " + v1 + " --dry-run").exit_code, 0);

  // A new deadline, and audit gone from the file: the dry run says so
  // (exit 8) and changes nothing.
  const std::string v2 = EstateFile(dir, "45", "");
  CommandResult dry = Hubctl("apply -f " + v2 + " --dry-run --prune");
  EXPECT_EQ(dry.exit_code, 8) << dry.err;
  EXPECT_EQ(dry.out,
            "update subscription billing: ack_deadline_seconds\ndelete subscription audit\n"
            "2 changes to make, 3 unchanged\n");
  EXPECT_EQ(Json("subscriptions get billing")["ack_deadline_seconds"], 20);
  // Without --prune nothing is deleted; with it, what the estate made and
  // the file no longer names, and nothing made by hand.
  EXPECT_EQ(Hubctl("apply -f " + v2).out,
            "update subscription billing: ack_deadline_seconds\n1 change applied, 3 unchanged\n");
  EXPECT_EQ(Hubctl("subscriptions get audit").exit_code, 0);
  EXPECT_EQ(Hubctl("apply -f " + v2 + " --prune").out,
            "delete subscription audit\n1 change applied, 4 unchanged\n");
  EXPECT_EQ(Hubctl("subscriptions get audit").exit_code, 3);
  EXPECT_EQ(Hubctl("topics get by-hand").exit_code, 0);

  // A fixed field is an error that names it, and nothing is applied.
  const std::string fixed = EstateFile(dir, "60", "", "exactly-once");
  CommandResult refused = Hubctl("apply -f " + fixed);
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(refused.err, "subscription billing: guarantee is fixed"))
      << refused.err;
  EXPECT_EQ(Json("subscriptions get billing")["ack_deadline_seconds"], 45);
  // A key the file should not have, named with its place.
  std::ofstream(dir + "/typo.yaml") << "estate: shop\ntopics:\n  - name: x1x\n    retension: 1d\n";
  CommandResult typo = Hubctl("apply -f " + dir + "/typo.yaml");
  EXPECT_EQ(typo.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(typo.err, "topics[0].retension: not a key")) << typo.err;
  RunCommand("rm -rf " + dir);
}

// Ctrl-C ends a command at once (exit 130), also one waiting for messages.
TEST_F(HubctlTest, InterruptEndsAWaitingCommandAtOnce) {
  ASSERT_EQ(Hubctl("topics create orders").exit_code, 0);
  ASSERT_EQ(Hubctl("subscriptions create billing --topic orders").exit_code, 0);
  ChildProcess pull(
      {HubctlPath(), "--endpoint", hubd_->address(), "pull", "billing", "--wait", "30s"});
  absl::SleepFor(absl::Milliseconds(500));
  const absl::Time start = absl::Now();
  pull.Signal(SIGINT);
  EXPECT_EQ(pull.Wait(), 130);
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
}

}  // namespace
}  // namespace hub::testing
