#ifndef TESTS_SUPPORT_HUB_CLIENT_H_
#define TESTS_SUPPORT_HUB_CLIENT_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include "absl/synchronization/mutex.h"
#include "hub/v1/publisher.grpc.pb.h"
#include "hub/v1/subscriber.grpc.pb.h"

// Small raw-gRPC helpers for tests, so each test says what it checks and
// not how to fill a request.
namespace hub::testing {

grpc::Status CreateTopic(v1::Publisher::Stub& stub, const std::string& name);
grpc::Status CreateSubscription(v1::Subscriber::Stub& stub, const std::string& name,
                                const std::string& topic, int ack_deadline_seconds = 30);

// Publishes one message; `key` may be empty.
grpc::Status PublishOne(v1::Publisher::Stub& stub, const std::string& topic,
                        const std::string& data, const std::string& key,
                        v1::PublishResponse* response = nullptr);

grpc::Status Pull(v1::Subscriber::Stub& stub, const std::string& subscription, int max_messages,
                  absl::Duration max_wait, v1::PullResponse* response);
grpc::Status Ack(v1::Subscriber::Stub& stub, const std::string& subscription,
                 const std::vector<std::string>& ack_ids);

// A StreamingPull consumer on its own thread that reconnects when the stream
// breaks (as a client library would), until Stop.
class StreamConsumer {
 public:
  enum class Reply { kAck, kNack, kIgnore };
  using Handler = std::function<Reply(const v1::ReceivedMessage&)>;

  StreamConsumer(std::function<std::shared_ptr<grpc::Channel>()> connect, std::string subscription,
                 Handler handler, int64_t max_outstanding_messages = 0);
  ~StreamConsumer();

  void Stop();
  int streams_opened() const { return streams_opened_.load(); }

 private:
  void Run();

  const std::function<std::shared_ptr<grpc::Channel>()> connect_;
  const std::string subscription_;
  const Handler handler_;
  const int64_t max_outstanding_messages_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> streams_opened_{0};
  absl::Mutex mu_;
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::thread thread_;
};

}  // namespace hub::testing

#endif  // TESTS_SUPPORT_HUB_CLIENT_H_
