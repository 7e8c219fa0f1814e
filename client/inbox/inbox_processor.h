#ifndef CLIENT_INBOX_INBOX_PROCESSOR_H_
#define CLIENT_INBOX_INBOX_PROCESSOR_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/message.h"

namespace hub::client::inbox {

// The consumer's database as the inbox needs it: one transaction at a time.
// PgInboxStore is the real one; tests use a fake.
class InboxStore {
 public:
  virtual ~InboxStore() = default;
  virtual absl::Status Begin() = 0;
  // Records the ids in the open transaction; returns those that were new
  // (in no particular order). Ids recorded before are left alone.
  virtual absl::StatusOr<std::vector<std::string>> Record(
      const std::vector<std::string>& message_ids) = 0;
  virtual absl::Status Commit() = 0;
  virtual void Rollback() = 0;
};

// One delivery and how to settle it with the hub.
struct InboxItem {
  Message message;
  absl::AnyInvocable<void() &&> ack;
  absl::AnyInvocable<void() &&> nack;
};

// What one Process call did, for logs and tests.
struct InboxOutcome {
  int handled = 0;     // handler ran, its transaction committed, acked
  int duplicates = 0;  // already recorded: acked without the handler
  int failed = 0;      // nacked: the handler or the database failed
};

// The inbox's decisions: for a batch of deliveries, one transaction that
// records their ids and runs the handler for the new ones only, then the
// commit, then the acks. Nothing is acked before its commit; a message whose
// id was already recorded (a redelivery after a crash between commit and
// ack, or after an expired lease) is acked without running the handler
// again. If the handler fails for one message the transaction is rolled back
// and the batch is done again one message per transaction, so only the
// failing one is nacked.
class InboxProcessor {
 public:
  // Runs inside the open transaction; an error rolls it back.
  using Handler = std::function<absl::Status(const Message&)>;
  // Called after a commit, before its acks are sent.
  using Committed = std::function<void(const std::vector<std::string>& message_ids)>;

  InboxProcessor(InboxStore& store, Handler handler, Committed committed = nullptr);

  InboxOutcome Process(std::vector<InboxItem> items);

 private:
  // One transaction for `items`; OK when it committed (and settles them),
  // else everything rolled back and nothing settled.
  absl::Status Attempt(std::vector<InboxItem>& items, InboxOutcome& outcome);

  InboxStore& store_;
  Handler handler_;
  Committed committed_;
};

}  // namespace hub::client::inbox

#endif  // CLIENT_INBOX_INBOX_PROCESSOR_H_
