#include "bench/pubsub_broker.h"

#include <atomic>
#include <thread>

#include <grpcpp/client_context.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "google/pubsub/v1/pubsub.grpc.pb.h"

namespace hub::bench {
namespace {

namespace gps = ::google::pubsub::v1;

absl::Status FromGrpc(const grpc::Status& s) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
}

void SetDeadline(grpc::ClientContext& ctx) {
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
}

class PubSubProducer final : public Producer {
 public:
  PubSubProducer(const std::shared_ptr<grpc::Channel>& channel, std::string topic)
      : stub_(gps::Publisher::NewStub(channel)),
        topic_(std::move(topic)),
        key_prefix_(absl::StrCat(absl::ToUnixNanos(absl::Now()), "-", Next(), "-")) {}

  absl::Status Publish(const std::vector<std::string>& payloads) override {
    gps::PublishRequest request;
    request.set_topic(topic_);
    for (const std::string& p : payloads) {
      gps::PubsubMessage* m = request.add_messages();
      m->set_data(p);
      (*m->mutable_attributes())["hub-idempotency-key"] = absl::StrCat(key_prefix_, ++sequence_);
    }
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    gps::PublishResponse response;
    return FromGrpc(stub_->Publish(&ctx, request, &response));
  }

 private:
  static int Next() {
    static std::atomic<int> producers{0};
    return ++producers;
  }

  std::unique_ptr<gps::Publisher::Stub> stub_;
  const std::string topic_;
  const std::string key_prefix_;
  int64_t sequence_ = 0;
};

class PubSubConsumer final : public Consumer {
 public:
  PubSubConsumer(const std::shared_ptr<grpc::Channel>& channel, std::string subscription)
      : stub_(gps::Subscriber::NewStub(channel)), subscription_(std::move(subscription)) {}

  absl::Status Run(const std::atomic<bool>& stop,
                   const std::function<void(absl::string_view)>& on_message) override {
    grpc::ClientContext ctx;
    auto stream = stub_->StreamingPull(&ctx);
    gps::StreamingPullRequest first;
    first.set_subscription(subscription_);
    first.set_stream_ack_deadline_seconds(60);
    first.set_max_outstanding_messages(1000);
    if (!stream->Write(first)) return FromGrpc(stream->Finish());
    // Read blocks; the stop flag ends the call from beside it.
    std::thread stopper([&] {
      while (!stop.load()) absl::SleepFor(absl::Milliseconds(20));
      ctx.TryCancel();
    });
    gps::StreamingPullResponse response;
    while (stream->Read(&response)) {
      gps::StreamingPullRequest acks;
      for (const gps::ReceivedMessage& m : response.received_messages()) {
        on_message(m.message().data());
        acks.add_ack_ids(m.ack_id());
      }
      if (acks.ack_ids_size() > 0 && !stream->Write(acks)) break;
    }
    const grpc::Status status = stream->Finish();
    stopper.join();
    if (stop.load()) return absl::OkStatus();  // cancelled by us
    return FromGrpc(status);
  }

 private:
  std::unique_ptr<gps::Subscriber::Stub> stub_;
  const std::string subscription_;
};

}  // namespace

absl::Status PubSubBroker::Prepare(const std::string& name, int subscriptions) {
  auto publisher = gps::Publisher::NewStub(channel_);
  auto subscriber = gps::Subscriber::NewStub(channel_);
  topic_ = absl::StrCat("projects/", project_, "/topics/", name);
  {
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    gps::DeleteTopicRequest request;
    request.set_topic(topic_);
    google::protobuf::Empty empty;
    const grpc::Status s = publisher->DeleteTopic(&ctx, request, &empty);
    if (!s.ok() && s.error_code() != grpc::StatusCode::NOT_FOUND) return FromGrpc(s);
  }
  {
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    gps::Topic topic, made;
    topic.set_name(topic_);
    if (absl::Status s = FromGrpc(publisher->CreateTopic(&ctx, topic, &made)); !s.ok()) return s;
  }
  for (int i = 0; i < subscriptions; ++i) {
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    gps::Subscription sub, made;
    sub.set_name(absl::StrCat("projects/", project_, "/subscriptions/", name, "-sub", i));
    sub.set_topic(topic_);
    sub.set_ack_deadline_seconds(60);
    if (absl::Status s = FromGrpc(subscriber->CreateSubscription(&ctx, sub, &made)); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

std::unique_ptr<Producer> PubSubBroker::NewProducer() {
  return std::make_unique<PubSubProducer>(channel_, topic_);
}

std::unique_ptr<Consumer> PubSubBroker::NewConsumer(int index) {
  const std::string name = topic_.substr(topic_.rfind('/') + 1);
  return std::make_unique<PubSubConsumer>(
      channel_, absl::StrCat("projects/", project_, "/subscriptions/", name, "-sub", index));
}

}  // namespace hub::bench
