// What hostile clients send (docs/security.md, "Bounds"): caller text of
// 5 MB at every place a status could repeat it, and exactly-once verdicts
// for thousands of failed ack ids. Every call is answered within a second
// with a short message, and hubd gives the memory back.
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "google/pubsub/v1/pubsub.grpc.pb.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "tests/support/hub_client.h"
#include "tests/support/test_env.h"

namespace hub::testing {
namespace {

namespace gps = ::google::pubsub::v1;
using grpc::StatusCode;

constexpr char kPolicy[] = R"(
allow ops     *          *
allow reader  subscribe  subscription:readers*
allow team    subscribe  subscription:team-*
)";
// Snapshots of their own by name, as long as this rule stands.
constexpr char kTeamSnapshots[] = "allow team admin snapshot:team-*\n";

// One place a status could repeat caller text: the call, with `text` where
// the caller's text goes.
struct EchoPoint {
  std::string what;
  std::function<grpc::Status(grpc::ClientContext&, const std::string& text)> call;
};

class HostileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/hub-hostile-XXXXXX";
    dir_ = mkdtemp(tmpl);
    WriteTokensFile(dir_ + "/tokens", {"ops", "reader", "team"});
    std::ofstream(dir_ + "/policy") << kPolicy << kTeamSnapshots;
    url_ = SharedPostgres().CreateDatabase();
    hubd_ = std::make_unique<HubProcess>(
        url_, std::vector<std::string>{"--tokens_file=" + dir_ + "/tokens",
                                       "--policy_file=" + dir_ + "/policy",
                                       "--max_snapshots_per_principal=3"});
    ASSERT_NO_FATAL_FAILURE(hubd_->Start());
    channel_ = hubd_->Channel();
    publisher_ = v1::Publisher::NewStub(channel_);
    subscriber_ = v1::Subscriber::NewStub(channel_);
    ps_publisher_ = gps::Publisher::NewStub(channel_);
    ps_subscriber_ = gps::Subscriber::NewStub(channel_);
  }

  void TearDown() override { RunCommand("rm -rf " + dir_); }

  static void As(grpc::ClientContext& ctx, const std::string& token) {
    if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
  }

  // Every place a status could repeat caller text, through both APIs.
  std::vector<EchoPoint> EchoPoints() {
    const std::string topic = "projects/hub/topics/orders";
    const std::string sub = "projects/hub/subscriptions/orders-sub";
    const std::string snapshot = "projects/hub/snapshots/before";
    auto& pub = *ps_publisher_;
    auto& subs = *ps_subscriber_;
    using C = grpc::ClientContext;
    using T = const std::string&;
    return {
        {"CreateTopic name",
         [=, this, &pub, &subs](C& c, T x) {
           gps::Topic r, out;
           r.set_name(x);
           return pub.CreateTopic(&c, r, &out);
         }},
        {"UpdateTopic name",
         [=, this, &pub, &subs](C& c, T x) {
           gps::UpdateTopicRequest r;
           r.mutable_topic()->set_name(x);
           r.mutable_update_mask()->add_paths("labels");
           gps::Topic out;
           return pub.UpdateTopic(&c, r, &out);
         }},
        {"UpdateTopic update_mask path",
         [=, this, &pub, &subs](C& c, T x) {
           gps::UpdateTopicRequest r;
           r.mutable_topic()->set_name(topic);
           r.mutable_update_mask()->add_paths(x);
           gps::Topic out;
           return pub.UpdateTopic(&c, r, &out);
         }},
        {"Publish topic",
         [=, this, &pub, &subs](C& c, T x) {
           gps::PublishRequest r;
           r.set_topic(x);
           r.add_messages()->set_data("d");
           gps::PublishResponse out;
           return pub.Publish(&c, r, &out);
         }},
        {"GetTopic",
         [=, this, &pub, &subs](C& c, T x) {
           gps::GetTopicRequest r;
           r.set_topic(x);
           gps::Topic out;
           return pub.GetTopic(&c, r, &out);
         }},
        {"ListTopics project",
         [=, this, &pub, &subs](C& c, T x) {
           gps::ListTopicsRequest r;
           r.set_project(x);
           gps::ListTopicsResponse out;
           return pub.ListTopics(&c, r, &out);
         }},
        {"ListTopicSubscriptions",
         [=, this, &pub, &subs](C& c, T x) {
           gps::ListTopicSubscriptionsRequest r;
           r.set_topic(x);
           gps::ListTopicSubscriptionsResponse out;
           return pub.ListTopicSubscriptions(&c, r, &out);
         }},
        {"ListTopicSnapshots",
         [=, this, &pub, &subs](C& c, T x) {
           gps::ListTopicSnapshotsRequest r;
           r.set_topic(x);
           gps::ListTopicSnapshotsResponse out;
           return pub.ListTopicSnapshots(&c, r, &out);
         }},
        {"DeleteTopic",
         [=, this, &pub, &subs](C& c, T x) {
           gps::DeleteTopicRequest r;
           r.set_topic(x);
           google::protobuf::Empty out;
           return pub.DeleteTopic(&c, r, &out);
         }},
        {"DetachSubscription",
         [=, this, &pub, &subs](C& c, T x) {
           gps::DetachSubscriptionRequest r;
           r.set_subscription(x);
           gps::DetachSubscriptionResponse out;
           return pub.DetachSubscription(&c, r, &out);
         }},
        {"CreateSubscription name",
         [=, this, &pub, &subs](C& c, T x) {
           gps::Subscription r, out;
           r.set_name(x);
           r.set_topic(topic);
           return subs.CreateSubscription(&c, r, &out);
         }},
        {"CreateSubscription topic",
         [=, this, &pub, &subs](C& c, T x) {
           gps::Subscription r, out;
           r.set_name("projects/hub/subscriptions/new-sub");
           r.set_topic(x);
           return subs.CreateSubscription(&c, r, &out);
         }},
        {"GetSubscription",
         [=, this, &pub, &subs](C& c, T x) {
           gps::GetSubscriptionRequest r;
           r.set_subscription(x);
           gps::Subscription out;
           return subs.GetSubscription(&c, r, &out);
         }},
        {"UpdateSubscription name",
         [=, this, &pub, &subs](C& c, T x) {
           gps::UpdateSubscriptionRequest r;
           r.mutable_subscription()->set_name(x);
           r.mutable_update_mask()->add_paths("labels");
           gps::Subscription out;
           return subs.UpdateSubscription(&c, r, &out);
         }},
        {"UpdateSubscription update_mask path",
         [=, this, &pub, &subs](C& c, T x) {
           gps::UpdateSubscriptionRequest r;
           r.mutable_subscription()->set_name(sub);
           r.mutable_update_mask()->add_paths(x);
           gps::Subscription out;
           return subs.UpdateSubscription(&c, r, &out);
         }},
        {"ListSubscriptions project",
         [=, this, &pub, &subs](C& c, T x) {
           gps::ListSubscriptionsRequest r;
           r.set_project(x);
           gps::ListSubscriptionsResponse out;
           return subs.ListSubscriptions(&c, r, &out);
         }},
        {"DeleteSubscription",
         [=, this, &pub, &subs](C& c, T x) {
           gps::DeleteSubscriptionRequest r;
           r.set_subscription(x);
           google::protobuf::Empty out;
           return subs.DeleteSubscription(&c, r, &out);
         }},
        {"ModifyAckDeadline subscription",
         [=, this, &pub, &subs](C& c, T x) {
           gps::ModifyAckDeadlineRequest r;
           r.set_subscription(x);
           r.add_ack_ids("1-1-1");
           google::protobuf::Empty out;
           return subs.ModifyAckDeadline(&c, r, &out);
         }},
        {"ModifyAckDeadline ack id",
         [=, this, &pub, &subs](C& c, T x) {
           gps::ModifyAckDeadlineRequest r;
           r.set_subscription(sub);
           r.add_ack_ids(x);
           r.set_ack_deadline_seconds(10);
           google::protobuf::Empty out;
           return subs.ModifyAckDeadline(&c, r, &out);
         }},
        {"Acknowledge subscription",
         [=, this, &pub, &subs](C& c, T x) {
           gps::AcknowledgeRequest r;
           r.set_subscription(x);
           r.add_ack_ids("1-1-1");
           google::protobuf::Empty out;
           return subs.Acknowledge(&c, r, &out);
         }},
        {"Acknowledge ack id",
         [=, this, &pub, &subs](C& c, T x) {
           gps::AcknowledgeRequest r;
           r.set_subscription(sub);
           r.add_ack_ids(x);
           google::protobuf::Empty out;
           return subs.Acknowledge(&c, r, &out);
         }},
        {"Pull",
         [=, this, &pub, &subs](C& c, T x) {
           gps::PullRequest r;
           r.set_subscription(x);
           r.set_max_messages(1);
           gps::PullResponse out;
           return subs.Pull(&c, r, &out);
         }},
        {"StreamingPull",
         [=, this, &pub, &subs](C& c, T x) {
           auto stream = subs.StreamingPull(&c);
           gps::StreamingPullRequest first;
           first.set_subscription(x);
           first.set_stream_ack_deadline_seconds(10);
           stream->Write(first);
           stream->WritesDone();
           gps::StreamingPullResponse response;
           while (stream->Read(&response)) {
           }
           return stream->Finish();
         }},
        {"ModifyPushConfig",
         [=, this, &pub, &subs](C& c, T x) {
           gps::ModifyPushConfigRequest r;
           r.set_subscription(x);
           google::protobuf::Empty out;
           return subs.ModifyPushConfig(&c, r, &out);
         }},
        {"GetSnapshot",
         [=, this, &pub, &subs](C& c, T x) {
           gps::GetSnapshotRequest r;
           r.set_snapshot(x);
           gps::Snapshot out;
           return subs.GetSnapshot(&c, r, &out);
         }},
        {"ListSnapshots project",
         [=, this, &pub, &subs](C& c, T x) {
           gps::ListSnapshotsRequest r;
           r.set_project(x);
           gps::ListSnapshotsResponse out;
           return subs.ListSnapshots(&c, r, &out);
         }},
        {"CreateSnapshot name",
         [=, this, &pub, &subs](C& c, T x) {
           gps::CreateSnapshotRequest r;
           r.set_name(x);
           r.set_subscription(sub);
           gps::Snapshot out;
           return subs.CreateSnapshot(&c, r, &out);
         }},
        {"CreateSnapshot subscription",
         [=, this, &pub, &subs](C& c, T x) {
           gps::CreateSnapshotRequest r;
           r.set_name("projects/hub/snapshots/new-snap");
           r.set_subscription(x);
           gps::Snapshot out;
           return subs.CreateSnapshot(&c, r, &out);
         }},
        {"UpdateSnapshot name",
         [=, this, &pub, &subs](C& c, T x) {
           gps::UpdateSnapshotRequest r;
           r.mutable_snapshot()->set_name(x);
           r.mutable_update_mask()->add_paths("labels");
           gps::Snapshot out;
           return subs.UpdateSnapshot(&c, r, &out);
         }},
        {"UpdateSnapshot update_mask path",
         [=, this, &pub, &subs](C& c, T x) {
           gps::UpdateSnapshotRequest r;
           r.mutable_snapshot()->set_name(snapshot);
           r.mutable_update_mask()->add_paths(x);
           gps::Snapshot out;
           return subs.UpdateSnapshot(&c, r, &out);
         }},
        {"DeleteSnapshot",
         [=, this, &pub, &subs](C& c, T x) {
           gps::DeleteSnapshotRequest r;
           r.set_snapshot(x);
           google::protobuf::Empty out;
           return subs.DeleteSnapshot(&c, r, &out);
         }},
        {"Seek subscription",
         [=, this, &pub, &subs](C& c, T x) {
           gps::SeekRequest r;
           r.set_subscription(x);
           r.mutable_time()->set_seconds(0);
           gps::SeekResponse out;
           return subs.Seek(&c, r, &out);
         }},
        {"Seek snapshot",
         [=, this, &pub, &subs](C& c, T x) {
           gps::SeekRequest r;
           r.set_subscription(sub);
           r.set_snapshot(x);
           gps::SeekResponse out;
           return subs.Seek(&c, r, &out);
         }},
        {"hub.v1 Publish topic",
         [=, this, &pub, &subs](C& c, T x) {
           v1::PublishRequest r;
           r.set_topic(x);
           r.add_messages()->set_data("d");
           v1::PublishResponse out;
           return publisher_->Publish(&c, r, &out);
         }},
        {"hub.v1 UpdateTopic update_mask path",
         [=, this, &pub, &subs](C& c, T x) {
           v1::UpdateTopicRequest r;
           r.mutable_topic()->set_name("orders");
           r.mutable_update_mask()->add_paths(x);
           v1::Topic out;
           return publisher_->UpdateTopic(&c, r, &out);
         }},
        {"hub.v1 UpdateSubscription update_mask path",
         [=, this, &pub, &subs](C& c, T x) {
           v1::UpdateSubscriptionRequest r;
           r.mutable_subscription()->set_name("orders-sub");
           r.mutable_update_mask()->add_paths(x);
           v1::Subscription out;
           return subscriber_->UpdateSubscription(&c, r, &out);
         }},
    };
  }

  void CreateEstate() {
    grpc::ClientContext c1, c2, c3;
    As(c1, "t-ops");
    As(c2, "t-ops");
    As(c3, "t-ops");
    gps::Topic t, topic_out;
    t.set_name("projects/hub/topics/orders");
    ASSERT_TRUE(ps_publisher_->CreateTopic(&c1, t, &topic_out).ok());
    gps::Subscription s, sub_out;
    s.set_name("projects/hub/subscriptions/orders-sub");
    s.set_topic(t.name());
    ASSERT_TRUE(ps_subscriber_->CreateSubscription(&c2, s, &sub_out).ok());
    gps::CreateSnapshotRequest snap;
    snap.set_name("projects/hub/snapshots/before");
    snap.set_subscription(s.name());
    gps::Snapshot snap_out;
    ASSERT_TRUE(ps_subscriber_->CreateSnapshot(&c3, snap, &snap_out).ok());
  }

  int64_t CountRowsOf(const std::string& table) {
    return std::stoll(QueryValue(url_, "SELECT count(*) FROM " + table));
  }

  std::string dir_, url_;
  std::unique_ptr<HubProcess> hubd_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Publisher::Stub> publisher_;
  std::unique_ptr<v1::Subscriber::Stub> subscriber_;
  std::unique_ptr<gps::Publisher::Stub> ps_publisher_;
  std::unique_ptr<gps::Subscriber::Stub> ps_subscriber_;
};

// Each echo point with 5 MB of caller text: without a token, as a principal
// who may do everything, and (where the policy is asked before the name is
// read) as one who may not. A status message of 64 KiB or more is never
// sent: before the bound, such calls hung and kept their memory.
TEST_F(HostileTest, FiveMegabytesOfCallerTextAreAnsweredAtOnceAndShort) {
  ASSERT_NO_FATAL_FAILURE(CreateEstate());
  const std::string text(5'000'000, 'a');
  const double rss_before = RssMiB(hubd_->pid());
  struct Caller {
    std::string token;
    StatusCode expected;
  };
  int calls = 0;
  for (const Caller& caller :
       {Caller{"", StatusCode::UNAUTHENTICATED}, Caller{"t-ops", StatusCode::INVALID_ARGUMENT},
        Caller{"t-reader", StatusCode::INVALID_ARGUMENT}}) {
    for (const EchoPoint& point : EchoPoints()) {
      const bool hub_v1 = absl::StartsWith(point.what, "hub.v1");
      grpc::ClientContext ctx;
      ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
      As(ctx, caller.token);
      const absl::Time start = absl::Now();
      const grpc::Status s = point.call(ctx, text);
      const absl::Duration took = absl::Now() - start;
      ++calls;
      // A principal without the permission may hear that first (hub.v1
      // asks the policy about a name before it reads the name).
      const bool refused_first =
          caller.token == "t-reader" && s.error_code() == StatusCode::PERMISSION_DENIED;
      if (hub_v1 && caller.token == "t-reader") {
        EXPECT_TRUE(refused_first) << point.what;
      }
      if (!refused_first) {
        EXPECT_EQ(s.error_code(), caller.expected)
            << point.what << " as '" << caller.token << "': " << s.error_message().substr(0, 300);
      }
      EXPECT_LT(took, absl::Seconds(1)) << point.what << " as '" << caller.token << "'";
      EXPECT_LT(s.error_message().size(), 1024u) << point.what << " as '" << caller.token << "'";
      EXPECT_FALSE(absl::StrContains(s.error_message(), std::string(1000, 'a'))) << point.what;
    }
  }
  // hubd gives the requests' memory back (each call brought 5 MB); what is
  // freed inside glibc's heaps goes back within hubd's 10 s of returning it.
  const double rss_at_end = RssMiB(hubd_->pid());
  double rss_after = rss_at_end;
  for (int i = 0; i < 30 && rss_after > rss_before + 16; ++i) {
    absl::SleepFor(absl::Milliseconds(500));
    rss_after = RssMiB(hubd_->pid());
  }
  std::printf(
      "%d calls with 5 MB of caller text: hubd RSS %.0f MiB before, %.0f MiB at their end, "
      "%.0f MiB after\n",
      calls, rss_before, rss_at_end, rss_after);
  EXPECT_LE(rss_after, rss_before + 16);
}

// A consumer that stalled past its leases acks 5,000 ids of an exactly-once
// subscription: the verdict comes at once, its ErrorInfo is bounded and the
// message counts every failed id; the connection serves the next call.
TEST_F(HostileTest, FiveThousandFailedExactlyOnceAcksAreAnsweredAtOnce) {
  grpc::ClientContext c1, c2;
  As(c1, "t-ops");
  As(c2, "t-ops");
  gps::Topic t, topic_out;
  t.set_name("projects/hub/topics/payments");
  ASSERT_TRUE(ps_publisher_->CreateTopic(&c1, t, &topic_out).ok());
  gps::Subscription s, sub_out;
  s.set_name("projects/hub/subscriptions/payments-sub");
  s.set_topic(t.name());
  s.set_enable_exactly_once_delivery(true);
  s.set_ack_deadline_seconds(1);
  ASSERT_TRUE(ps_subscriber_->CreateSubscription(&c2, s, &sub_out).ok());
  for (int batch = 0; batch < 5; ++batch) {
    grpc::ClientContext ctx;
    As(ctx, "t-ops");
    gps::PublishRequest r;
    r.set_topic(t.name());
    for (int i = 0; i < 1000; ++i) r.add_messages()->set_data(absl::StrCat("m", batch, "-", i));
    gps::PublishResponse out;
    ASSERT_TRUE(ps_publisher_->Publish(&ctx, r, &out).ok());
  }
  gps::AcknowledgeRequest ack;
  ack.set_subscription(s.name());
  for (int tries = 0; ack.ack_ids_size() < 5000 && tries < 50; ++tries) {
    grpc::ClientContext ctx;
    As(ctx, "t-ops");
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    gps::PullRequest r;
    r.set_subscription(s.name());
    r.set_max_messages(1000);
    gps::PullResponse out;
    ASSERT_TRUE(ps_subscriber_->Pull(&ctx, r, &out).ok());
    for (const auto& m : out.received_messages()) ack.add_ack_ids(m.ack_id());
  }
  ASSERT_EQ(ack.ack_ids_size(), 5000);
  absl::SleepFor(absl::Milliseconds(2500));  // every lease runs out

  grpc::ClientContext ctx;
  As(ctx, "t-ops");
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
  google::protobuf::Empty empty;
  const absl::Time start = absl::Now();
  const grpc::Status status = ps_subscriber_->Acknowledge(&ctx, ack, &empty);
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_LT(took, absl::Seconds(2));
  EXPECT_TRUE(
      absl::StrContains(status.error_message(), "5000 of 5000 ack ids failed: 5000 expired"))
      << status.error_message();
  google::rpc::Status details;
  ASSERT_TRUE(details.ParseFromString(status.error_details()));
  ASSERT_EQ(details.details_size(), 1);
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(details.details(0).UnpackTo(&info));
  EXPECT_EQ(info.reason(), "EXACTLY_ONCE_ACKID_FAILURE");
  EXPECT_GT(info.metadata_size(), 20);
  EXPECT_LT(info.metadata_size(), 5000);
  // Clients of gRPC's C core take 8 KiB of trailers; the details go base64.
  EXPECT_LT(status.error_details().size(), 4u * 1024);
  for (const auto& [id, verdict] : info.metadata()) {
    EXPECT_EQ(verdict, "PERMANENT_FAILURE_INVALID_ACK_ID") << id;
  }
  EXPECT_TRUE(absl::StrContains(status.error_message(),
                                absl::StrCat("ErrorInfo names ", info.metadata_size(), " of them")))
      << status.error_message();
  std::printf("5,000 expired acks answered in %s; ErrorInfo names %d ids in %zu bytes\n",
              absl::FormatDuration(took).c_str(), info.metadata_size(),
              status.error_details().size());

  // The same connection answers the next large call too.
  grpc::ClientContext again;
  As(again, "t-ops");
  again.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
  EXPECT_EQ(ps_subscriber_->Acknowledge(&again, ack, &empty).error_code(),
            StatusCode::INVALID_ARGUMENT);
}

// Snapshot calls of the Pub/Sub API as `token`.
class Snapshots {
 public:
  Snapshots(gps::Subscriber::Stub& stub, std::string token)
      : stub_(stub), token_(std::move(token)) {}

  grpc::Status Create(const std::string& name, const std::string& subscription) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + token_);
    gps::CreateSnapshotRequest r;
    r.set_name("projects/hub/snapshots/" + name);
    r.set_subscription("projects/hub/subscriptions/" + subscription);
    gps::Snapshot out;
    return stub_.CreateSnapshot(&ctx, r, &out);
  }
  grpc::Status Get(const std::string& name) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + token_);
    gps::GetSnapshotRequest r;
    r.set_snapshot("projects/hub/snapshots/" + name);
    gps::Snapshot out;
    return stub_.GetSnapshot(&ctx, r, &out);
  }
  grpc::Status Delete(const std::string& name) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + token_);
    gps::DeleteSnapshotRequest r;
    r.set_snapshot("projects/hub/snapshots/" + name);
    google::protobuf::Empty out;
    return stub_.DeleteSnapshot(&ctx, r, &out);
  }
  grpc::Status Seek(const std::string& subscription, const std::string& name) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + token_);
    gps::SeekRequest r;
    r.set_subscription("projects/hub/subscriptions/" + subscription);
    r.set_snapshot("projects/hub/snapshots/" + name);
    gps::SeekResponse out;
    return stub_.Seek(&ctx, r, &out);
  }
  std::vector<std::string> List() {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + token_);
    gps::ListSnapshotsRequest r;
    r.set_project("projects/hub");
    gps::ListSnapshotsResponse out;
    std::vector<std::string> names;
    if (!stub_.ListSnapshots(&ctx, r, &out).ok()) return {"(failed)"};
    for (const auto& s : out.snapshots()) names.push_back(s.name().substr(s.name().rfind('/') + 1));
    return names;
  }

 private:
  gps::Subscriber::Stub& stub_;
  const std::string token_;
};

// Probe finding: a principal with only subscribe made snapshots under any
// name, without bound. Creating one now needs admin on its name, each
// principal has at most --max_snapshots_per_principal, the creator can
// always see and delete its own, and a caller who may not touch a snapshot
// hears the same whether it exists or not, Seek included.
TEST_F(HostileTest, SnapshotsNeedTheirNameAreCappedAndStayTheirCreators) {
  ASSERT_NO_FATAL_FAILURE(CreateEstate());  // orders, orders-sub, snapshot "before"
  {
    grpc::ClientContext c1, c2;
    As(c1, "t-ops");
    As(c2, "t-ops");
    gps::Subscription s, out;
    s.set_topic("projects/hub/topics/orders");
    s.set_name("projects/hub/subscriptions/team-sub");
    ASSERT_TRUE(ps_subscriber_->CreateSubscription(&c1, s, &out).ok());
    s.set_name("projects/hub/subscriptions/readers-sub");
    ASSERT_TRUE(ps_subscriber_->CreateSubscription(&c2, s, &out).ok());
  }
  Snapshots team(*ps_subscriber_, "t-team");
  Snapshots reader(*ps_subscriber_, "t-reader");
  // Subscribe on the subscription is not enough; the name needs admin.
  EXPECT_EQ(reader.Create("readers-snap", "readers-sub").error_code(),
            StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(team.Create("secret-snap2", "team-sub").error_code(), StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(team.Create("team-1", "orders-sub").error_code(), StatusCode::PERMISSION_DENIED);
  // Three each.
  for (const char* name : {"team-1", "team-2", "team-3"}) {
    EXPECT_TRUE(team.Create(name, "team-sub").ok()) << name;
  }
  const grpc::Status fourth = team.Create("team-4", "team-sub");
  EXPECT_EQ(fourth.error_code(), StatusCode::RESOURCE_EXHAUSTED) << fourth.error_message();
  EXPECT_TRUE(absl::StrContains(fourth.error_message(), "--max_snapshots_per_principal"));
  EXPECT_TRUE(team.Delete("team-1").ok());
  EXPECT_TRUE(team.Create("team-4", "team-sub").ok());
  EXPECT_EQ(CountRowsOf("snapshots"), 4);  // "before" and team's three

  // The rule that let team make them goes; the creator still sees and
  // deletes its own, and nothing else.
  std::ofstream(dir_ + "/policy") << kPolicy;
  ASSERT_TRUE(hubd_->Terminate().ok());
  ASSERT_NO_FATAL_FAILURE(hubd_->Start());
  EXPECT_EQ(team.List(), (std::vector<std::string>{"team-2", "team-3", "team-4"}));
  EXPECT_TRUE(team.Get("team-2").ok());
  EXPECT_TRUE(team.Delete("team-2").ok());
  EXPECT_TRUE(team.Seek("team-sub", "team-3").ok());
  // Another's snapshot and a missing one are refused alike, and the refusal
  // names no topic.
  const grpc::Status other = team.Get("before");
  const grpc::Status missing = team.Get("no-such-snap");
  EXPECT_EQ(other.error_code(), StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(missing.error_code(), StatusCode::PERMISSION_DENIED);
  const grpc::Status seek_other = team.Seek("team-sub", "before");
  const grpc::Status seek_missing = team.Seek("team-sub", "no-such-snap");
  EXPECT_EQ(seek_other.error_code(), StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(seek_missing.error_code(), StatusCode::PERMISSION_DENIED);
  EXPECT_FALSE(absl::StrContains(seek_other.error_message(), "orders"))
      << seek_other.error_message();
  EXPECT_EQ(team.Delete("before").error_code(), StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(CountRowsOf("snapshots"), 3);
}

}  // namespace
}  // namespace hub::testing
