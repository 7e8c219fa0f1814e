#include "tests/support/keyed_publisher.h"

#include <grpcpp/client_context.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace hub::testing {

KeyedPublisher::KeyedPublisher(HubProcess& hubd) : stub_(hubd.Publisher()) {
  thread_ = std::thread([this] { Loop(); });
}

void KeyedPublisher::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

absl::Time KeyedPublisher::recovered() {
  absl::MutexLock lock(&mu_);
  return recovered_;
}

std::map<std::string, int> KeyedPublisher::errors() {
  absl::MutexLock lock(&mu_);
  return errors_;
}

std::vector<KeyedPublisher::Answer> KeyedPublisher::answers() {
  absl::MutexLock lock(&mu_);
  return answers_;
}

void KeyedPublisher::Loop() {
  int64_t i = 0;
  absl::Time give_up = absl::InfiniteFuture();
  for (bool failing = false; !stop_ || (failing && absl::Now() < give_up);) {
    if (stop_ && give_up == absl::InfiniteFuture()) give_up = absl::Now() + absl::Seconds(30);
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
    v1::PublishRequest request;
    request.set_topic("orders");
    v1::Message* m = request.add_messages();
    m->set_data(absl::StrCat("m", i));
    m->set_idempotency_key(absl::StrCat("k", i));
    v1::PublishResponse response;
    const grpc::Status s = stub_->Publish(&ctx, request, &response);
    failing = !s.ok();
    {
      absl::MutexLock lock(&mu_);
      answers_.push_back({absl::Now(), s.ok()});
      if (s.ok()) {
        acked_ = ++i;
        if (failing_ && recovered_ == absl::InfinitePast()) recovered_ = absl::Now();
      } else {
        ++errors_[absl::StrCat(s.error_code(), " ", s.error_message())];
      }
      failing_ = failing;
    }
    if (failing) absl::SleepFor(absl::Milliseconds(50));
  }
}

}  // namespace hub::testing
