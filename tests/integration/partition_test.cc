// Partitions and slow links (docs/reliability.md, "Partitions"), made by a
// fault-injecting TCP proxy (tests/support/fault_proxy.h) between a client
// and hubd, or between hubd and PostgreSQL. What must hold: publishes in a
// partition fail with UNAVAILABLE or DEADLINE_EXCEEDED and a retry with the
// same idempotency keys stores nothing twice; leases of a consumer cut off
// from the hub expire and go to another; an exactly-once ack that crossed
// the partition is OK at most once.
#include <algorithm>
#include <atomic>
#include <map>
#include <set>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "tests/support/fault_proxy.h"
#include "tests/support/hub_client.h"
#include "tests/support/keyed_publisher.h"
#include "tests/support/test_env.h"

namespace hub::testing {
namespace {

std::vector<std::string> AckIds(const v1::PullResponse& response) {
  std::vector<std::string> ids;
  for (const v1::ReceivedMessage& m : response.received_messages()) ids.push_back(m.ack_id());
  return ids;
}

// Acknowledge on `stub`, giving up after `deadline`.
grpc::Status AckWithin(v1::Subscriber::Stub& stub, const std::vector<std::string>& ack_ids,
                       absl::Duration deadline, v1::AcknowledgeResponse* response) {
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  v1::AcknowledgeRequest request;
  request.set_subscription("billing");
  for (const std::string& id : ack_ids) request.add_ack_ids(id);
  return stub.Acknowledge(&ctx, request, response);
}

int CountOk(const v1::AcknowledgeResponse& response) {
  int ok = 0;
  for (const v1::AckResult& r : response.results()) ok += r.status() == v1::OK;
  return ok;
}

class PartitionTest : public ::testing::Test {
 protected:
  void SetUp() override { url_ = SharedPostgres().CreateDatabase(); }

  // url_, reached through `link`.
  std::string Through(const FaultProxy& link) const {
    return absl::StrReplaceAll(url_, {{absl::StrCat(":", SharedPostgres().port(), "/"),
                                       absl::StrCat(":", link.port(), "/")}});
  }

  void StartHub(const std::string& database_url) {
    hubd_ = std::make_unique<HubProcess>(database_url);
    ASSERT_NO_FATAL_FAILURE(hubd_->Start());
  }

  std::string url_;
  std::unique_ptr<HubProcess> hubd_;
};

// A consumer pulls ten messages of an exactly-once subscription through a
// link that then partitions; it acks them into the partition. Its leases
// run out, a second consumer gets the ten and acks them OK. When the link
// heals, the first consumer's acks arrive late: none may be OK.
TEST_F(PartitionTest, ConsumerCutOffFromTheHubLosesItsLeasesAndItsLateAcks) {
  ASSERT_NO_FATAL_FAILURE(StartHub(url_));
  auto publisher = hubd_->Publisher();
  ASSERT_TRUE(CreateTopic(*publisher, "orders").ok());
  {
    grpc::ClientContext ctx;
    v1::Subscription sub, out;
    sub.set_name("billing");
    sub.set_topic("orders");
    sub.set_ack_deadline_seconds(2);
    sub.set_delivery_guarantee(v1::EXACTLY_ONCE);
    ASSERT_TRUE(hubd_->Subscriber()->CreateSubscription(&ctx, sub, &out).ok());
  }
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(PublishOne(*publisher, "orders", "m", "").ok());

  FaultProxy link(std::stoi(hubd_->address().substr(hubd_->address().rfind(':') + 1)));
  auto cut_off = v1::Subscriber::NewStub(MakeChannel(absl::StrCat("127.0.0.1:", link.port())));
  v1::PullResponse first;
  ASSERT_TRUE(Pull(*cut_off, "billing", 10, absl::Seconds(5), &first).ok());
  ASSERT_EQ(first.received_messages_size(), 10);

  link.Set(FaultProxy::Mode::kPartition);
  v1::AcknowledgeResponse late;
  grpc::Status late_status;
  std::thread acker(
      [&] { late_status = AckWithin(*cut_off, AckIds(first), absl::Seconds(30), &late); });

  // The other consumer gets all ten once their 2 s leases ran out.
  auto other = hubd_->Subscriber();
  std::map<std::string, std::string> redelivered;  // message id -> ack id
  const absl::Time end = absl::Now() + absl::Seconds(20);
  while (redelivered.size() < 10 && absl::Now() < end) {
    v1::PullResponse response;
    ASSERT_TRUE(Pull(*other, "billing", 10, absl::Seconds(1), &response).ok());
    for (const v1::ReceivedMessage& m : response.received_messages()) {
      redelivered[m.message().message_id()] = m.ack_id();
    }
  }
  ASSERT_EQ(redelivered.size(), 10u) << "the cut-off consumer's leases did not expire";
  std::vector<std::string> ids;
  for (const auto& [id, ack_id] : redelivered) ids.push_back(ack_id);
  v1::AcknowledgeResponse second;
  ASSERT_TRUE(AckWithin(*other, ids, absl::Seconds(10), &second).ok());
  EXPECT_EQ(CountOk(second), 10);

  link.Set(FaultProxy::Mode::kPass);
  acker.join();
  // The late acks reached hubd after the heal, or gave up at their
  // deadline; either way none of them settled anything.
  if (late_status.ok()) {
    EXPECT_EQ(late.results_size(), 10);
    EXPECT_EQ(CountOk(late), 0);
  } else {
    EXPECT_EQ(late_status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED)
        << late_status.error_message();
  }
  EXPECT_EQ(QueryValue(url_, "SELECT count(*) FROM leases"), "0");
}

// hubd's link to PostgreSQL partitions for 10 s under a publisher that
// retries each message with its idempotency key until it is acknowledged.
// In the partition every answer is UNAVAILABLE or DEADLINE_EXCEEDED; after
// it publishing resumes by itself, and each message is stored once.
TEST_F(PartitionTest, HubdCutOffFromPostgresForTenSeconds) {
  FaultProxy link(SharedPostgres().port());
  ASSERT_NO_FATAL_FAILURE(StartHub(Through(link)));
  auto publisher = hubd_->Publisher();
  ASSERT_TRUE(CreateTopic(*publisher, "orders").ok());

  KeyedPublisher load(*hubd_);
  const absl::Time warm_up = absl::Now() + absl::Seconds(10);
  while (load.acked() < 100 && absl::Now() < warm_up) absl::SleepFor(absl::Milliseconds(20));
  ASSERT_GE(load.acked(), 100);
  link.Set(FaultProxy::Mode::kPartition);
  const absl::Time partitioned = absl::Now();
  absl::SleepFor(absl::Seconds(10));
  link.Set(FaultProxy::Mode::kPass);
  const absl::Time healed = absl::Now();
  const int64_t at_heal = load.acked();
  const absl::Time end = absl::Now() + absl::Seconds(30);
  while (load.acked() < at_heal + 100 && absl::Now() < end) absl::SleepFor(absl::Milliseconds(20));
  load.Stop();
  const int64_t acked = load.acked();

  EXPECT_GE(acked, at_heal + 100) << "publishing did not resume after the partition healed";
  for (const auto& [error, n] : load.errors()) {
    const int code = std::stoi(error.substr(0, error.find(' ')));
    EXPECT_TRUE(code == grpc::StatusCode::UNAVAILABLE ||
                code == grpc::StatusCode::DEADLINE_EXCEEDED)
        << n << " answers " << error;
  }
  int failed_inside = 0, ok_inside = 0;
  for (const KeyedPublisher::Answer& a : load.answers()) {
    if (a.at < partitioned + absl::Seconds(1) || a.at > healed) continue;
    (a.ok ? ok_inside : failed_inside) += 1;
  }
  EXPECT_GT(failed_inside, 0) << "the partition did not reach hubd";
  EXPECT_EQ(ok_inside, 0) << "acknowledged while hubd could not reach its database";
  // Every acknowledged key stored once, and nothing else.
  EXPECT_EQ(QueryValue(url_, kCountStoredMessages), std::to_string(acked));
  EXPECT_EQ(QueryValue(url_, "SELECT count(DISTINCT idempotency_key) FROM publish_keys"),
            std::to_string(acked));
}

// Every connection between hubd and PostgreSQL reset (a cut cable, a
// firewall that forgot them), five times a second apart, under a keyed
// publisher: calls on them fail UNAVAILABLE, the next ones open new
// connections, and every acknowledged key is stored once.
TEST_F(PartitionTest, ConnectionsToPostgresResetUnderLoad) {
  FaultProxy link(SharedPostgres().port());
  ASSERT_NO_FATAL_FAILURE(StartHub(Through(link)));
  ASSERT_TRUE(CreateTopic(*hubd_->Publisher(), "orders").ok());
  KeyedPublisher load(*hubd_);
  for (int cut = 0; cut < 5; ++cut) {
    absl::SleepFor(absl::Seconds(1));
    link.Cut();
  }
  const int64_t at_last_cut = load.acked();
  const absl::Time end = absl::Now() + absl::Seconds(20);
  while (load.acked() < at_last_cut + 100 && absl::Now() < end) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  load.Stop();
  const int64_t acked = load.acked();
  EXPECT_GE(acked, at_last_cut + 100) << "publishing did not go on after the cuts";
  EXPECT_GT(link.accepted(), 5) << "hubd did not open new connections";
  for (const auto& [error, n] : load.errors()) {
    EXPECT_EQ(error.substr(0, error.find(' ')), std::to_string(grpc::StatusCode::UNAVAILABLE))
        << n << " answers " << error;
  }
  EXPECT_EQ(QueryValue(url_, kCountStoredMessages), std::to_string(acked));
  EXPECT_EQ(QueryValue(url_, "SELECT count(DISTINCT idempotency_key) FROM publish_keys"),
            std::to_string(acked));
}

// A slow link to PostgreSQL (each chunk held 20 ms each way): publishes
// take at least the round trip, and none fails.
TEST_F(PartitionTest, SlowLinkToPostgresSlowsPublishesAndFailsNone) {
  FaultProxy link(SharedPostgres().port());
  ASSERT_NO_FATAL_FAILURE(StartHub(Through(link)));
  auto publisher = hubd_->Publisher();
  ASSERT_TRUE(CreateTopic(*publisher, "orders").ok());
  link.SetDelay(absl::Milliseconds(20));
  absl::Duration fastest = absl::InfiniteDuration();
  for (int i = 0; i < 20; ++i) {
    const absl::Time start = absl::Now();
    ASSERT_TRUE(PublishOne(*publisher, "orders", absl::StrCat("m", i), "").ok());
    fastest = std::min(fastest, absl::Now() - start);
  }
  EXPECT_GE(fastest, absl::Milliseconds(40)) << "the delay did not reach the publishes";
  EXPECT_EQ(QueryValue(url_, kCountStoredMessages), "20");
}

}  // namespace
}  // namespace hub::testing
