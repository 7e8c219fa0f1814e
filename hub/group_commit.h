#ifndef HUB_GROUP_COMMIT_H_
#define HUB_GROUP_COMMIT_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <future>
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
template <typename Item>
class GroupCommitter {
 public:
  using CommitFn = std::function<absl::Status(absl::Span<Item* const>)>;
  // Observes each committed batch: item count and total weight.
  using BatchObserver = std::function<void(size_t, size_t)>;

  GroupCommitter(int workers, size_t max_weight, CommitFn commit,
                 BatchObserver observe = nullptr)
      : max_weight_(max_weight),
        commit_(std::move(commit)),
        observe_(std::move(observe)) {
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
      queue_.push_back(Entry{&item, weight, {}});
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
    std::promise<absl::Status> done;
  };

  void Work() {
    std::vector<Entry> batch;
    std::vector<Item*> items;
    for (;;) {
      batch.clear();
      items.clear();
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(
            +[](GroupCommitter* self) {
              return !self->queue_.empty() || self->stopping_;
            },
            this));
        if (queue_.empty()) return;  // stopping and drained
        size_t weight = 0;
        while (!queue_.empty() &&
               (batch.empty() || weight + queue_.front().weight <= max_weight_)) {
          weight += queue_.front().weight;
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
        if (observe_) observe_(batch.size(), weight);
      }
      for (Entry& e : batch) items.push_back(e.item);
      const absl::Status status = commit_(absl::MakeConstSpan(items));
      for (Entry& e : batch) e.done.set_value(status);
    }
  }

  const size_t max_weight_;
  const CommitFn commit_;
  const BatchObserver observe_;
  absl::Mutex mu_;
  std::deque<Entry> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> workers_;
};

}  // namespace hub

#endif  // HUB_GROUP_COMMIT_H_
