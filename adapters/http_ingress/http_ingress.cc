#include "adapters/http_ingress/http_ingress.h"

#include <exception>
#include <future>

#include <CivetServer.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/log.h"
#include "common/status_macros.h"

namespace hub::adapters {
namespace {

HttpIngress::Response ErrorResponse(const absl::Status& status) {
  return {HttpStatusFor(status.code()), ErrorBody(status)};
}

}  // namespace

class HttpIngress::Handler final : public CivetHandler {
 public:
  explicit Handler(HttpIngress& ingress) : ingress_(ingress) {}

  bool handlePost(CivetServer*, mg_connection* conn) override {
    const mg_request_info* info = mg_get_request_info(conn);
    HttpHeaders headers;
    for (int i = 0; i < info->num_headers; ++i) {
      headers.emplace_back(absl::AsciiStrToLower(info->http_headers[i].name),
                           info->http_headers[i].value);
    }
    const int64_t limit = ingress_.config_.max_body_bytes;
    if (info->content_length > limit) {
      return Send(conn, {413, ErrorBody(absl::InvalidArgumentError(
                                  absl::StrCat("the body is over ", limit, " bytes")))});
    }
    std::string body;
    char buffer[64 * 1024];
    for (int got; (got = mg_read(conn, buffer, sizeof buffer)) > 0;) {
      body.append(buffer, got);
      if (static_cast<int64_t>(body.size()) > limit) {
        return Send(conn, {413, ErrorBody(absl::InvalidArgumentError(
                                    absl::StrCat("the body is over ", limit, " bytes")))});
      }
    }
    return Send(conn, ingress_.Handle(info->local_uri, headers, body));
  }

  bool handleGet(CivetServer*, mg_connection* conn) override {
    return Send(conn, {405, ErrorBody(absl::InvalidArgumentError("use POST"))});
  }

 private:
  static bool Send(mg_connection* conn, const Response& response) {
    // Pushed back or away: a client should come again soon, not at once.
    const char* retry = response.status == 503 ? "Retry-After: 1\r\n" : "";
    mg_printf(conn,
              "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n%s\r\n",
              response.status, mg_get_response_code_text(conn, response.status),
              response.body.size(), retry);
    mg_write(conn, response.body.data(), response.body.size());
    return true;
  }

  HttpIngress& ingress_;
};

absl::StatusOr<HttpIngressConfig> HttpIngressConfig::Read(ConfigSection& section) {
  HttpIngressConfig c;
  c.listen = section.String("listen", c.listen);
  c.max_body_bytes = section.Int("max_body_bytes", c.max_body_bytes, 1, 64 * 1024 * 1024);
  c.max_inflight_requests =
      section.Int("max_inflight_requests", c.max_inflight_requests, 1, 100000);
  c.threads = section.Int("threads", c.threads, 1, 1024);
  c.publish_timeout = section.Duration("publish_timeout", c.publish_timeout);
  c.max_pending_messages = section.Int("max_pending_messages", c.max_pending_messages, 1, 10000000);
  c.pass_through_token = section.Bool("pass_through_token", c.pass_through_token);
  c.max_publishers = section.Int("max_publishers", c.max_publishers, 1, 100000);
  RETURN_IF_ERROR(section.Finish());
  return c;
}

HttpIngress::HttpIngress(HttpIngressConfig config, AdapterEnv& env)
    : config_(std::move(config)),
      hub_options_(env.hub_options),
      published_(env.Outcome("published")),
      duplicates_(env.Outcome("duplicate")),
      failed_(env.Outcome("failed")),
      refused_(env.Outcome("refused")),
      pushed_back_(env.Outcome("pushed_back")),
      handler_(std::make_unique<Handler>(*this)) {}

HttpIngress::~HttpIngress() = default;

absl::Status HttpIngress::Run(const absl::Notification& stop) {
  std::vector<std::string> options = {"listening_ports",   config_.listen,
                                      "num_threads",       absl::StrCat(config_.threads),
                                      "enable_keep_alive", "yes"};
  try {
    server_ = std::make_unique<CivetServer>(options);
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", config_.listen, ": ", e.what()));
  }
  server_->addHandler("/", handler_.get());
  Log(LogLevel::kInfo, "http_ingress_listening", {{"listen", config_.listen}});
  stop.WaitForNotification();
  // Stops accepting and waits for the requests being answered.
  server_.reset();
  absl::MutexLock lock(&mu_);
  publishers_.clear();  // each flushes what it still holds
  return absl::OkStatus();
}

std::shared_ptr<client::Publisher> HttpIngress::PublisherFor(const std::string& token,
                                                             const std::string& topic) {
  std::string key = absl::StrCat(token, "\n", topic);
  absl::MutexLock lock(&mu_);
  if (auto it = publishers_.find(key); it != publishers_.end()) {
    lru_.splice(lru_.end(), lru_, it->second.position);
    return it->second.publisher;
  }
  client::ConnectionOptions options = hub_options_;
  options.bearer_token = token;
  absl::StatusOr<client::Connection> connection = client::Connection::Open(options);
  if (!connection.ok()) return nullptr;  // the TLS files were read at start already
  client::PublisherOptions publisher_options;
  publisher_options.max_pending_messages = config_.max_pending_messages;
  publisher_options.reject_when_full = true;
  publisher_options.retry_timeout = config_.publish_timeout;
  auto publisher = std::make_shared<client::Publisher>(*connection, topic, publisher_options);
  if (static_cast<int64_t>(publishers_.size()) >= config_.max_publishers) {
    // In-flight requests keep the evicted one alive until they are answered.
    publishers_.erase(lru_.front());
    lru_.pop_front();
  }
  publishers_[key] = Entry{publisher, lru_.insert(lru_.end(), key)};
  return publisher;
}

HttpIngress::Response HttpIngress::Handle(const std::string& path, const HttpHeaders& headers,
                                          const std::string& body) {
  struct Inflight {
    std::atomic<int64_t>& count;
    ~Inflight() { --count; }
  } inflight{inflight_};
  if (++inflight_ > config_.max_inflight_requests) {
    pushed_back_.Increment();
    return ErrorResponse(absl::ResourceExhaustedError("too many requests in flight"));
  }
  absl::StatusOr<HttpPublishRequest> request = ParsePublishRequest(path, headers, body);
  if (!request.ok()) {
    refused_.Increment();
    return ErrorResponse(request.status());
  }
  std::string token = hub_options_.bearer_token;
  for (const auto& [name, value] : headers) {
    absl::string_view bearer = value;
    if (config_.pass_through_token && name == "authorization" &&
        absl::ConsumePrefix(&bearer, "Bearer ")) {
      token = std::string(bearer);
    }
  }
  std::shared_ptr<client::Publisher> publisher = PublisherFor(token, request->topic);
  if (publisher == nullptr) return ErrorResponse(absl::UnavailableError("cannot reach the hub"));

  std::vector<std::future<absl::StatusOr<client::PublishAck>>> futures;
  for (client::Message& message : request->messages) {
    futures.push_back(publisher->Publish(std::move(message)));
  }
  std::vector<client::PublishAck> acks;
  absl::Status failed;
  for (auto& future : futures) {
    absl::StatusOr<client::PublishAck> ack = future.get();
    if (ack.ok()) {
      acks.push_back(*ack);
    } else if (failed.ok()) {
      failed = ack.status();
    }
  }
  for (const client::PublishAck& ack : acks) {
    (ack.duplicate ? duplicates_ : published_).Increment();
  }
  if (!failed.ok()) {
    // Some may be stored; a retry with the same keys stores none twice.
    failed_.Increment(static_cast<double>(futures.size() - acks.size()));
    return ErrorResponse(failed);
  }
  return {200, ResultsBody(acks)};
}

}  // namespace hub::adapters
