#ifndef ADAPTERS_HTTP_INGRESS_HTTP_INGRESS_H_
#define ADAPTERS_HTTP_INGRESS_HTTP_INGRESS_H_

#include <atomic>
#include <list>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "adapters/http_ingress/publish_request.h"
#include "adapters/runtime/runtime.h"
#include "client/publisher.h"

class CivetServer;

namespace hub::adapters {

struct HttpIngressConfig {
  std::string listen = "127.0.0.1:8080";
  int64_t max_body_bytes = 10 * 1024 * 1024;
  // Requests being answered at once; beyond, 503 with Retry-After.
  int64_t max_inflight_requests = 256;
  int64_t threads = 16;
  // How long a request waits for the hub (retries included) before 503.
  absl::Duration publish_timeout = absl::Seconds(10);
  // Messages accepted but not yet committed, per topic and token; beyond,
  // 503 with Retry-After.
  int64_t max_pending_messages = 10000;
  // A request's "Authorization: Bearer" goes to the hub as its own; without
  // one, the `hub` section's token is used.
  bool pass_through_token = true;
  // (token, topic) publishers kept.
  int64_t max_publishers = 256;

  static absl::StatusOr<HttpIngressConfig> Read(ConfigSection& section);
};

// POST /v1/topics/{topic}:publish onto the hub. Each request is answered
// after the hub committed its messages; concurrent requests to one topic
// share publish batches.
class HttpIngress final : public Adapter {
 public:
  using Config = HttpIngressConfig;
  HttpIngress(HttpIngressConfig config, AdapterEnv& env);
  ~HttpIngress() override;

  absl::Status Run(const absl::Notification& stop) override;

  struct Response {
    int status = 200;
    std::string body;
  };
  // One request, whatever server carried it.
  Response Handle(const std::string& path, const HttpHeaders& headers, const std::string& body);

 private:
  class Handler;
  std::shared_ptr<client::Publisher> PublisherFor(const std::string& token,
                                                  const std::string& topic);

  const HttpIngressConfig config_;
  const client::ConnectionOptions hub_options_;
  prometheus::Counter& published_;
  prometheus::Counter& duplicates_;
  prometheus::Counter& failed_;
  prometheus::Counter& refused_;
  prometheus::Counter& pushed_back_;
  std::atomic<int64_t> inflight_{0};

  absl::Mutex mu_;
  // Least recently used first.
  std::list<std::string> lru_ ABSL_GUARDED_BY(mu_);
  struct Entry {
    std::shared_ptr<client::Publisher> publisher;
    std::list<std::string>::iterator position;
  };
  absl::flat_hash_map<std::string, Entry> publishers_ ABSL_GUARDED_BY(mu_);

  std::unique_ptr<Handler> handler_;
  std::unique_ptr<CivetServer> server_;
};

}  // namespace hub::adapters

#endif  // ADAPTERS_HTTP_INGRESS_HTTP_INGRESS_H_
