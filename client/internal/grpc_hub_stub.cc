#include "client/internal/grpc_hub_stub.h"

#include <fstream>
#include <sstream>
#include <vector>

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/proto_time.h"

namespace hub::client::internal {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("cannot read ", path));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// "a:1,b:2" names replicas: one channel over all of them, round robin.
std::string ChannelTarget(const std::string& endpoint) {
  if (endpoint.find(',') == std::string::npos) return endpoint;
  return absl::StrCat("ipv4:", endpoint);
}

class GrpcPullStream final : public PullStream {
 public:
  GrpcPullStream(v1::Subscriber::Stub& stub, std::unique_ptr<grpc::ClientContext> context)
      : context_(std::move(context)), stream_(stub.StreamingPull(context_.get())) {}

  bool Write(const v1::StreamingPullRequest& request) override { return stream_->Write(request); }
  bool Read(v1::StreamingPullResponse* response) override { return stream_->Read(response); }
  bool WritesDone() override { return stream_->WritesDone(); }
  void Cancel() override { context_->TryCancel(); }
  absl::Status Finish() override { return FromGrpcStatus(stream_->Finish()); }

 private:
  std::unique_ptr<grpc::ClientContext> context_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::StreamingPullRequest, v1::StreamingPullResponse>>
      stream_;
};

}  // namespace

absl::StatusCode FromGrpcCode(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return absl::StatusCode::kOk;
    case grpc::StatusCode::CANCELLED:
      return absl::StatusCode::kCancelled;
    case grpc::StatusCode::UNKNOWN:
      return absl::StatusCode::kUnknown;
    case grpc::StatusCode::INVALID_ARGUMENT:
      return absl::StatusCode::kInvalidArgument;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return absl::StatusCode::kDeadlineExceeded;
    case grpc::StatusCode::NOT_FOUND:
      return absl::StatusCode::kNotFound;
    case grpc::StatusCode::ALREADY_EXISTS:
      return absl::StatusCode::kAlreadyExists;
    case grpc::StatusCode::PERMISSION_DENIED:
      return absl::StatusCode::kPermissionDenied;
    case grpc::StatusCode::UNAUTHENTICATED:
      return absl::StatusCode::kUnauthenticated;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return absl::StatusCode::kResourceExhausted;
    case grpc::StatusCode::FAILED_PRECONDITION:
      return absl::StatusCode::kFailedPrecondition;
    case grpc::StatusCode::ABORTED:
      return absl::StatusCode::kAborted;
    case grpc::StatusCode::OUT_OF_RANGE:
      return absl::StatusCode::kOutOfRange;
    case grpc::StatusCode::UNIMPLEMENTED:
      return absl::StatusCode::kUnimplemented;
    case grpc::StatusCode::INTERNAL:
      return absl::StatusCode::kInternal;
    case grpc::StatusCode::UNAVAILABLE:
      return absl::StatusCode::kUnavailable;
    case grpc::StatusCode::DATA_LOSS:
      return absl::StatusCode::kDataLoss;
    case grpc::StatusCode::DO_NOT_USE:
      return absl::StatusCode::kUnknown;
  }
  return absl::StatusCode::kUnknown;
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(FromGrpcCode(status.error_code()), status.error_message());
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(const ConnectionOptions& options) {
  // A URL where host:port belongs would fail later as "no hub at".
  for (absl::string_view endpoint : absl::StrSplit(options.endpoint, ',')) {
    const std::string lower = absl::AsciiStrToLower(endpoint);
    if (absl::StartsWith(lower, "http://") || absl::StartsWith(lower, "https://")) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the endpoint ", endpoint, " is a URL: give host:port, without ",
          endpoint.substr(0, endpoint.find("://") + 3), " (TLS is an option of its own)"));
    }
  }
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (options.tls || !options.ca_file.empty() || !options.cert_file.empty()) {
    grpc::SslCredentialsOptions ssl;
    if (!options.ca_file.empty()) {
      absl::StatusOr<std::string> ca = ReadFile(options.ca_file);
      if (!ca.ok()) return ca.status();
      ssl.pem_root_certs = *ca;
    }
    if (options.cert_file.empty() != options.key_file.empty()) {
      return absl::InvalidArgumentError("a client certificate needs both cert_file and key_file");
    }
    if (!options.cert_file.empty()) {
      absl::StatusOr<std::string> cert = ReadFile(options.cert_file);
      if (!cert.ok()) return cert.status();
      absl::StatusOr<std::string> key = ReadFile(options.key_file);
      if (!key.ok()) return key.status();
      ssl.pem_cert_chain = *cert;
      ssl.pem_private_key = *key;
    }
    credentials = grpc::SslCredentials(ssl);
  } else {
    credentials = grpc::InsecureChannelCredentials();
  }
  grpc::ChannelArguments args;
  // The hub takes publishes up to 10 MiB and may deliver as much at once.
  args.SetMaxReceiveMessageSize(-1);
  args.SetMaxSendMessageSize(-1);
  args.SetLoadBalancingPolicyName("round_robin");
  return grpc::CreateCustomChannel(ChannelTarget(options.endpoint), credentials, args);
}

GrpcHubStub::GrpcHubStub(std::shared_ptr<grpc::Channel> channel, const ConnectionOptions& options)
    : channel_(channel),
      endpoint_(options.endpoint),
      publisher_(v1::Publisher::NewStub(channel)),
      subscriber_(v1::Subscriber::NewStub(channel)),
      schemas_(v1::SchemaService::NewStub(channel)),
      authorization_(options.bearer_token.empty() ? std::string()
                                                  : absl::StrCat("Bearer ", options.bearer_token)),
      call_timeout_(options.call_timeout) {}

void GrpcHubStub::Prepare(grpc::ClientContext& context, absl::Duration timeout) const {
  if (timeout != absl::InfiniteDuration()) {
    context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  }
  if (!authorization_.empty()) context.AddMetadata("authorization", authorization_);
}

template <typename Response, typename Request, typename Method>
absl::StatusOr<Response> GrpcHubStub::Call(Method method, const Request& request,
                                           absl::Duration extra_time) {
  grpc::ClientContext context;
  Prepare(context, call_timeout_ + extra_time);
  Response response;
  grpc::Status status = method(&context, request, &response);
  if (!status.ok()) return FromGrpcStatus(status);
  return response;
}

#define HUB_PUBLISHER_CALL(Response, Rpc)                                  \
  Call<Response>([this](grpc::ClientContext* c, const auto& q,             \
                        Response* r) { return publisher_->Rpc(c, q, r); }, \
                 request)
#define HUB_SUBSCRIBER_CALL(Response, Rpc)                                  \
  Call<Response>([this](grpc::ClientContext* c, const auto& q,              \
                        Response* r) { return subscriber_->Rpc(c, q, r); }, \
                 request)
#define HUB_SCHEMAS_CALL(Response, Rpc)                                  \
  Call<Response>([this](grpc::ClientContext* c, const auto& q,           \
                        Response* r) { return schemas_->Rpc(c, q, r); }, \
                 request)

absl::StatusOr<v1::Topic> GrpcHubStub::CreateTopic(const v1::Topic& request) {
  return HUB_PUBLISHER_CALL(v1::Topic, CreateTopic);
}
absl::StatusOr<v1::Topic> GrpcHubStub::GetTopic(const v1::GetTopicRequest& request) {
  return HUB_PUBLISHER_CALL(v1::Topic, GetTopic);
}
absl::StatusOr<v1::ListTopicsResponse> GrpcHubStub::ListTopics(
    const v1::ListTopicsRequest& request) {
  return HUB_PUBLISHER_CALL(v1::ListTopicsResponse, ListTopics);
}
absl::StatusOr<v1::Topic> GrpcHubStub::UpdateTopic(const v1::UpdateTopicRequest& request) {
  return HUB_PUBLISHER_CALL(v1::Topic, UpdateTopic);
}
absl::Status GrpcHubStub::DeleteTopic(const v1::DeleteTopicRequest& request) {
  return HUB_PUBLISHER_CALL(google::protobuf::Empty, DeleteTopic).status();
}
absl::StatusOr<v1::PublishResponse> GrpcHubStub::Publish(const v1::PublishRequest& request) {
  return HUB_PUBLISHER_CALL(v1::PublishResponse, Publish);
}
absl::StatusOr<v1::Subscription> GrpcHubStub::CreateSubscription(const v1::Subscription& request) {
  return HUB_SUBSCRIBER_CALL(v1::Subscription, CreateSubscription);
}
absl::StatusOr<v1::Subscription> GrpcHubStub::GetSubscription(
    const v1::GetSubscriptionRequest& request) {
  return HUB_SUBSCRIBER_CALL(v1::Subscription, GetSubscription);
}
absl::StatusOr<v1::ListSubscriptionsResponse> GrpcHubStub::ListSubscriptions(
    const v1::ListSubscriptionsRequest& request) {
  return HUB_SUBSCRIBER_CALL(v1::ListSubscriptionsResponse, ListSubscriptions);
}
absl::StatusOr<v1::Subscription> GrpcHubStub::UpdateSubscription(
    const v1::UpdateSubscriptionRequest& request) {
  return HUB_SUBSCRIBER_CALL(v1::Subscription, UpdateSubscription);
}
absl::Status GrpcHubStub::DeleteSubscription(const v1::DeleteSubscriptionRequest& request) {
  return HUB_SUBSCRIBER_CALL(google::protobuf::Empty, DeleteSubscription).status();
}
absl::StatusOr<v1::SubscriptionStats> GrpcHubStub::GetSubscriptionStats(
    const v1::GetSubscriptionStatsRequest& request) {
  return HUB_SUBSCRIBER_CALL(v1::SubscriptionStats, GetSubscriptionStats);
}
absl::StatusOr<v1::MessageFate> GrpcHubStub::GetMessageFate(
    const v1::GetMessageFateRequest& request) {
  return HUB_SUBSCRIBER_CALL(v1::MessageFate, GetMessageFate);
}
absl::StatusOr<v1::ListMessagesResponse> GrpcHubStub::ListMessages(
    const v1::ListMessagesRequest& request) {
  return HUB_SUBSCRIBER_CALL(v1::ListMessagesResponse, ListMessages);
}
absl::StatusOr<v1::ListSubscriptionMessagesResponse> GrpcHubStub::ListSubscriptionMessages(
    const v1::ListSubscriptionMessagesRequest& request) {
  return HUB_SUBSCRIBER_CALL(v1::ListSubscriptionMessagesResponse, ListSubscriptionMessages);
}
absl::StatusOr<v1::RedriveResponse> GrpcHubStub::Redrive(const v1::RedriveRequest& request) {
  return HUB_SUBSCRIBER_CALL(v1::RedriveResponse, Redrive);
}
absl::StatusOr<v1::Snapshot> GrpcHubStub::CreateSnapshot(const v1::CreateSnapshotRequest& request) {
  return HUB_SUBSCRIBER_CALL(v1::Snapshot, CreateSnapshot);
}
absl::StatusOr<v1::ListSnapshotsResponse> GrpcHubStub::ListSnapshots(
    const v1::ListSnapshotsRequest& request) {
  return HUB_SUBSCRIBER_CALL(v1::ListSnapshotsResponse, ListSnapshots);
}
absl::Status GrpcHubStub::DeleteSnapshot(const v1::DeleteSnapshotRequest& request) {
  return HUB_SUBSCRIBER_CALL(google::protobuf::Empty, DeleteSnapshot).status();
}
absl::StatusOr<v1::Schema> GrpcHubStub::CreateSchema(const v1::CreateSchemaRequest& request) {
  return HUB_SCHEMAS_CALL(v1::Schema, CreateSchema);
}
absl::StatusOr<v1::Schema> GrpcHubStub::GetSchema(const v1::GetSchemaRequest& request) {
  return HUB_SCHEMAS_CALL(v1::Schema, GetSchema);
}
absl::StatusOr<v1::ListSchemasResponse> GrpcHubStub::ListSchemas(
    const v1::ListSchemasRequest& request) {
  return HUB_SCHEMAS_CALL(v1::ListSchemasResponse, ListSchemas);
}
absl::StatusOr<v1::Schema> GrpcHubStub::CommitSchema(const v1::CommitSchemaRequest& request) {
  return HUB_SCHEMAS_CALL(v1::Schema, CommitSchema);
}
absl::StatusOr<v1::Schema> GrpcHubStub::RollbackSchema(const v1::RollbackSchemaRequest& request) {
  return HUB_SCHEMAS_CALL(v1::Schema, RollbackSchema);
}
absl::Status GrpcHubStub::DeleteSchema(const v1::DeleteSchemaRequest& request) {
  return HUB_SCHEMAS_CALL(google::protobuf::Empty, DeleteSchema).status();
}
absl::StatusOr<v1::ValidateSchemaResponse> GrpcHubStub::ValidateSchema(
    const v1::ValidateSchemaRequest& request) {
  return HUB_SCHEMAS_CALL(v1::ValidateSchemaResponse, ValidateSchema);
}
absl::StatusOr<v1::ValidateMessageResponse> GrpcHubStub::ValidateMessage(
    const v1::ValidateMessageRequest& request) {
  return HUB_SCHEMAS_CALL(v1::ValidateMessageResponse, ValidateMessage);
}
absl::StatusOr<v1::PullResponse> GrpcHubStub::Pull(const v1::PullRequest& request) {
  // A long poll waits up to max_wait on the hub before it answers.
  const absl::Duration wait = FromProtoDuration(request.max_wait());
  return Call<v1::PullResponse>([this](grpc::ClientContext* c, const auto& q,
                                       v1::PullResponse* r) { return subscriber_->Pull(c, q, r); },
                                request, wait);
}
absl::StatusOr<v1::AcknowledgeResponse> GrpcHubStub::Acknowledge(
    const v1::AcknowledgeRequest& request) {
  return HUB_SUBSCRIBER_CALL(v1::AcknowledgeResponse, Acknowledge);
}
absl::StatusOr<v1::ModifyAckDeadlineResponse> GrpcHubStub::ModifyAckDeadline(
    const v1::ModifyAckDeadlineRequest& request) {
  return HUB_SUBSCRIBER_CALL(v1::ModifyAckDeadlineResponse, ModifyAckDeadline);
}
absl::StatusOr<v1::RejectResponse> GrpcHubStub::Reject(const v1::RejectRequest& request) {
  return HUB_SUBSCRIBER_CALL(v1::RejectResponse, Reject);
}
absl::StatusOr<v1::SeekResponse> GrpcHubStub::Seek(const v1::SeekRequest& request) {
  return HUB_SUBSCRIBER_CALL(v1::SeekResponse, Seek);
}
absl::StatusOr<v1::TransactResponse> GrpcHubStub::Transact(const v1::TransactRequest& request) {
  return HUB_SUBSCRIBER_CALL(v1::TransactResponse, Transact);
}

#undef HUB_PUBLISHER_CALL
#undef HUB_SUBSCRIBER_CALL

std::unique_ptr<PullStream> GrpcHubStub::StreamingPull() {
  auto context = std::make_unique<grpc::ClientContext>();
  // A stream lives until either side ends it; no deadline.
  Prepare(*context, absl::InfiniteDuration());
  return std::make_unique<GrpcPullStream>(*subscriber_, std::move(context));
}

absl::Status GrpcHubStub::WaitUntilReachable(absl::Duration timeout) {
  const auto deadline = absl::ToChronoTime(absl::Now() + timeout);
  // Until connected, refused (every address failed once: no reason to wait
  // out the reconnect backoff), or out of time.
  for (grpc_connectivity_state state = channel_->GetState(true);;
       state = channel_->GetState(true)) {
    if (state == GRPC_CHANNEL_READY) return absl::OkStatus();
    if (state == GRPC_CHANNEL_TRANSIENT_FAILURE) {
      return absl::UnavailableError(
          absl::StrCat("no hub at ", endpoint_,
                       ": the connection failed (is hubd running there, and TLS as "
                       "configured?)"));
    }
    if (!channel_->WaitForStateChange(state, deadline)) {
      return absl::UnavailableError(absl::StrCat("no hub answered at ", endpoint_, " within ",
                                                 absl::FormatDuration(timeout)));
    }
  }
}

}  // namespace hub::client::internal
