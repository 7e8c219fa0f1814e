// Exactly-once processing across hubd crashes: acks answered OK are final,
// and a Transact pipeline produces each output exactly once.
#include <atomic>
#include <cstdio>
#include <functional>
#include <map>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "tests/support/hub_test.h"

namespace hub::testing {
namespace {

class ExactlyOnceTest : public HubTest {
 protected:
  grpc::Status CreateExactlyOnce(const std::string& name, const std::string& topic,
                                 int ack_deadline) {
    grpc::ClientContext ctx;
    v1::Subscription sub;
    sub.set_name(name);
    sub.set_topic(topic);
    sub.set_delivery_guarantee(v1::EXACTLY_ONCE);
    sub.set_ack_deadline_seconds(ack_deadline);
    v1::Subscription out;
    return subscriber_->CreateSubscription(&ctx, sub, &out);
  }

  void PublishNumbered(const std::string& topic, int count) {
    for (int i = 0; i < count; i += 500) {
      v1::PublishRequest req;
      req.set_topic(topic);
      for (int j = i; j < std::min(count, i + 500); ++j) {
        req.add_messages()->set_data(absl::StrCat(j));
      }
      grpc::ClientContext ctx;
      v1::PublishResponse resp;
      ASSERT_TRUE(publisher_->Publish(&ctx, req, &resp).ok());
    }
  }

  // Four threads pull `batch` messages at a time and hand each response to
  // `handle` until `stop`; a failed pull is counted in `failures` and tried
  // again, on a fresh connection, as a client would.
  using Handle = std::function<void(v1::Subscriber::Stub&, const v1::PullResponse&)>;
  std::vector<std::thread> StartPullers(const std::string& sub, int batch, std::atomic<bool>& stop,
                                        std::atomic<int>& failures, Handle handle) {
    std::vector<std::thread> workers;
    for (int w = 0; w < 4; ++w) {
      workers.emplace_back([this, sub, batch, handle, &stop, &failures] {
        while (!stop) {
          auto stub = v1::Subscriber::NewStub(hubd_->Channel());
          v1::PullResponse resp;
          if (!Pull(*stub, sub, batch, absl::Milliseconds(200), &resp).ok()) {
            ++failures;
            absl::SleepFor(absl::Milliseconds(100));
            continue;
          }
          handle(*stub, resp);
        }
      });
    }
    return workers;
  }

  // Kills hubd with SIGKILL and starts it again on the same port.
  void Crash() {
    hubd_->Kill();
    absl::SleepFor(absl::Milliseconds(300));
    ASSERT_NO_FATAL_FAILURE(hubd_->Start());
  }
};

// Four pullers ack with Acknowledge and record the outcome; hubd is killed
// and restarted twice. A message whose ack returned OK must never be
// delivered after that moment.
TEST_F(ExactlyOnceTest, AnAckAnsweredOkIsFinalAcrossKillNine) {
  constexpr int kMessages = 5000;
  ASSERT_TRUE(CreateTopic(*publisher_, "orders").ok());
  ASSERT_TRUE(CreateExactlyOnce("exact", "orders", 2).ok());
  ASSERT_NO_FATAL_FAILURE(PublishNumbered("orders", kMessages));

  absl::Mutex mu;
  std::map<std::string, absl::Time> acked_ok;                  // message id -> when OK came back
  std::vector<std::pair<std::string, absl::Time>> deliveries;  // id, when received
  std::atomic<bool> stop{false};
  std::atomic<int> call_failures{0};
  std::vector<std::thread> workers =
      StartPullers("exact", 10, stop, call_failures,
                   [&](v1::Subscriber::Stub& stub, const v1::PullResponse& resp) {
                     const absl::Time received = absl::Now();
                     grpc::ClientContext ctx;
                     v1::AcknowledgeRequest req;
                     req.set_subscription("exact");
                     std::map<std::string, std::string> id_of;
                     for (const auto& m : resp.received_messages()) {
                       req.add_ack_ids(m.ack_id());
                       id_of[m.ack_id()] = m.message().message_id();
                     }
                     {
                       absl::MutexLock lock(&mu);
                       for (const auto& m : resp.received_messages()) {
                         deliveries.emplace_back(m.message().message_id(), received);
                       }
                     }
                     if (req.ack_ids_size() == 0) return;
                     // Paced, so that both kills land in the middle of the run.
                     absl::SleepFor(absl::Milliseconds(20));
                     v1::AcknowledgeResponse out;
                     if (!stub.Acknowledge(&ctx, req, &out).ok()) {
                       ++call_failures;  // outcome unknown: the lease decides
                       return;
                     }
                     const absl::Time answered = absl::Now();
                     absl::MutexLock lock(&mu);
                     for (const auto& r : out.results()) {
                       if (r.status() == v1::OK) {
                         EXPECT_TRUE(acked_ok.emplace(id_of[r.ack_id()], answered).second)
                             << "two OK acks for message " << id_of[r.ack_id()];
                       }
                     }
                   });
  auto ok_so_far = [&] {
    absl::MutexLock lock(&mu);
    return acked_ok.size();
  };
  absl::SleepFor(absl::Milliseconds(700));
  ASSERT_LT(ok_so_far(), static_cast<size_t>(kMessages)) << "the run ended before the kill";
  ASSERT_NO_FATAL_FAILURE(Crash());
  absl::SleepFor(absl::Milliseconds(700));
  ASSERT_LT(ok_so_far(), static_cast<size_t>(kMessages)) << "the run ended before the kill";
  ASSERT_NO_FATAL_FAILURE(Crash());

  // Drain: done when nothing is left in flight or behind the cursor.
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (absl::Now() < deadline &&
         (CountRows("SELECT count(*) FROM leases") != 0 ||
          CountRows("SELECT c.next_position FROM subscription_cursors c") !=
              CountRows("SELECT next_position FROM topic_heads"))) {
    absl::SleepFor(absl::Milliseconds(200));
  }
  absl::SleepFor(absl::Seconds(3));  // a late redelivery would show now
  stop = true;
  for (auto& t : workers) t.join();

  absl::MutexLock lock(&mu);
  int delivered_after_ok = 0;
  std::set<std::string> delivered;
  for (const auto& [id, when] : deliveries) {
    delivered.insert(id);
    auto ok = acked_ok.find(id);
    if (ok != acked_ok.end() && when > ok->second) ++delivered_after_ok;
  }
  EXPECT_EQ(delivered_after_ok, 0);
  EXPECT_EQ(delivered.size(), static_cast<size_t>(kMessages));
  EXPECT_EQ(CountRows("SELECT count(*) FROM leases"), 0);
  std::printf(
      "[ figures ] exactly-once: %d messages, %zu deliveries, %zu acks answered OK, "
      "%d failed calls during 2 kills, 0 deliveries after an OK\n",
      kMessages, deliveries.size(), acked_ok.size(), call_failures.load());
}

// consume-transform-produce: each input is acked and its output published in
// one Transact. hubd is killed twice mid-run; a call whose outcome is
// unknown is retried with the same ack id, and ABORTED means "already done
// or given to someone else". The output holds each input exactly once.
TEST_F(ExactlyOnceTest, TransactPipelineProducesEachOutputOnceAcrossKills) {
  constexpr int kMessages = 5000;
  ASSERT_TRUE(CreateTopic(*publisher_, "inputs").ok());
  ASSERT_TRUE(CreateTopic(*publisher_, "outputs").ok());
  ASSERT_TRUE(CreateExactlyOnce("transform", "inputs", 3).ok());
  ASSERT_NO_FATAL_FAILURE(PublishNumbered("inputs", kMessages));

  std::atomic<bool> stop{false};
  std::atomic<int> committed{0}, aborted{0}, unknown{0};
  auto transact = [&](v1::Subscriber::Stub& stub, const v1::ReceivedMessage& m) {
    for (int attempt = 0; attempt < 50 && !stop; ++attempt) {
      grpc::ClientContext ctx;
      ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
      v1::TransactRequest req;
      req.set_subscription("transform");
      req.add_ack_ids(m.ack_id());
      v1::PublishRequest* out = req.add_publishes();
      out->set_topic("outputs");
      // No idempotency key: exactness must come from Transact alone.
      out->add_messages()->set_data(absl::StrCat("out-", m.message().data()));
      v1::TransactResponse resp;
      const grpc::Status s = stub.Transact(&ctx, req, &resp);
      if (s.ok()) {
        ++committed;
        return;
      }
      if (s.error_code() == grpc::StatusCode::ABORTED) {
        ++aborted;
        return;
      }
      ++unknown;
      absl::SleepFor(absl::Milliseconds(100));
    }
  };
  std::atomic<int> pull_failures{0};
  std::vector<std::thread> workers =
      StartPullers("transform", 20, stop, pull_failures,
                   [&](v1::Subscriber::Stub& stub, const v1::PullResponse& resp) {
                     for (const auto& m : resp.received_messages()) transact(stub, m);
                   });
  const std::string outputs =
      "SELECT count(*) FROM hub_messages WHERE topic_id = "
      "(SELECT id FROM topics WHERE name = 'outputs')";
  absl::SleepFor(absl::Seconds(1));
  ASSERT_LT(CountRows(outputs), kMessages) << "the run ended before the kill";
  ASSERT_NO_FATAL_FAILURE(Crash());
  absl::SleepFor(absl::Seconds(1));
  ASSERT_LT(CountRows(outputs), kMessages) << "the run ended before the kill";
  ASSERT_NO_FATAL_FAILURE(Crash());

  const absl::Time deadline = absl::Now() + absl::Seconds(90);
  auto done = [&] {
    return CountRows("SELECT count(*) FROM leases") == 0 &&
           CountRows(
               "SELECT c.next_position FROM subscription_cursors c JOIN subscriptions s "
               "ON s.id = c.subscription_id WHERE s.name = 'transform'") ==
               CountRows(
                   "SELECT h.next_position FROM topic_heads h JOIN topics t "
                   "ON t.id = h.topic_id WHERE t.name = 'inputs'");
  };
  while (absl::Now() < deadline && !done()) absl::SleepFor(absl::Milliseconds(200));
  stop = true;
  for (auto& t : workers) t.join();

  const std::string out_topic = "(SELECT id FROM topics WHERE name = 'outputs')";
  EXPECT_EQ(CountRows("SELECT count(*) FROM hub_messages WHERE topic_id = " + out_topic),
            kMessages);
  EXPECT_EQ(
      CountRows("SELECT count(DISTINCT data) FROM hub_messages WHERE topic_id = " + out_topic),
      kMessages);
  EXPECT_TRUE(done()) << "inputs left unacknowledged";
  std::printf(
      "[ figures ] Transact pipeline: %d inputs -> %lld outputs across 2 kills; "
      "%d committed, %d aborted, %d unknown outcomes retried\n",
      kMessages,
      static_cast<long long>(
          CountRows("SELECT count(*) FROM hub_messages WHERE topic_id = " + out_topic)),
      committed.load(), aborted.load(), unknown.load());
}

TEST_F(ExactlyOnceTest, TransactWithAStaleAckAppliesNothing) {
  ASSERT_TRUE(CreateTopic(*publisher_, "inputs").ok());
  ASSERT_TRUE(CreateTopic(*publisher_, "outputs").ok());
  ASSERT_TRUE(CreateExactlyOnce("transform", "inputs", 60).ok());
  ASSERT_NO_FATAL_FAILURE(PublishNumbered("inputs", 2));
  v1::PullResponse resp;
  ASSERT_TRUE(Pull(*subscriber_, "transform", 2, absl::Seconds(2), &resp).ok());
  ASSERT_EQ(resp.received_messages_size(), 2);

  grpc::ClientContext ctx;
  v1::TransactRequest req;
  req.set_subscription("transform");
  req.add_ack_ids(resp.received_messages(0).ack_id());
  req.add_ack_ids("12345-1-1");  // not a delivery of ours
  v1::PublishRequest* out = req.add_publishes();
  out->set_topic("outputs");
  out->add_messages()->set_data("x");
  v1::TransactResponse tresp;
  EXPECT_EQ(subscriber_->Transact(&ctx, req, &tresp).error_code(), grpc::StatusCode::ABORTED);
  EXPECT_EQ(CountRows("SELECT count(*) FROM hub_messages WHERE topic_id = "
                      "(SELECT id FROM topics WHERE name = 'outputs')"),
            0);
  // The good ack was not applied either.
  grpc::ClientContext ctx2;
  req.clear_ack_ids();
  req.add_ack_ids(resp.received_messages(0).ack_id());
  ASSERT_TRUE(subscriber_->Transact(&ctx2, req, &tresp).ok());
  ASSERT_EQ(tresp.ack_results_size(), 1);
  EXPECT_EQ(tresp.ack_results(0).status(), v1::OK);
  ASSERT_EQ(tresp.publish_results_size(), 1);
  EXPECT_EQ(tresp.publish_results(0).results_size(), 1);
}

}  // namespace
}  // namespace hub::testing
