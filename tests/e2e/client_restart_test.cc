// 100,000 messages through the client library's Publisher and Subscriber
// while hubd is killed with SIGKILL and restarted: every publish is answered
// OK, each message is stored once and received.
#include <atomic>
#include <cstdio>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "client/admin_client.h"
#include "client/publisher.h"
#include "client/subscriber.h"
#include "tests/support/hub_test.h"

namespace hub::testing {
namespace {

using ClientRestartTest = HubTest;

TEST_F(ClientRestartTest, HundredThousandMessagesSurviveAKillNine) {
  constexpr int kMessages = 100000;
  ASSERT_TRUE(CreateTopic(*publisher_, "orders").ok());
  ASSERT_TRUE(CreateSubscription(*subscriber_, "billing", "orders", 10).ok());
  absl::StatusOr<client::Connection> conn =
      client::Connection::Open({.endpoint = hubd_->address()});
  ASSERT_TRUE(conn.ok());

  absl::Mutex mu;
  absl::flat_hash_map<std::string, int> received;
  int64_t deliveries = 0;
  client::Subscriber subscriber(*conn, "billing");
  client::SubscriberSession session =
      subscriber.Subscribe([&](client::Message m, client::AckHandler h) {
        std::move(h).Ack();
        absl::MutexLock lock(&mu);
        ++received[m.data];
        ++deliveries;
      });

  std::atomic<int> answered_ok{0}, failed{0}, submitted{0};
  const absl::Time start = absl::Now();
  std::thread publishing([&] {
    client::Publisher publisher(*conn, "orders");
    for (int i = 0; i < kMessages; ++i) {
      publisher.Publish(
          {.data = absl::StrCat("m", i)},
          [&](absl::StatusOr<client::PublishAck> ack) { (ack.ok() ? answered_ok : failed)++; });
      ++submitted;
    }
  });  // the Publisher's destructor waits for every answer
  // The restart happens on this thread: a hubd started by a thread that
  // then ends would die with it (PR_SET_PDEATHSIG follows the thread).
  while (submitted.load() < 30000) absl::SleepFor(absl::Milliseconds(5));
  const int ok_at_kill = answered_ok.load();
  size_t received_at_kill;
  {
    absl::MutexLock lock(&mu);
    received_at_kill = received.size();
  }
  hubd_->Kill();
  absl::SleepFor(absl::Milliseconds(500));
  ASSERT_NO_FATAL_FAILURE(hubd_->Start());
  publishing.join();
  const absl::Duration publish_time = absl::Now() - start;

  EXPECT_EQ(answered_ok.load(), kMessages);
  EXPECT_EQ(failed.load(), 0);
  // The kill landed mid-run for both sides.
  EXPECT_GT(ok_at_kill, 0);
  EXPECT_LT(ok_at_kill, kMessages);
  EXPECT_LT(received_at_kill, static_cast<size_t>(kMessages));

  const absl::Time deadline = absl::Now() + absl::Seconds(120);
  for (;;) {
    {
      absl::MutexLock lock(&mu);
      if (received.size() == static_cast<size_t>(kMessages) || absl::Now() > deadline) break;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  const absl::Duration total_time = absl::Now() - start;
  session.Stop();

  absl::MutexLock lock(&mu);
  EXPECT_EQ(received.size(), static_cast<size_t>(kMessages));
  for (int i = 0; i < kMessages; ++i) {
    if (!received.contains(absl::StrCat("m", i))) {
      ADD_FAILURE() << "lost m" << i;
      break;
    }
  }
  // Retries after the kill reused their idempotency keys: nothing stored twice.
  EXPECT_EQ(StoredMessages(), kMessages);
  std::printf(
      "published %d in %s, all received in %s; %lld deliveries (%lld redelivered), "
      "%d answered before the kill, %zu received before it\n",
      kMessages, absl::FormatDuration(publish_time).c_str(),
      absl::FormatDuration(total_time).c_str(), static_cast<long long>(deliveries),
      static_cast<long long>(deliveries - kMessages), ok_at_kill, received_at_kill);
}

}  // namespace
}  // namespace hub::testing
