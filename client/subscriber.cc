#include "client/subscriber.h"

#include "client/internal/subscription_session.h"

namespace hub::client {

AckHandler::AckHandler(std::shared_ptr<internal::SubscriptionSession> session, std::string ack_id,
                       int delivery_attempt)
    : session_(std::move(session)),
      ack_id_(std::move(ack_id)),
      delivery_attempt_(delivery_attempt) {}

AckHandler::AckHandler(AckHandler&&) noexcept = default;

AckHandler& AckHandler::operator=(AckHandler&& other) noexcept {
  if (this != &other) {
    if (session_ != nullptr) session_->Nack(ack_id_);
    session_ = std::move(other.session_);
    ack_id_ = std::move(other.ack_id_);
    delivery_attempt_ = other.delivery_attempt_;
  }
  return *this;
}

AckHandler::~AckHandler() {
  if (session_ != nullptr) session_->Nack(ack_id_);
}

namespace {

absl::Status UsedError() {
  return absl::FailedPreconditionError("this AckHandler was used already");
}

}  // namespace

std::future<absl::Status> AckHandler::Ack() && {
  auto session = std::move(session_);
  if (session == nullptr) {
    std::promise<absl::Status> used;
    used.set_value(UsedError());
    return used.get_future();
  }
  return session->Ack(ack_id_);
}

void AckHandler::Nack() && {
  auto session = std::move(session_);
  if (session != nullptr) session->Nack(ack_id_);
}

absl::Status AckHandler::Reject(const std::string& reason) && {
  auto session = std::move(session_);
  if (session == nullptr) return UsedError();
  return session->Reject(ack_id_, reason);
}

SubscriberSession::SubscriberSession(std::shared_ptr<internal::SubscriptionSession> impl)
    : impl_(std::move(impl)) {}
SubscriberSession::SubscriberSession(SubscriberSession&&) noexcept = default;

SubscriberSession& SubscriberSession::operator=(SubscriberSession&& other) noexcept {
  if (this != &other) {
    if (impl_ != nullptr) impl_->Stop();
    impl_ = std::move(other.impl_);
  }
  return *this;
}

SubscriberSession::~SubscriberSession() {
  if (impl_ != nullptr) impl_->Stop();
}

void SubscriberSession::Stop() { impl_->Stop(); }

absl::Status SubscriberSession::Wait() { return impl_->Wait(); }

Subscriber::Subscriber(Connection connection, std::string subscription, SubscriberOptions options)
    : connection_(std::move(connection)),
      subscription_(std::move(subscription)),
      options_(std::move(options)) {}

SubscriberSession Subscriber::Subscribe(MessageHandler handler) const {
  return SubscriberSession(internal::SubscriptionSession::Start(connection_.stub(), subscription_,
                                                                options_, std::move(handler)));
}

}  // namespace hub::client
