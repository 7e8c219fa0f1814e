#include "hub/group_commit.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"

namespace hub {
namespace {

struct Item {
  int value;
};

TEST(GroupCommitterTest, CallersWaitingBehindACommitShareTheNextOne) {
  absl::Notification release_first;
  std::atomic<int> commits{0};
  std::vector<size_t> batch_sizes;
  absl::Mutex mu;
  GroupCommitter<Item> committer(1, 1000, [&](absl::Span<Item* const> items) {
    if (commits++ == 0) release_first.WaitForNotification();
    absl::MutexLock lock(&mu);
    batch_sizes.push_back(items.size());
    return absl::OkStatus();
  });

  Item first{0};
  std::thread lead([&] { EXPECT_TRUE(committer.Submit(first, 1).ok()); });
  absl::SleepFor(absl::Milliseconds(50));  // the first commit is now running
  std::vector<Item> items(10, Item{1});
  std::vector<std::thread> followers;
  for (Item& item : items) {
    followers.emplace_back([&] { EXPECT_TRUE(committer.Submit(item, 1).ok()); });
  }
  absl::SleepFor(absl::Milliseconds(100));
  release_first.Notify();
  lead.join();
  for (auto& t : followers) t.join();

  absl::MutexLock lock(&mu);
  ASSERT_EQ(batch_sizes.size(), 2u);
  EXPECT_EQ(batch_sizes[0], 1u);
  EXPECT_EQ(batch_sizes[1], 10u);
}

TEST(GroupCommitterTest, BatchStopsAtMaxWeightButAlwaysTakesOne) {
  std::vector<size_t> batch_sizes;
  absl::Mutex mu;
  absl::Notification release;
  std::atomic<int> commits{0};
  GroupCommitter<Item> committer(1, 10, [&](absl::Span<Item* const> items) {
    if (commits++ == 0) release.WaitForNotification();
    absl::MutexLock lock(&mu);
    batch_sizes.push_back(items.size());
    return absl::OkStatus();
  });
  Item blocker{0};
  std::thread lead([&] { EXPECT_TRUE(committer.Submit(blocker, 1).ok()); });
  absl::SleepFor(absl::Milliseconds(50));
  std::vector<Item> items(3, Item{1});
  std::vector<std::thread> followers;
  // Weights 6, 6, 20: no two fit in 10 together; 20 alone exceeds it.
  const size_t weights[] = {6, 6, 20};
  for (int i = 0; i < 3; ++i) {
    followers.emplace_back([&, i] { EXPECT_TRUE(committer.Submit(items[i], weights[i]).ok()); });
    absl::SleepFor(absl::Milliseconds(20));
  }
  release.Notify();
  lead.join();
  for (auto& t : followers) t.join();
  absl::MutexLock lock(&mu);
  EXPECT_EQ(batch_sizes, (std::vector<size_t>{1, 1, 1, 1}));
}

TEST(GroupCommitterTest, EveryCallerOfAFailedBatchGetsItsError) {
  GroupCommitter<Item> committer(
      1, 100, [](absl::Span<Item* const>) { return absl::UnavailableError("database down"); });
  Item item{1};
  EXPECT_EQ(committer.Submit(item, 1).code(), absl::StatusCode::kUnavailable);
}

// Two workers: while one commits topic A, the other takes B but leaves A's
// later items queued for one batch of their own, never a second
// transaction that would wait on A's lock.
TEST(GroupCommitterTest, ItemsOfOneKeyNeverCommitInTwoBatchesAtOnce) {
  struct Keyed {
    std::string key;
  };
  absl::Mutex mu;
  std::map<std::string, int> in_flight;
  int overlap = 0;
  std::vector<std::vector<std::string>> batches;
  absl::Notification release_first;
  std::atomic<int> commits{0};
  GroupCommitter<Keyed> committer(
      2, 100,
      [&](absl::Span<Keyed* const> items) {
        const bool first = commits++ == 0;
        {
          absl::MutexLock lock(&mu);
          std::vector<std::string> keys;
          for (const Keyed* k : items) keys.push_back(k->key);
          for (const std::string& key : std::set<std::string>(keys.begin(), keys.end())) {
            if (++in_flight[key] > 1) ++overlap;
          }
          batches.push_back(keys);
        }
        if (first) release_first.WaitForNotificationWithTimeout(absl::Seconds(5));
        absl::MutexLock lock(&mu);
        for (const Keyed* k : items) in_flight[k->key] = 0;
        return absl::OkStatus();
      },
      [](const Keyed& k) { return k.key; });

  Keyed a1{"a"};
  std::thread lead([&] { EXPECT_TRUE(committer.Submit(a1, 1).ok()); });
  absl::SleepFor(absl::Milliseconds(50));  // a1 is committing on one worker
  std::vector<Keyed> later = {{"a"}, {"a"}, {"b"}};
  std::vector<std::thread> others;
  for (Keyed& k : later) others.emplace_back([&] { EXPECT_TRUE(committer.Submit(k, 1).ok()); });
  absl::SleepFor(absl::Milliseconds(100));
  {
    absl::MutexLock lock(&mu);
    // b went ahead on the second worker; the a's wait for the first.
    ASSERT_EQ(batches.size(), 2u);
    EXPECT_EQ(batches[1], std::vector<std::string>{"b"});
  }
  release_first.Notify();
  lead.join();
  for (std::thread& t : others) t.join();
  absl::MutexLock lock(&mu);
  EXPECT_EQ(overlap, 0);
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[2], (std::vector<std::string>{"a", "a"}));
}

// With per_key 2, a key's items go into two batches at once and no more:
// a third item waits for one of them even while a worker is free.
TEST(GroupCommitterTest, AKeyIsInAtMostPerKeyBatchesAtOnce) {
  struct Keyed {
    std::string key;
  };
  absl::Mutex mu;
  int in_flight = 0;
  int most = 0;
  int batches = 0;
  absl::Notification release;
  GroupCommitter<Keyed> committer(
      3, 100,
      [&](absl::Span<Keyed* const>) {
        {
          absl::MutexLock lock(&mu);
          ++batches;
          most = std::max(most, ++in_flight);
        }
        release.WaitForNotificationWithTimeout(absl::Seconds(5));
        absl::MutexLock lock(&mu);
        --in_flight;
        return absl::OkStatus();
      },
      [](const Keyed& k) { return k.key; }, /*per_key=*/2);

  std::vector<Keyed> items = {{"a"}, {"a"}, {"a"}};
  std::vector<std::thread> callers;
  for (Keyed& k : items) {
    callers.emplace_back([&] { EXPECT_TRUE(committer.Submit(k, 1).ok()); });
    absl::SleepFor(absl::Milliseconds(50));  // each is taken before the next comes
  }
  {
    absl::MutexLock lock(&mu);
    EXPECT_EQ(batches, 2);  // the third waits, though a worker is idle
  }
  release.Notify();
  for (std::thread& t : callers) t.join();
  absl::MutexLock lock(&mu);
  EXPECT_EQ(batches, 3);
  EXPECT_EQ(most, 2);
}

TEST(GroupCommitterTest, SubmitAfterStopIsUnavailable) {
  GroupCommitter<Item> committer(2, 100, [](absl::Span<Item* const>) { return absl::OkStatus(); });
  committer.Stop();
  Item item{1};
  EXPECT_EQ(committer.Submit(item, 1).code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace hub
