#ifndef CLIENT_INBOX_INBOX_H_
#define CLIENT_INBOX_INBOX_H_

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <pqxx/pqxx>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/inbox/inbox_processor.h"
#include "client/subscriber.h"

namespace hub::client {

struct InboxOptions {
  // The inbox table in the consumer's database; created when missing.
  std::string table = "hub_inbox";
  // Messages handled in one transaction of the consumer's database at most,
  // and how long the first of them waits for others to join.
  int max_batch = 100;
  absl::Duration max_delay = absl::Milliseconds(5);
  // Recorded ids older than this are swept: keep it above the topic's
  // message retention, the longest a message can be redelivered.
  absl::Duration retention = absl::Hours(7 * 24);
  absl::Duration sweep_interval = absl::Minutes(10);
  // Called after each commit with its message ids, before they are acked.
  std::function<void(const std::vector<std::string>& message_ids)> on_committed;
};

// Effectively-once side effects for a consumer that keeps its state in
// PostgreSQL (docs/client.md, "The inbox"). For each batch of deliveries it
// opens a transaction on the consumer's database, records
// (subscription, message_id) in the inbox table, runs the handler in that
// same transaction for the messages not recorded before, commits, and only
// then acks. A redelivered message (the consumer crashed between its commit
// and its ack, a lease ran out) is acked without running the handler.
//
//   auto inbox = hub::client::Inbox::Open(
//       "postgresql://billing@db/billing", "billing",
//       [](pqxx::work& tx, const hub::client::Message& m) {
//         tx.exec_params("INSERT INTO charges(order_id) VALUES ($1)", m.data);
//         return absl::OkStatus();
//       });
//   auto session = subscriber.Subscribe((*inbox)->AsMessageHandler());
//
// Stop the session before the inbox is destroyed.
class Inbox {
 public:
  // Runs inside the consumer's transaction; an error (or an exception)
  // rolls it back and the message is nacked.
  using Handler = std::function<absl::Status(pqxx::work& tx, const Message& message)>;

  static absl::StatusOr<std::unique_ptr<Inbox>> Open(const std::string& database_url,
                                                     std::string subscription, Handler handler,
                                                     InboxOptions options = {});
  ~Inbox();

  // For Subscriber::Subscribe: queues the delivery for the inbox's worker.
  MessageHandler AsMessageHandler();

  // Deletes recorded ids older than the retention; returns how many.
  absl::StatusOr<int64_t> Sweep();

 private:
  class PgStore;
  Inbox(std::unique_ptr<PgStore> store, Handler handler, InboxOptions options);
  void Work();

  const InboxOptions options_;
  std::unique_ptr<PgStore> store_;
  inbox::InboxProcessor processor_;
  absl::Mutex mu_;
  std::deque<inbox::InboxItem> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread worker_;
};

}  // namespace hub::client

#endif  // CLIENT_INBOX_INBOX_H_
