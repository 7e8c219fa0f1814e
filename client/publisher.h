#ifndef CLIENT_PUBLISHER_H_
#define CLIENT_PUBLISHER_H_

#include <functional>
#include <future>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "client/connection.h"
#include "client/message.h"
#include "client/options.h"

namespace hub::client {

namespace internal {
class BatchingPublisher;
}

// Publishes to one topic, batching messages into few requests. Results
// arrive only after the hub committed the message (acknowledge-after-
// commit). Thread-safe. The destructor waits for every message published
// before it (Flush).
//
//   hub::client::Publisher publisher(*connection, "orders");
//   auto ack = publisher.Publish({.data = "order 42"}).get();
//   if (ack.ok()) std::cout << ack->message_id << "\n";
class Publisher {
 public:
  Publisher(Connection connection, std::string topic, PublisherOptions options = {});
  ~Publisher();

  Publisher(Publisher&&) noexcept;
  Publisher& operator=(Publisher&&) noexcept;

  // The result: the message id once committed, or why not. Errors: those of
  // the hub (docs/api.md), RESOURCE_EXHAUSTED when flow control is full and set to
  // reject, FAILED_PRECONDITION when the message's ordering key is paused
  // after a failure.
  std::future<absl::StatusOr<PublishAck>> Publish(Message message);
  // The same with a callback, run once on a library thread; it must not
  // block for long or throw.
  void Publish(Message message, std::function<void(absl::StatusOr<PublishAck>)> done);

  // Sends what is batched now and waits until everything published before
  // the call has its result.
  void Flush();

  // After a publish with `ordering_key` failed, the key refuses messages (so
  // that a later one cannot overtake the failed one); this lets it go on.
  void ResumePublish(const std::string& ordering_key);

  // Gives up on what has no result yet: each such message gets CANCELLED as
  // soon as its batch is not in a call (its retries stop), and so does
  // every later Publish. For a program that stops and would rather publish
  // again after its restart, under the same idempotency keys, than wait out
  // the retries (the adapters on SIGTERM). A CANCELLED message may or may
  // not be stored.
  void Cancel();

 private:
  std::unique_ptr<internal::BatchingPublisher> impl_;
};

}  // namespace hub::client

#endif  // CLIENT_PUBLISHER_H_
