#ifndef HUB_GROUP_COMMIT_H_
#define HUB_GROUP_COMMIT_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"

namespace hub {

// Coalesces concurrent callers into shared transactions (group commit).
// Callers block in Submit; a worker takes everything queued (up to
// `max_weight`, at least one item), commits it with one call of `commit`,
// and releases every caller of that batch with the batch's status. While a
// worker commits, new callers queue up and form the next batch, so the batch
// size grows with load by itself and a lone caller waits for no timer.
//
// With `key_of`, items of one key are in at most `per_key` workers' batches
// at once: a topic's publishes overlap in up to that many transactions
// (each writes its rows while the one before it commits; docs/design.md,
// "Positions"), and what queues beyond that goes into the next transaction
// whole instead of into more, smaller ones.
template <typename Item>
class GroupCommitter {
 public:
  using CommitFn = std::function<absl::Status(absl::Span<Item* const>)>;
  using KeyFn = std::function<std::string(const Item&)>;

  GroupCommitter(int workers, size_t max_weight, CommitFn commit, KeyFn key_of = nullptr,
                 int per_key = 1)
      : max_weight_(max_weight),
        commit_(std::move(commit)),
        key_of_(std::move(key_of)),
        per_key_(per_key) {
    for (int i = 0; i < workers; ++i) {
      workers_.emplace_back([this] { Work(); });
    }
  }

  ~GroupCommitter() { Stop(); }

  GroupCommitter(const GroupCommitter&) = delete;
  GroupCommitter& operator=(const GroupCommitter&) = delete;

  // Blocks until `item` was committed (or failed). After Stop, UNAVAILABLE.
  absl::Status Submit(Item& item, size_t weight) {
    std::future<absl::Status> done;
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return absl::UnavailableError("the hub is shutting down");
      queue_.push_back(Entry{&item, weight, key_of_ ? key_of_(item) : std::string(), {}});
      done = queue_.back().done.get_future();
    }
    return done.get();
  }

  // Commits what is queued, then stops the workers.
  void Stop() {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    for (std::thread& t : workers_) t.join();
  }

 private:
  struct Entry {
    Item* item;
    size_t weight;
    std::string key;
    std::promise<absl::Status> done;
  };

  // Whether `key` is in as many workers' batches as it may be.
  bool Full(const std::string& key) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto it = busy_keys_.find(key);
    return it != busy_keys_.end() && it->second >= per_key_;
  }

  // Whether an item waits whose key is not full.
  bool HasWork() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (const Entry& e : queue_) {
      if (!Full(e.key)) return true;
    }
    return false;
  }

  void Work() {
    std::vector<Entry> batch;
    std::vector<Item*> items;
    std::set<std::string> keys;
    for (;;) {
      batch.clear();
      items.clear();
      keys.clear();
      {
        absl::MutexLock lock(&mu_);
        auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
          return HasWork() || (stopping_ && queue_.empty());
        };
        mu_.Await(absl::Condition(&ready));
        if (queue_.empty()) return;  // stopping and drained
        size_t weight = 0;
        for (auto it = queue_.begin(); it != queue_.end();) {
          if (!batch.empty() && weight + it->weight > max_weight_) break;
          if (keys.count(it->key) == 0 && Full(it->key)) {  // other workers have it
            ++it;
            continue;
          }
          weight += it->weight;
          if (key_of_) keys.insert(it->key);
          batch.push_back(std::move(*it));
          it = queue_.erase(it);
        }
        for (const std::string& key : keys) ++busy_keys_[key];
      }
      for (Entry& e : batch) items.push_back(e.item);
      const absl::Status status = commit_(absl::MakeConstSpan(items));
      for (Entry& e : batch) e.done.set_value(status);
      absl::MutexLock lock(&mu_);
      for (const std::string& key : keys) {
        if (--busy_keys_[key] == 0) busy_keys_.erase(key);
      }
    }
  }

  const size_t max_weight_;
  const CommitFn commit_;
  const KeyFn key_of_;
  const int per_key_;
  absl::Mutex mu_;
  std::deque<Entry> queue_ ABSL_GUARDED_BY(mu_);
  // Keys in some worker's batch right now, and in how many.
  std::map<std::string, int> busy_keys_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> workers_;
};

}  // namespace hub

#endif  // HUB_GROUP_COMMIT_H_
