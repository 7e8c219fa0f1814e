#include "adapters/webhook_sink/webhook_sink.h"

#include <curl/curl.h>

#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "common/status_macros.h"

namespace hub::adapters {
namespace {

// One easy handle per handler thread, so that its connection to the
// endpoint is kept alive between requests.
CURL* ThreadHandle() {
  struct Handle {
    CURL* curl = curl_easy_init();
    ~Handle() { curl_easy_cleanup(curl); }
  };
  thread_local Handle handle;
  curl_easy_reset(handle.curl);
  return handle.curl;
}

size_t DiscardBody(char*, size_t size, size_t count, void*) { return size * count; }

}  // namespace

WebhookVerdict VerdictFor(long http_status) {
  if (http_status >= 200 && http_status < 300) return WebhookVerdict::kAck;
  // Timeout and Too Many Requests are about now, not about the message.
  if (http_status == 408 || http_status == 429) return WebhookVerdict::kRetry;
  if (http_status >= 400 && http_status < 500) return WebhookVerdict::kReject;
  return WebhookVerdict::kRetry;
}

RateLimiter::RateLimiter(int64_t per_second) : interval_(absl::Seconds(1) / per_second) {}

void RateLimiter::Wait() {
  absl::Time at;
  {
    absl::MutexLock lock(&mu_);
    at = std::max(absl::Now(), next_);
    next_ = at + interval_;
  }
  absl::SleepFor(at - absl::Now());
}

absl::StatusOr<WebhookSinkConfig> WebhookSinkConfig::Read(ConfigSection& section) {
  WebhookSinkConfig c;
  c.subscription = section.RequiredString("subscription");
  c.url = section.RequiredString("url");
  if (!c.url.empty() && !absl::StartsWith(c.url, "http://") &&
      !absl::StartsWith(c.url, "https://")) {
    section.Fail("url", "must be an http:// or https:// URL");
  }
  c.timeout = section.Duration("timeout", c.timeout);
  c.max_concurrency = section.Int("max_concurrency", c.max_concurrency, 1, 1024);
  c.max_requests_per_second = section.Int("max_requests_per_second", 0, 0, 1000000);
  c.content_type = section.String("content_type", c.content_type);
  c.headers = section.StringMap("headers");
  c.ack_deadline_seconds = section.Int("ack_deadline_seconds", c.ack_deadline_seconds, 10, 600);
  c.ca_file = section.String("ca_file", "");
  RETURN_IF_ERROR(section.Finish());
  return c;
}

WebhookSink::WebhookSink(WebhookSinkConfig config, AdapterEnv& env)
    : config_(std::move(config)),
      connection_(env.connection),
      delivered_(env.Outcome("delivered")),
      retried_(env.Outcome("retried")),
      rejected_(env.Outcome("rejected")) {
  if (config_.max_requests_per_second > 0) limiter_.emplace(config_.max_requests_per_second);
}

bool WebhookSink::Ready() const { return running_.load(); }

absl::Status WebhookSink::Run(const absl::Notification& stop) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  client::SubscriberOptions options;
  options.max_concurrency = static_cast<int>(config_.max_concurrency);
  // Enough in hand to keep every request slot busy, few enough that a
  // crash sends little back to the hub for redelivery.
  options.max_outstanding_messages = 2 * config_.max_concurrency;
  options.ack_deadline_seconds = static_cast<int>(config_.ack_deadline_seconds);
  options.shutdown_timeout = config_.timeout + absl::Seconds(1);
  client::Subscriber subscriber(connection_, config_.subscription, options);
  client::SubscriberSession session =
      subscriber.Subscribe([this](client::Message message, client::AckHandler handler) {
        Deliver(std::move(message), std::move(handler));
      });
  running_ = true;
  // Either a stop or an error the session cannot recover from (the
  // subscription deleted, no permission) ends the adapter.
  absl::Notification ended;
  absl::Status result;
  std::thread waiter([&] {
    result = session.Wait();
    ended.Notify();
  });
  while (!ended.HasBeenNotified() &&
         !stop.WaitForNotificationWithTimeout(absl::Milliseconds(200))) {
  }
  running_ = false;
  session.Stop();
  waiter.join();
  return result;
}

long WebhookSink::Post(const client::Message& message, int attempt, std::string* error) {
  CURL* curl = ThreadHandle();
  curl_slist* headers = nullptr;
  auto add = [&headers](const std::string& name, const std::string& value) {
    headers = curl_slist_append(headers, absl::StrCat(name, ": ", value).c_str());
  };
  add("Content-Type", config_.content_type);
  add("Hub-Message-Id", message.message_id);
  add("Hub-Delivery-Attempt", absl::StrCat(attempt));
  add("Hub-Subscription", config_.subscription);
  add("Hub-Publish-Time",
      absl::FormatTime(absl::RFC3339_full, message.publish_time, absl::UTCTimeZone()));
  if (!message.ordering_key.empty()) add("Hub-Ordering-Key", message.ordering_key);
  if (!message.attributes.empty()) {
    add("Hub-Attributes", nlohmann::json(message.attributes)
                              .dump(-1, ' ', true, nlohmann::json::error_handler_t::replace));
  }
  for (const auto& [name, value] : config_.headers) add(name, value);
  // No "Expect: 100-continue" round trip before larger bodies.
  headers = curl_slist_append(headers, "Expect:");

  char error_text[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_URL, config_.url.c_str());
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, message.data.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(message.data.size()));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(config_.timeout)));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, DiscardBody);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_text);
  if (!config_.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, config_.ca_file.c_str());
  CURLcode code = curl_easy_perform(curl);
  long status = 0;
  if (code == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  } else {
    *error = error_text[0] != '\0' ? error_text : curl_easy_strerror(code);
  }
  curl_slist_free_all(headers);
  return status;
}

void WebhookSink::Deliver(client::Message message, client::AckHandler handler) {
  if (limiter_) limiter_->Wait();
  std::string error;
  long status = Post(message, handler.delivery_attempt(), &error);
  switch (VerdictFor(status)) {
    case WebhookVerdict::kAck:
      delivered_.Increment();
      std::move(handler).Ack();
      return;
    case WebhookVerdict::kReject: {
      rejected_.Increment();
      std::string reason = absl::StrCat("the endpoint answered HTTP ", status);
      Log(LogLevel::kWarning, "webhook_sink_rejected",
          {{"message_id", message.message_id}, {"reason", reason}});
      if (absl::Status rejected = std::move(handler).Reject(reason); !rejected.ok()) {
        Log(LogLevel::kWarning, "webhook_sink_reject_failed", {{"error", rejected.ToString()}});
      }
      return;
    }
    case WebhookVerdict::kRetry:
      retried_.Increment();
      Log(LogLevel::kDebug, "webhook_sink_retry",
          {{"message_id", message.message_id}, {"status", absl::StrCat(status)}, {"error", error}});
      std::move(handler).Nack();
      return;
  }
}

}  // namespace hub::adapters
