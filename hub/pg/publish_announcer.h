#ifndef HUB_PG_PUBLISH_ANNOUNCER_H_
#define HUB_PG_PUBLISH_ANNOUNCER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>

#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"

namespace hub::pg {

// How the replicas of one database hear of each other's publishes
// (docs/design.md, "Wake-ups"). A commit that stored messages is announced
// after it committed: to this replica at once, in process, and to the
// others by `NOTIFY hub_publish` sent from a connection of its own, never
// from the publishing transaction. PostgreSQL serializes the commits of
// every transaction that queued a notification on one database-wide lock
// held until the commit is flushed (and replicated, with a synchronous
// standby); a NOTIFY of its own commits nothing and so waits for no flush.
//
// Announcements of a topic made while one is on its way are merged into the
// next: under load one statement carries every topic published meanwhile.
// A lost one (the connection broke) costs the other replicas at most their
// poll interval.
class PublishAnnouncer {
 public:
  explicit PublishAnnouncer(std::string database_url);
  ~PublishAnnouncer();

  // Starts listening and announcing; `on_publish(topic_id)` is called for
  // this replica's commits (on the committing thread) and for the other
  // replicas' (on the listener's thread). It must not block.
  void Watch(std::function<void(int64_t)> on_publish);

  // Messages were committed to `topic_ids` by this replica.
  void Committed(absl::Span<const int64_t> topic_ids);

 private:
  void ListenLoop();
  void AnnounceLoop();
  // Pauses about a second between reconnections; false when stopping.
  bool PauseBeforeReconnecting();

  const std::string database_url_;
  std::function<void(int64_t)> on_publish_;
  std::atomic<bool> stopping_{false};
  // The backend of the announcing connection: the listener ignores what it
  // sent, which Committed already passed on.
  std::atomic<int> announcer_pid_{0};
  absl::Mutex mu_;
  absl::flat_hash_set<int64_t> pending_ ABSL_GUARDED_BY(mu_);
  std::thread listener_;
  std::thread announcer_;
};

}  // namespace hub::pg

#endif  // HUB_PG_PUBLISH_ANNOUNCER_H_
