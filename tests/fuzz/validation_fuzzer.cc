// libFuzzer target: request validation. The input is a serialized request
// as it arrives off the wire (the first byte picks which), converted and
// validated exactly as the services do before any work.
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "hub/validation.h"
#include "services/convert.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t kind = data[0] % 3;
  const void* body = data + 1;
  const int length = static_cast<int>(size - 1);
  const hub::Limits limits;
  if (kind == 0) {
    hub::v1::PublishRequest request;
    if (!request.ParseFromArray(body, length)) return 0;
    auto messages = hub::services::MessagesFromProto(*request.mutable_messages(), absl::Now());
    if (messages.ok()) (void)hub::ValidatePublish(request.topic(), *messages, limits);
  } else if (kind == 1) {
    hub::v1::Subscription request;
    if (!request.ParseFromArray(body, length)) return 0;
    auto config = hub::services::SubscriptionFromProto(request);
    if (config.ok()) (void)hub::ValidateSubscriptionConfig(*config);
  } else {
    hub::v1::Topic request;
    if (!request.ParseFromArray(body, length)) return 0;
    auto config = hub::services::TopicFromProto(request);
    if (config.ok()) (void)hub::ValidateTopicConfig(*config);
  }
  return 0;
}
