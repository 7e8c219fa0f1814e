#include "client/publisher.h"

#include "client/internal/batching_publisher.h"

namespace hub::client {

Publisher::Publisher(Connection connection, std::string topic, PublisherOptions options)
    : impl_(std::make_unique<internal::BatchingPublisher>(connection.stub(), std::move(topic),
                                                          std::move(options))) {}

Publisher::~Publisher() = default;
Publisher::Publisher(Publisher&&) noexcept = default;
Publisher& Publisher::operator=(Publisher&&) noexcept = default;

std::future<absl::StatusOr<PublishAck>> Publisher::Publish(Message message) {
  auto promise = std::make_shared<std::promise<absl::StatusOr<PublishAck>>>();
  std::future<absl::StatusOr<PublishAck>> result = promise->get_future();
  impl_->Publish(std::move(message),
                 [promise](absl::StatusOr<PublishAck> ack) { promise->set_value(std::move(ack)); });
  return result;
}

void Publisher::Publish(Message message, std::function<void(absl::StatusOr<PublishAck>)> done) {
  impl_->Publish(std::move(message), std::move(done));
}

void Publisher::Flush() { impl_->Flush(); }

void Publisher::ResumePublish(const std::string& ordering_key) {
  impl_->ResumePublish(ordering_key);
}

void Publisher::Cancel() { impl_->Cancel(); }

}  // namespace hub::client
