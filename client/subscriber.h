#ifndef CLIENT_SUBSCRIBER_H_
#define CLIENT_SUBSCRIBER_H_

#include <functional>
#include <future>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "client/connection.h"
#include "client/message.h"
#include "client/options.h"

namespace hub::client {

namespace internal {
class SubscriptionSession;
}

// Settles one delivery. Use exactly one of Ack, Nack or Reject; a handler
// destroyed unused nacks (the message is redelivered after the backoff).
// While it is held, the library renews the delivery's lease.
class AckHandler {
 public:
  AckHandler(AckHandler&&) noexcept;
  AckHandler& operator=(AckHandler&&) noexcept;
  ~AckHandler();

  // The hub's verdict. On exactly-once subscriptions: OK once the ack is
  // committed (the message will never be delivered again),
  // FAILED_PRECONDITION when the lease had expired (it is redelivered),
  // INVALID_ARGUMENT for a stale delivery, UNAVAILABLE when the stream broke
  // before the hub answered (the outcome is unknown). On other
  // subscriptions: OK once the ack is sent.
  std::future<absl::Status> Ack() &&;
  // Redelivery after the subscription's retry backoff.
  void Nack() &&;
  // Ends delivery at once: to the dead-letter topic, or dropped (docs/api.md).
  absl::Status Reject(const std::string& reason) &&;

  const std::string& ack_id() const { return ack_id_; }
  // 1 for the first delivery.
  int delivery_attempt() const { return delivery_attempt_; }

 private:
  friend class internal::SubscriptionSession;
  AckHandler(std::shared_ptr<internal::SubscriptionSession> session, std::string ack_id,
             int delivery_attempt);

  std::shared_ptr<internal::SubscriptionSession> session_;
  std::string ack_id_;
  int delivery_attempt_ = 0;
};

// Called for each delivery, on one of max_concurrency library threads.
using MessageHandler = std::function<void(Message, AckHandler)>;

// A running subscription. Receives until Stop (or destruction), or until an
// error that retrying cannot fix (the subscription deleted, no permission).
class SubscriberSession {
 public:
  SubscriberSession(SubscriberSession&&) noexcept;
  SubscriberSession& operator=(SubscriberSession&&) noexcept;
  ~SubscriberSession();

  // Graceful: no new handler calls; waits for running ones (up to
  // shutdown_timeout), nacks every message still held so it is redelivered
  // at once, sends the last acks and closes the stream.
  void Stop();
  // Blocks until the session can receive no more: OK after Stop, or the
  // error that ended it.
  absl::Status Wait();

 private:
  friend class Subscriber;
  explicit SubscriberSession(std::shared_ptr<internal::SubscriptionSession> impl);
  std::shared_ptr<internal::SubscriptionSession> impl_;
};

// Receives from one subscription over StreamingPull, with flow control,
// lease renewal, batched acks and reconnection (docs/client.md).
//
//   hub::client::Subscriber subscriber(*connection, "billing");
//   auto session = subscriber.Subscribe([](hub::client::Message m, hub::client::AckHandler h) {
//     Charge(m.data);
//     std::move(h).Ack();
//   });
class Subscriber {
 public:
  Subscriber(Connection connection, std::string subscription, SubscriberOptions options = {});

  SubscriberSession Subscribe(MessageHandler handler) const;

 private:
  Connection connection_;
  std::string subscription_;
  SubscriberOptions options_;
};

}  // namespace hub::client

#endif  // CLIENT_SUBSCRIBER_H_
