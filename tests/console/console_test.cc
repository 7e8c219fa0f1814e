// The web console (docs/console.md) against a real hubd and PostgreSQL:
// its JSON API (who may do what, CSRF, paging, every call, bad input), and
// its pages in a real browser (Debian's Chromium driven by
// tests/console/browser.js), whose figures are checked against the RPCs.
#include <curl/curl.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/support/hub_test.h"

namespace hub::testing {
namespace {

using json = nlohmann::json;

struct HttpAnswer {
  long code = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  json Json() const { return json::parse(body, nullptr, false); }
};

size_t Collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

size_t CollectHeader(char* data, size_t size, size_t n, void* out) {
  std::string line(data, size * n);
  const size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(tolower(c));
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    value.erase(value.find_last_not_of("\r\n") + 1);
    (*static_cast<std::map<std::string, std::string>*>(out))[name] = value;
  }
  return size * n;
}

// An int64 of hub.v1's JSON form, which writes them as strings.
int64_t Int(const json& value) {
  return value.is_string() ? std::stoll(value.get<std::string>()) : value.get<int64_t>();
}

// One HTTP request to the ops port.
HttpAnswer Http(int port, const std::string& method, const std::string& path,
                const std::vector<std::string>& headers = {}, const std::string& body = "") {
  CURL* curl = curl_easy_init();
  HttpAnswer answer;
  const std::string url = absl::StrCat("http://127.0.0.1:", port, path);
  curl_slist* list = nullptr;
  for (const std::string& h : headers) list = curl_slist_append(list, h.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (method == "POST") curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, CollectHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &answer.headers);
  if (curl_easy_perform(curl) == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &answer.code);
  }
  curl_slist_free_all(list);
  curl_easy_cleanup(curl);
  return answer;
}

// ops may do everything; viewer may only look at names and settings;
// billing-reader may consume billing and read orders, nothing else.
constexpr char kPolicy[] =
    "allow ops * *\n"
    "allow viewer view *\n"
    "allow billing-reader subscribe subscription:billing\n"
    "allow billing-reader subscribe topic:orders\n"
    "allow billing-reader view *\n";

// A seeded estate: topic orders with subscriptions billing (dead letters to
// dlq) and shipping; 10 orders, customer 42's the fifth. billing: 3 dead
// letters, 2 in flight, 5 waiting. shipping: all 10 waiting.
class ConsoleTest : public HubTest {
 protected:
  std::vector<std::string> ExtraFlags() override {
    std::vector<std::string> flags = files_.Flags();
    flags.push_back("--console");
    // Rate charts of one point a second, so that a test sees them fill.
    flags.push_back("--console_rate_step=1s");
    return flags;
  }

  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(HubTest::SetUp());
    ASSERT_TRUE(CreateTopic(*publisher_, "orders", "t-ops").ok());
    ASSERT_TRUE(CreateTopic(*publisher_, "dlq", "t-ops").ok());
    for (const char* name : {"billing", "shipping"}) {
      grpc::ClientContext ctx;
      As(ctx);
      v1::Subscription sub, out;
      sub.set_name(name);
      sub.set_topic("orders");
      sub.set_ack_deadline_seconds(600);
      if (std::string(name) == "billing") {
        sub.mutable_dead_letter_policy()->set_dead_letter_topic("dlq");
      }
      ASSERT_TRUE(subscriber_->CreateSubscription(&ctx, sub, &out).ok());
    }
    grpc::ClientContext ctx;
    As(ctx);
    v1::PublishRequest request;
    request.set_topic("orders");
    for (int i = 0; i < 10; ++i) {
      v1::Message* m = request.add_messages();
      m->set_data(i == 4 ? R"({"order":42,"customer":"42","total":"99.50"})"
                         : absl::StrCat("order ", i));
      (*m->mutable_attributes())["customer"] = i == 4 ? "42" : absl::StrCat(100 + i);
      data_bytes_ += static_cast<int64_t>(m->data().size());
    }
    v1::PublishResponse published;
    ASSERT_TRUE(publisher_->Publish(&ctx, request, &published).ok());
    for (const auto& r : published.results()) ids_.push_back(r.message_id());
    // billing: 3 rejected into dlq, 2 held in flight.
    v1::PullResponse pulled;
    ASSERT_TRUE(PullAs("billing", 3, &pulled).ok());
    ASSERT_EQ(pulled.received_messages_size(), 3);
    grpc::ClientContext reject_ctx;
    As(reject_ctx);
    v1::RejectRequest reject;
    reject.set_subscription("billing");
    reject.set_reason("unparseable");
    for (const auto& m : pulled.received_messages()) {
      reject.add_ack_ids(m.ack_id());
      dead_letters_.push_back(m.message().message_id());
      dead_bytes_ += static_cast<int64_t>(m.message().data().size());
    }
    v1::RejectResponse rejected;
    ASSERT_TRUE(subscriber_->Reject(&reject_ctx, reject, &rejected).ok());
    v1::PullResponse held;
    ASSERT_TRUE(PullAs("billing", 2, &held).ok());
    ASSERT_EQ(held.received_messages_size(), 2);
    ASSERT_TRUE(CreateSnapshot("before-fix", "billing").ok());
  }

  static void As(grpc::ClientContext& ctx, const std::string& token = "t-ops") {
    ctx.AddMetadata("authorization", "Bearer " + token);
  }
  static grpc::Status CreateTopic(v1::Publisher::Stub& stub, const std::string& name,
                                  const std::string& token) {
    grpc::ClientContext ctx;
    As(ctx, token);
    v1::Topic topic, out;
    topic.set_name(name);
    return stub.CreateTopic(&ctx, topic, &out);
  }

  grpc::Status PullAs(const std::string& sub, int max, v1::PullResponse* out) {
    grpc::ClientContext ctx;
    As(ctx);
    v1::PullRequest r;
    r.set_subscription(sub);
    r.set_max_messages(max);
    r.mutable_max_wait()->set_seconds(2);
    return subscriber_->Pull(&ctx, r, out);
  }

  grpc::Status CreateSnapshot(const std::string& name, const std::string& sub) {
    grpc::ClientContext ctx;
    As(ctx);
    v1::CreateSnapshotRequest r;
    r.set_name(name);
    r.set_subscription(sub);
    v1::Snapshot out;
    return subscriber_->CreateSnapshot(&ctx, r, &out);
  }

  v1::SubscriptionStats Stats(const std::string& sub) {
    grpc::ClientContext ctx;
    As(ctx);
    v1::GetSubscriptionStatsRequest r;
    r.set_subscription(sub);
    v1::SubscriptionStats out;
    EXPECT_TRUE(subscriber_->GetSubscriptionStats(&ctx, r, &out).ok());
    return out;
  }

  int64_t DeadLetterRows() { return CountRows("SELECT count(*) FROM dead_letters"); }
  std::string CursorState() {
    return QueryValue(url_,
                      "SELECT string_agg(next_position::text, ',' ORDER BY subscription_id) "
                      "FROM subscription_cursors");
  }

  HttpAnswer Get(const std::string& path, const std::string& token = "t-ops") {
    std::vector<std::string> headers;
    if (!token.empty()) headers.push_back("Authorization: Bearer " + token);
    return Http(hubd_->metrics_port(), "GET", "/console/api/" + path, headers);
  }

  // The CSRF token the session call gives `token`.
  std::string Csrf(const std::string& token = "t-ops") {
    return Get("session", token).Json().value("csrf_token", "");
  }

  HttpAnswer Post(const std::string& path, const json& body, const std::string& token = "t-ops",
                  std::optional<std::string> csrf = std::nullopt,
                  const std::string& type = "application/json") {
    std::vector<std::string> headers = {"Content-Type: " + type};
    if (!token.empty()) headers.push_back("Authorization: Bearer " + token);
    headers.push_back("X-Hub-Csrf: " + (csrf ? *csrf : Csrf(token)));
    return Http(hubd_->metrics_port(), "POST", "/console/api/" + path, headers, body.dump());
  }

  // Publishes and acks on events/audit for the rate charts.
  void SeedTraffic();
  // Walks every page in `browser` with tests/console/browser.js; what came
  // of it, as kEveryActReachedTheHub says it.
  std::string WalkIn(const std::string& browser);

  const AccessFiles files_{{"ops", "viewer", "billing-reader"}, kPolicy};
  std::vector<std::string> ids_;
  std::vector<std::string> dead_letters_;
  int64_t data_bytes_ = 0;
  int64_t dead_bytes_ = 0;
};

TEST_F(ConsoleTest, RefusesCallersWithoutTheRightCredentialsAndChangesNothing) {
  const std::string cursors = CursorState();
  ASSERT_EQ(DeadLetterRows(), 3);
  const json redrive = {{"subscription", "billing"}, {"message_ids", {dead_letters_[0]}}};
  const json seek = {{"subscription", "billing"}, {"time", "2000-01-01T00:00:00Z"}};

  // No token, or a wrong one: 401 on reads and changes alike.
  EXPECT_EQ(Get("session", "").code, 401);
  EXPECT_EQ(Get("estate", "").code, 401);
  EXPECT_EQ(Get("estate", "t-nobody").code, 401);
  EXPECT_EQ(Get("hub", "").code, 401);
  EXPECT_EQ(Post("redrive", redrive, "", "x").code, 401);
  // A token without the permission: it sees the estate's names, not the
  // figures or messages, and may change nothing.
  const HttpAnswer estate = Get("estate", "t-viewer");
  ASSERT_EQ(estate.code, 200) << estate.body;
  EXPECT_TRUE(estate.Json()["topics"][1]["subscriptions"][0]["stats"].is_null()) << estate.body;
  EXPECT_EQ(Get("subscription/messages?name=billing&state=dead_lettered", "t-viewer").code, 403);
  EXPECT_EQ(Get("topic/messages?topic=orders", "t-viewer").code, 403);
  EXPECT_EQ(Get("message?topic=orders&id=1", "t-viewer").code, 403);
  EXPECT_EQ(Post("redrive", redrive, "t-viewer").code, 403);
  EXPECT_EQ(Post("seek", seek, "t-viewer").code, 403);
  // billing-reader may consume billing but not shipping.
  EXPECT_EQ(Post("seek", {{"subscription", "shipping"}, {"time", "2000-01-01T00:00:00Z"}},
                 "t-billing-reader")
                .code,
            403);
  // A forged, missing or other session's CSRF token, with a valid bearer
  // token: refused.
  const HttpAnswer forged = Post("redrive", redrive, "t-ops", std::string(64, 'a'));
  EXPECT_EQ(forged.code, 403);
  EXPECT_NE(forged.body.find("CSRF"), std::string::npos) << forged.body;
  EXPECT_EQ(Post("redrive", redrive, "t-ops", "").code, 403);
  EXPECT_EQ(Post("seek", seek, "t-ops", Csrf("t-billing-reader")).code, 403);
  // A form post (what a cross-site page can send without asking) is not a
  // change, even with the right token.
  EXPECT_EQ(
      Post("redrive", redrive, "t-ops", std::nullopt, "application/x-www-form-urlencoded").code,
      400);

  EXPECT_EQ(DeadLetterRows(), 3) << "a refused redrive changed nothing";
  EXPECT_EQ(CursorState(), cursors) << "a refused seek changed nothing";
  // The same redrive with what the session gave: done.
  const HttpAnswer done = Post("redrive", redrive);
  ASSERT_EQ(done.code, 200) << done.body;
  EXPECT_EQ(done.Json()["message_ids"], json({dead_letters_[0]}));
  EXPECT_EQ(DeadLetterRows(), 2);
}

TEST_F(ConsoleTest, TheEstateIsPagedAndShowsWhatTheStatsRpcAnswers) {
  // 30 more topics: 32 in all, in pages of 25.
  for (int i = 0; i < 30; ++i) {
    ASSERT_TRUE(CreateTopic(*publisher_, absl::StrCat("t", 100 + i), "t-ops").ok());
  }
  const json first = Get("estate").Json();
  ASSERT_EQ(first["topics"].size(), 25u) << first.dump();
  ASSERT_FALSE(first["next_page_token"].get<std::string>().empty());
  const json second =
      Get("estate?page_token=" + first["next_page_token"].get<std::string>()).Json();
  EXPECT_EQ(second["topics"].size(), 7u);
  EXPECT_EQ(second["next_page_token"], "");
  EXPECT_EQ(Get("estate?page_size=101").code, 400);
  EXPECT_EQ(Get("estate?page_size=0").code, 400);
  EXPECT_EQ(Get("estate?page_size=5").Json()["topics"].size(), 5u);

  // orders sorts after dlq: its subscriptions and their figures.
  const json orders = first["topics"][1];
  ASSERT_EQ(orders["name"], "orders");
  ASSERT_EQ(orders["subscriptions"].size(), 2u);
  const json billing = orders["subscriptions"][0]["stats"];
  const v1::SubscriptionStats rpc = Stats("billing");
  EXPECT_EQ(Int(billing["backlog_messages"]), rpc.backlog_messages());
  EXPECT_EQ(Int(billing["unacked_messages"]), rpc.unacked_messages());
  EXPECT_EQ(Int(billing["dead_lettered_messages"]), rpc.dead_lettered_messages());
  EXPECT_EQ(Int(billing["unacked_bytes"]), rpc.unacked_bytes());
  EXPECT_EQ(rpc.backlog_messages(), 5);
  EXPECT_EQ(rpc.unacked_messages(), 2);
  EXPECT_EQ(rpc.dead_lettered_messages(), 3);
  EXPECT_EQ(rpc.unacked_bytes(), data_bytes_ - dead_bytes_) << "all but the dead letters";
  EXPECT_EQ(Stats("shipping").unacked_bytes(), data_bytes_);
  EXPECT_TRUE(orders["published"].is_array());

  // Past a million unacknowledged positions the sizes are not added up:
  // the head moved on by a million (positions whose segments are gone, as
  // retention leaves them) leaves unacked_bytes unset, in the RPC and on
  // the page alike.
  CountRows(
      "UPDATE topic_heads SET next_position = next_position + 1000000 "
      "WHERE topic_id = (SELECT id FROM topics WHERE name = 'orders') RETURNING 1");
  EXPECT_FALSE(Stats("shipping").has_unacked_bytes());
  const json later = Get("subscription?name=shipping").Json();
  EXPECT_FALSE(later["stats"].contains("unacked_bytes")) << later.dump();
  EXPECT_EQ(Int(later["stats"]["backlog_messages"]), 1000010);
}

TEST_F(ConsoleTest, EveryCallAnswersAsItsRpcDoes) {
  // A topic: settings, subscriptions, no schema.
  const json topic = Get("topic?name=orders").Json();
  EXPECT_EQ(topic["topic"]["name"], "orders");
  EXPECT_TRUE(topic["schema"].is_null());
  EXPECT_EQ(topic["subscriptions"][1]["name"], "shipping");
  EXPECT_EQ(Get("topic?name=nope").code, 404);

  // Browsing: a filter, a start, pages.
  const json c42 =
      Get("topic/messages?topic=orders&filter=attributes.customer%20%3D%20%2242%22").Json();
  ASSERT_EQ(c42["messages"].size(), 1u) << c42.dump();
  EXPECT_EQ(c42["messages"][0]["message_id"], ids_[4]);
  const json page = Get("topic/messages?topic=orders&page_size=4").Json();
  ASSERT_EQ(page["messages"].size(), 4u);
  const json rest = Get("topic/messages?topic=orders&page_size=10&page_token=" +
                        page["next_page_token"].get<std::string>())
                        .Json();
  EXPECT_EQ(rest["messages"].size(), 6u);
  const json from = Get("topic/messages?topic=orders&start_message_id=" + ids_[7]).Json();
  EXPECT_EQ(from["messages"].size(), 3u);
  EXPECT_EQ(Get("topic/messages?topic=orders&start_time=yesterday").code, 400);
  EXPECT_EQ(
      Get("topic/messages?topic=orders&start_time=2000-01-01T00:00:00Z").Json()["messages"].size(),
      10u);
  EXPECT_EQ(CountRows("SELECT count(*) FROM leases WHERE subscription_id = "
                      "(SELECT id FROM subscriptions WHERE name = 'shipping')"),
            0)
      << "browsing takes no lease";

  // A subscription: settings, figures, its topic's snapshots.
  const json billing = Get("subscription?name=billing").Json();
  EXPECT_EQ(billing["subscription"]["dead_letter_policy"]["dead_letter_topic"], "dlq");
  EXPECT_EQ(Int(billing["stats"]["dead_lettered_messages"]), 3);
  EXPECT_EQ(billing["snapshots"], json({"before-fix"}));
  EXPECT_EQ(Get("subscription?name=nope").code, 404);
  std::map<std::string, size_t> held;
  for (const char* state : {"waiting", "in_flight", "dead_lettered"}) {
    held[state] = Get(absl::StrCat("subscription/messages?name=billing&state=", state))
                      .Json()["messages"]
                      .size();
  }
  EXPECT_EQ(held, (std::map<std::string, size_t>{
                      {"dead_lettered", 3}, {"in_flight", 2}, {"waiting", 5}}));
  EXPECT_EQ(Get("subscription/messages?name=billing&state=acked").code, 400);

  // A message's fate, as GetMessageFate gives it.
  const json fate = Get("message?topic=orders&id=" + dead_letters_[0]).Json();
  ASSERT_EQ(fate["subscriptions"].size(), 2u) << fate.dump();
  EXPECT_EQ(fate["subscriptions"][0]["state"], "MESSAGE_STATE_DEAD_LETTERED");
  EXPECT_EQ(fate["subscriptions"][0]["dead_letter"]["reason"], "unparseable");
  EXPECT_EQ(fate["subscriptions"][1]["state"], "MESSAGE_STATE_WAITING");
  EXPECT_EQ(Get("message?topic=orders&id=999").code, 404);

  // The hub: this replica among those the database sees, and this test's
  // connection (counted by the port's sweep, once a second).
  json hub = Get("hub").Json();
  for (int i = 0; i < 50 && hub["connections"].get<double>() < 1; ++i) {
    absl::SleepFor(absl::Milliseconds(100));
    hub = Get("hub").Json();
  }
  ASSERT_GE(hub["replicas"].size(), 1u) << hub.dump();
  bool self = false;
  for (const json& r : hub["replicas"]) self |= r["name"] == hub["replica"];
  EXPECT_TRUE(self) << hub.dump();
  EXPECT_GE(hub["connections"].get<double>(), 1);
  EXPECT_EQ(hub["database_up"], 1);
  EXPECT_FALSE(hub["pool"].empty());

  // Seek to a time: to now, every message counts as acknowledged; to long
  // ago, every one is delivered again.
  const std::string now = absl::FormatTime(absl::RFC3339_full, absl::Now(), absl::UTCTimeZone());
  const HttpAnswer seek = Post("seek", {{"subscription", "shipping"}, {"time", now}});
  ASSERT_EQ(seek.code, 200) << seek.body;
  EXPECT_EQ(Stats("shipping").backlog_messages(), 0) << "seeking past every message acks them";
  const HttpAnswer back =
      Post("seek", {{"subscription", "shipping"}, {"time", "2000-01-01T00:00:00Z"}});
  ASSERT_EQ(back.code, 200) << back.body;
  EXPECT_EQ(Stats("shipping").backlog_messages(), 10);
  ASSERT_EQ(Post("seek", {{"subscription", "billing"}, {"snapshot", "before-fix"}}).code, 200);
  EXPECT_EQ(Post("seek", {{"subscription", "billing"}, {"snapshot", "nope"}}).code, 404);
  EXPECT_EQ(Post("seek", {{"subscription", "billing"}}).code, 400);
  EXPECT_EQ(Post("seek", {{"subscription", "billing"}, {"time", "soon"}}).code, 400);

  // Redrive: chosen dead letters back to billing alone.
  const int64_t shipping_backlog = Stats("shipping").backlog_messages();
  const HttpAnswer redrive =
      Post("redrive",
           {{"subscription", "billing"}, {"message_ids", {dead_letters_[1], dead_letters_[2]}}});
  ASSERT_EQ(redrive.code, 200) << redrive.body;
  EXPECT_EQ(redrive.Json()["message_ids"].size(), 2u);
  EXPECT_EQ(Stats("billing").dead_lettered_messages(), 1);
  EXPECT_EQ(Stats("shipping").backlog_messages(), shipping_backlog) << "shipping got none of them";
  EXPECT_EQ(Post("redrive", {{"subscription", "billing"}, {"message_ids", json::array()}}).code,
            400);
  EXPECT_EQ(Post("redrive", {{"subscription", "billing"}, {"message_ids", {1}}}).code, 400);

  // A name that is not UTF-8: refused, answered in JSON all the same.
  const HttpAnswer bytes = Get("topic?name=%FF%FE");
  EXPECT_EQ(bytes.code, 400) << bytes.body;
  EXPECT_FALSE(bytes.Json().is_discarded()) << bytes.body;

  // Not calls: an unknown path, a GET of a change, a body that is not JSON.
  EXPECT_EQ(Get("drop-everything").code, 404);
  EXPECT_EQ(Get("seek").code, 405);
  EXPECT_EQ(Http(hubd_->metrics_port(), "POST", "/console/api/seek",
                 {"Authorization: Bearer t-ops", "Content-Type: application/json",
                  "X-Hub-Csrf: " + Csrf()},
                 "{not json")
                .code,
            400);
}

// Sums a rate chart back into messages: each point is a step's rise of the
// counter over the step's seconds (1 s here).
double Messages(const json& rates) {
  double sum = 0;
  for (const json& r : rates) sum += r.get<double>();
  return sum;
}

TEST_F(ConsoleTest, TheRatesAreWhatThisReplicaCountedPerStep) {
  // 10 published by SetUp and 30 now; 10 acked on shipping.
  v1::PublishResponse published;
  grpc::ClientContext ctx;
  As(ctx);
  v1::PublishRequest request;
  request.set_topic("orders");
  for (int i = 0; i < 30; ++i) request.add_messages()->set_data("more");
  ASSERT_TRUE(publisher_->Publish(&ctx, request, &published).ok());
  v1::PullResponse pulled;
  ASSERT_TRUE(PullAs("shipping", 10, &pulled).ok());
  std::vector<std::string> acks;
  for (const auto& m : pulled.received_messages()) acks.push_back(m.ack_id());
  grpc::ClientContext ack_ctx;
  As(ack_ctx);
  v1::AcknowledgeRequest ack;
  ack.set_subscription("shipping");
  for (const std::string& id : acks) ack.add_ack_ids(id);
  v1::AcknowledgeResponse acked;
  ASSERT_TRUE(subscriber_->Acknowledge(&ack_ctx, ack, &acked).ok());
  // Two steps later every count is in a point.
  absl::SleepFor(absl::Milliseconds(2500));
  const json orders = Get("topic?name=orders").Json();
  EXPECT_NEAR(Messages(orders["published"]), 40, 4) << orders["published"].dump();
  EXPECT_NEAR(Messages(orders["subscriptions"][1]["acked"]), static_cast<double>(acks.size()), 1)
      << orders["subscriptions"][1].dump();
  EXPECT_EQ(Messages(orders["subscriptions"][0]["acked"]), 0) << "billing acked nothing";
  EXPECT_GE(orders["published"].size(), 2u);
}

TEST_F(ConsoleTest, ThePagesAreServedFromTheBinaryUnderAStrictContentPolicy) {
  HttpAnswer index = Http(hubd_->metrics_port(), "GET", "/console/");
  ASSERT_EQ(index.code, 200);
  EXPECT_NE(index.body.find("console.js"), std::string::npos);
  EXPECT_NE(index.headers["content-security-policy"].find("script-src 'self'"), std::string::npos);
  EXPECT_NE(index.headers["content-security-policy"].find("frame-ancestors 'none'"),
            std::string::npos);
  HttpAnswer script = Http(hubd_->metrics_port(), "GET", "/console/console.js");
  EXPECT_EQ(script.code, 200);
  EXPECT_EQ(script.headers["content-type"], "text/javascript; charset=utf-8");
  EXPECT_EQ(Http(hubd_->metrics_port(), "GET", "/console").code, 301);
  EXPECT_EQ(Http(hubd_->metrics_port(), "GET", "/console/nothing.js").code, 404);
}

TEST(ConsoleOffTest, HubdServesNoConsoleUnlessAskedTo) {
  const std::string url = SharedPostgres().CreateDatabase();
  HubProcess hubd(url);
  ASSERT_NO_FATAL_FAILURE(hubd.Start());
  EXPECT_EQ(Http(hubd.metrics_port(), "GET", "/console/").code, 404);
  EXPECT_EQ(Http(hubd.metrics_port(), "GET", "/console/api/estate").code, 404);
  EXPECT_EQ(Http(hubd.metrics_port(), "GET", "/healthz").code, 200);
}

// The pages in a real browser (Debian's Chromium or Firefox):
// tests/console/browser.js loads each one, compares what it shows with the
// figures below (from the RPCs), redrives two dead letters and seeks
// through the pages, fails on any JavaScript error, and leaves a screenshot
// of each page in the output folder.
void ConsoleTest::SeedTraffic() {
  // Traffic on a topic of its own, for the rate charts to draw.
  ASSERT_TRUE(CreateTopic(*publisher_, "events", "t-ops").ok());
  {
    grpc::ClientContext ctx;
    As(ctx);
    v1::Subscription sub, out;
    sub.set_name("audit");
    sub.set_topic("events");
    ASSERT_TRUE(subscriber_->CreateSubscription(&ctx, sub, &out).ok());
  }
  // Four rounds a second apart, growing, so that the lines have a shape.
  for (int round = 1; round <= 4; ++round) {
    grpc::ClientContext ctx;
    As(ctx);
    v1::PublishRequest request;
    request.set_topic("events");
    for (int i = 0; i < 10 * round; ++i) request.add_messages()->set_data("event");
    v1::PublishResponse out;
    ASSERT_TRUE(publisher_->Publish(&ctx, request, &out).ok());
    v1::PullResponse events;
    ASSERT_TRUE(PullAs("audit", 10 * round, &events).ok());
    grpc::ClientContext ack_ctx;
    As(ack_ctx);
    v1::AcknowledgeRequest ack;
    ack.set_subscription("audit");
    for (const auto& m : events.received_messages()) ack.add_ack_ids(m.ack_id());
    v1::AcknowledgeResponse acked;
    ASSERT_TRUE(subscriber_->Acknowledge(&ack_ctx, ack, &acked).ok());
    absl::SleepFor(absl::Seconds(1));
  }
}

std::string ConsoleTest::WalkIn(const std::string& browser) {
  const v1::SubscriptionStats billing = Stats("billing");
  const v1::SubscriptionStats shipping = Stats("shipping");
  const json expect = {
      {"url", absl::StrCat("http://127.0.0.1:", hubd_->metrics_port(), "/console/")},
      {"token", "t-ops"},
      {"viewer_token", "t-viewer"},
      {"billing",
       {{"backlog_messages", billing.backlog_messages()},
        {"unacked_messages", billing.unacked_messages()},
        {"dead_lettered_messages", billing.dead_lettered_messages()}}},
      {"shipping", {{"backlog_messages", shipping.backlog_messages()}}},
      {"order42", ids_[4]},
      {"redrive", {dead_letters_[0], dead_letters_[1]}},
  };
  const char* out_env = std::getenv("HUB_TEST_OUTPUT_DIR");
  const std::string out_dir = absl::StrCat(out_env != nullptr ? out_env : "/tmp", "/console");
  const std::string spec = absl::StrCat(out_dir, "/expect.json");
  RunCommand("mkdir -p " + out_dir);
  std::ofstream(spec) << expect.dump(2);

  const CommandResult run =
      RunCommand(absl::StrCat("node ", HUB_SOURCE_DIR, "/tests/console/browser.js ", spec, " ",
                              out_dir, " ", browser, " 2>&1"));
  std::cout << run.out;
  int screenshots = 0;
  for (const char* page : {"estate", "topic", "subscription", "message", "hub", "phone-estate"}) {
    screenshots += std::ifstream(absl::StrCat(out_dir, "/", browser, "-", page, ".png")).good();
  }
  const v1::SubscriptionStats billing_after = Stats("billing");
  const v1::SubscriptionStats shipping_after = Stats("shipping");
  return absl::StrCat("browser.js exit ", run.exit_code, "; billing dead-lettered ",
                      billing_after.dead_lettered_messages(), ", waiting +",
                      billing_after.backlog_messages() - billing.backlog_messages(),
                      "; shipping waiting ", shipping_after.backlog_messages(), ", in flight ",
                      shipping_after.unacked_messages(), "; screenshots ", screenshots);
}

// browser.js passed (its lines above say where it did not), and what it did
// reached the hub: two dead letters redriven to billing alone, shipping
// seeked past every message, a screenshot of each page.
constexpr char kEveryActReachedTheHub[] =
    "browser.js exit 0; billing dead-lettered 1, waiting +2; shipping waiting 0, in flight 0; "
    "screenshots 6";

TEST_F(ConsoleTest, EveryPageInChromium) {
  ASSERT_NO_FATAL_FAILURE(SeedTraffic());
  EXPECT_EQ(WalkIn("chromium"), kEveryActReachedTheHub);
}

TEST_F(ConsoleTest, EveryPageInFirefox) {
  ASSERT_NO_FATAL_FAILURE(SeedTraffic());
  EXPECT_EQ(WalkIn("firefox"), kEveryActReachedTheHub);
}

}  // namespace
}  // namespace hub::testing
