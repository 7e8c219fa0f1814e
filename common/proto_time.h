#ifndef COMMON_PROTO_TIME_H_
#define COMMON_PROTO_TIME_H_

#include <google/protobuf/duration.pb.h>
#include <google/protobuf/timestamp.pb.h>

#include "absl/time/time.h"

// google.protobuf.Duration and Timestamp to and from absl, exactly (to the
// nanosecond). No range checks: the gRPC layer checks what clients send
// (services/convert.h).
namespace hub {

absl::Duration FromProtoDuration(const google::protobuf::Duration& d);
void ToProtoDuration(absl::Duration d, google::protobuf::Duration* out);
absl::Time FromProtoTime(const google::protobuf::Timestamp& t);
void ToProtoTime(absl::Time t, google::protobuf::Timestamp* out);

}  // namespace hub

#endif  // COMMON_PROTO_TIME_H_
