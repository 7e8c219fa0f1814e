#include "common/proto_time.h"

#include <gtest/gtest.h>

namespace hub {
namespace {

TEST(ProtoTimeTest, DurationsAndTimesRoundTripToTheNanosecond) {
  for (absl::Duration d : {absl::ZeroDuration(), absl::Nanoseconds(1), absl::Seconds(600),
                           absl::Milliseconds(-1500), absl::Hours(24 * 366)}) {
    google::protobuf::Duration proto;
    ToProtoDuration(d, &proto);
    EXPECT_EQ(FromProtoDuration(proto), d) << d;
  }
  google::protobuf::Duration negative;
  ToProtoDuration(absl::Milliseconds(-1500), &negative);
  EXPECT_EQ(negative.seconds(), -1);  // the sign on both fields, as the proto asks
  EXPECT_EQ(negative.nanos(), -500000000);
  for (absl::Time t :
       {absl::UnixEpoch(), absl::FromUnixNanos(1764577200123456789), absl::FromUnixMillis(-1)}) {
    google::protobuf::Timestamp proto;
    ToProtoTime(t, &proto);
    EXPECT_GE(proto.nanos(), 0);
    EXPECT_EQ(FromProtoTime(proto), t);
  }
  google::protobuf::Timestamp before_epoch;
  ToProtoTime(absl::FromUnixMillis(-1), &before_epoch);
  EXPECT_EQ(before_epoch.seconds(), -1);
  EXPECT_EQ(before_epoch.nanos(), 999000000);
}

}  // namespace
}  // namespace hub
