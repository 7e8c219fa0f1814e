#include "hub/group_commit.h"

#include <atomic>
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
  GroupCommitter<Item> committer(1, 100, [](absl::Span<Item* const>) {
    return absl::UnavailableError("database down");
  });
  Item item{1};
  EXPECT_EQ(committer.Submit(item, 1).code(), absl::StatusCode::kUnavailable);
}

TEST(GroupCommitterTest, SubmitAfterStopIsUnavailable) {
  GroupCommitter<Item> committer(2, 100,
                                 [](absl::Span<Item* const>) { return absl::OkStatus(); });
  committer.Stop();
  Item item{1};
  EXPECT_EQ(committer.Submit(item, 1).code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace hub
