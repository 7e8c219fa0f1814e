#ifndef ADAPTERS_WEBHOOK_SINK_WEBHOOK_SINK_H_
#define ADAPTERS_WEBHOOK_SINK_WEBHOOK_SINK_H_

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/synchronization/mutex.h"
#include "adapters/runtime/runtime.h"
#include "client/subscriber.h"

namespace hub::adapters {

struct WebhookSinkConfig {
  std::string subscription;
  std::string url;
  // Per request, connection included.
  absl::Duration timeout = absl::Seconds(10);
  // Requests at once.
  int64_t max_concurrency = 8;
  // 0: no limit.
  int64_t max_requests_per_second = 0;
  std::string content_type = "application/octet-stream";
  // Sent with every request (an API key the endpoint wants, say).
  std::map<std::string, std::string> headers;
  int64_t ack_deadline_seconds = 30;
  // The endpoint's certificate authority, for https:// URLs with a private
  // one; empty: the system's.
  std::string ca_file;

  static absl::StatusOr<WebhookSinkConfig> Read(ConfigSection& section);
};

// What the endpoint's answer means for the message.
enum class WebhookVerdict {
  kAck,     // 2xx
  kRetry,   // 5xx, 408, 429, a timeout or no connection: nack, redelivered after backoff
  kReject,  // other 4xx: the endpoint will never take it; to the dead-letter topic
};
// `http_status` 0: no answer at all.
WebhookVerdict VerdictFor(long http_status);

// Spaces requests `1/rate` apart across threads.
class RateLimiter {
 public:
  explicit RateLimiter(int64_t per_second);
  void Wait();

 private:
  const absl::Duration interval_;
  absl::Mutex mu_;
  absl::Time next_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

// Delivers a subscription as HTTP POSTs (docs/adapters.md). The body is the
// message's data; Hub-Message-Id, Hub-Delivery-Attempt, Hub-Subscription,
// Hub-Publish-Time, Hub-Ordering-Key and Hub-Attributes (a JSON object) let
// the endpoint deduplicate and route. Every message reaches the endpoint at
// least once until it answers 2xx (or 4xx: rejected).
class WebhookSink final : public Adapter {
 public:
  using Config = WebhookSinkConfig;
  WebhookSink(WebhookSinkConfig config, AdapterEnv& env);

  absl::Status Run(const absl::Notification& stop) override;
  bool Ready() const override;

 private:
  // The endpoint's HTTP status, 0 for none; `error` says why when 0.
  long Post(const client::Message& message, int attempt, std::string* error);
  void Deliver(client::Message message, client::AckHandler handler);

  const WebhookSinkConfig config_;
  const client::Connection connection_;
  std::optional<RateLimiter> limiter_;
  prometheus::Counter& delivered_;
  prometheus::Counter& retried_;
  prometheus::Counter& rejected_;
  std::atomic<bool> running_{false};
};

}  // namespace hub::adapters

#endif  // ADAPTERS_WEBHOOK_SINK_WEBHOOK_SINK_H_
