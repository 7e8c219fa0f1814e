#include "tests/support/hub_client.h"

#include "absl/time/clock.h"

namespace hub::testing {

grpc::Status CreateTopic(v1::Publisher::Stub& stub, const std::string& name) {
  grpc::ClientContext ctx;
  v1::Topic topic;
  topic.set_name(name);
  v1::Topic out;
  return stub.CreateTopic(&ctx, topic, &out);
}

grpc::Status CreateSubscription(v1::Subscriber::Stub& stub, const std::string& name,
                                const std::string& topic, int ack_deadline_seconds) {
  grpc::ClientContext ctx;
  v1::Subscription sub;
  sub.set_name(name);
  sub.set_topic(topic);
  sub.set_ack_deadline_seconds(ack_deadline_seconds);
  v1::Subscription out;
  return stub.CreateSubscription(&ctx, sub, &out);
}

grpc::Status PublishOne(v1::Publisher::Stub& stub, const std::string& topic,
                        const std::string& data, const std::string& key,
                        v1::PublishResponse* response) {
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
  v1::PublishRequest req;
  req.set_topic(topic);
  v1::Message* m = req.add_messages();
  m->set_data(data);
  m->set_idempotency_key(key);
  v1::PublishResponse local;
  return stub.Publish(&ctx, req, response != nullptr ? response : &local);
}

grpc::Status Pull(v1::Subscriber::Stub& stub, const std::string& subscription, int max_messages,
                  absl::Duration max_wait, v1::PullResponse* response) {
  grpc::ClientContext ctx;
  v1::PullRequest req;
  req.set_subscription(subscription);
  req.set_max_messages(max_messages);
  const int64_t ms = absl::ToInt64Milliseconds(max_wait);
  req.mutable_max_wait()->set_seconds(ms / 1000);
  req.mutable_max_wait()->set_nanos(static_cast<int32_t>(ms % 1000) * 1000000);
  return stub.Pull(&ctx, req, response);
}

grpc::Status Ack(v1::Subscriber::Stub& stub, const std::string& subscription,
                 const std::vector<std::string>& ack_ids) {
  grpc::ClientContext ctx;
  v1::AcknowledgeRequest req;
  req.set_subscription(subscription);
  for (const std::string& id : ack_ids) req.add_ack_ids(id);
  v1::AcknowledgeResponse resp;
  return stub.Acknowledge(&ctx, req, &resp);
}

StreamConsumer::StreamConsumer(std::function<std::shared_ptr<grpc::Channel>()> connect,
                               std::string subscription, Handler handler,
                               int64_t max_outstanding_messages)
    : connect_(std::move(connect)),
      subscription_(std::move(subscription)),
      handler_(std::move(handler)),
      max_outstanding_messages_(max_outstanding_messages),
      thread_([this] { Run(); }) {}

StreamConsumer::~StreamConsumer() { Stop(); }

void StreamConsumer::Stop() {
  stopping_ = true;
  {
    absl::MutexLock lock(&mu_);
    if (context_ != nullptr) context_->TryCancel();
  }
  if (thread_.joinable()) thread_.join();
}

void StreamConsumer::Run() {
  while (!stopping_) {
    auto stub = v1::Subscriber::NewStub(connect_());
    grpc::ClientContext ctx;
    {
      absl::MutexLock lock(&mu_);
      context_ = &ctx;
    }
    if (!stopping_) {
      auto stream = stub->StreamingPull(&ctx);
      v1::StreamingPullRequest first;
      first.set_subscription(subscription_);
      first.set_max_outstanding_messages(max_outstanding_messages_);
      if (stream->Write(first)) {
        ++streams_opened_;
        v1::StreamingPullResponse resp;
        while (!stopping_ && stream->Read(&resp)) {
          v1::StreamingPullRequest replies;
          for (const v1::ReceivedMessage& m : resp.received_messages()) {
            switch (handler_(m)) {
              case Reply::kAck:
                replies.add_ack_ids(m.ack_id());
                break;
              case Reply::kNack:
                replies.add_nack_ids(m.ack_id());
                break;
              case Reply::kIgnore:
                break;
            }
          }
          if ((replies.ack_ids_size() > 0 || replies.nack_ids_size() > 0) &&
              !stream->Write(replies)) {
            break;
          }
        }
      }
      ctx.TryCancel();
      stream->Finish();
    }
    {
      absl::MutexLock lock(&mu_);
      context_ = nullptr;
    }
    if (!stopping_) absl::SleepFor(absl::Milliseconds(100));
  }
}

}  // namespace hub::testing
