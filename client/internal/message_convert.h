#ifndef CLIENT_INTERNAL_MESSAGE_CONVERT_H_
#define CLIENT_INTERNAL_MESSAGE_CONVERT_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "client/message.h"
#include "hub/v1/resources.pb.h"

namespace hub::client::internal {

void MessageToProto(Message message, v1::Message* out);
Message MessageFromProto(v1::Message proto);

// What a message counts against the hub's size limits (data, attribute
// keys and values, both keys), the same sum the hub takes.
int64_t MessageBytes(const v1::Message& message);

// The hub's verdict on an exactly-once ack, as a status for the caller:
// EXPIRED is FAILED_PRECONDITION, INVALID is INVALID_ARGUMENT.
absl::Status AckStatusToStatus(v1::AckStatus status);

}  // namespace hub::client::internal

#endif  // CLIENT_INTERNAL_MESSAGE_CONVERT_H_
