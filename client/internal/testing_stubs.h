#ifndef CLIENT_INTERNAL_TESTING_STUBS_H_
#define CLIENT_INTERNAL_TESTING_STUBS_H_

#include <deque>
#include <functional>
#include <memory>
#include <vector>

#include <gmock/gmock.h>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/internal/hub_stub.h"

// Fakes of the client's one seam, for unit tests without a server.
namespace hub::client::internal {

class MockHubStub : public HubStub {
 public:
  MOCK_METHOD(absl::StatusOr<v1::Topic>, CreateTopic, (const v1::Topic&), (override));
  MOCK_METHOD(absl::StatusOr<v1::Topic>, GetTopic, (const v1::GetTopicRequest&), (override));
  MOCK_METHOD(absl::StatusOr<v1::ListTopicsResponse>, ListTopics, (const v1::ListTopicsRequest&),
              (override));
  MOCK_METHOD(absl::StatusOr<v1::Topic>, UpdateTopic, (const v1::UpdateTopicRequest&), (override));
  MOCK_METHOD(absl::Status, DeleteTopic, (const v1::DeleteTopicRequest&), (override));
  MOCK_METHOD(absl::StatusOr<v1::PublishResponse>, Publish, (const v1::PublishRequest&),
              (override));
  MOCK_METHOD(absl::StatusOr<v1::Subscription>, CreateSubscription, (const v1::Subscription&),
              (override));
  MOCK_METHOD(absl::StatusOr<v1::Subscription>, GetSubscription,
              (const v1::GetSubscriptionRequest&), (override));
  MOCK_METHOD(absl::StatusOr<v1::ListSubscriptionsResponse>, ListSubscriptions,
              (const v1::ListSubscriptionsRequest&), (override));
  MOCK_METHOD(absl::StatusOr<v1::Subscription>, UpdateSubscription,
              (const v1::UpdateSubscriptionRequest&), (override));
  MOCK_METHOD(absl::Status, DeleteSubscription, (const v1::DeleteSubscriptionRequest&), (override));
  MOCK_METHOD(absl::StatusOr<v1::SubscriptionStats>, GetSubscriptionStats,
              (const v1::GetSubscriptionStatsRequest&), (override));
  MOCK_METHOD(absl::StatusOr<v1::MessageFate>, GetMessageFate, (const v1::GetMessageFateRequest&),
              (override));
  MOCK_METHOD(absl::StatusOr<v1::ListMessagesResponse>, ListMessages,
              (const v1::ListMessagesRequest&), (override));
  MOCK_METHOD(absl::StatusOr<v1::ListSubscriptionMessagesResponse>, ListSubscriptionMessages,
              (const v1::ListSubscriptionMessagesRequest&), (override));
  MOCK_METHOD(absl::StatusOr<v1::RedriveResponse>, Redrive, (const v1::RedriveRequest&),
              (override));
  MOCK_METHOD(absl::StatusOr<v1::Snapshot>, CreateSnapshot, (const v1::CreateSnapshotRequest&),
              (override));
  MOCK_METHOD(absl::StatusOr<v1::ListSnapshotsResponse>, ListSnapshots,
              (const v1::ListSnapshotsRequest&), (override));
  MOCK_METHOD(absl::Status, DeleteSnapshot, (const v1::DeleteSnapshotRequest&), (override));
  MOCK_METHOD(absl::StatusOr<v1::PullResponse>, Pull, (const v1::PullRequest&), (override));
  MOCK_METHOD(absl::StatusOr<v1::AcknowledgeResponse>, Acknowledge, (const v1::AcknowledgeRequest&),
              (override));
  MOCK_METHOD(absl::StatusOr<v1::ModifyAckDeadlineResponse>, ModifyAckDeadline,
              (const v1::ModifyAckDeadlineRequest&), (override));
  MOCK_METHOD(absl::StatusOr<v1::RejectResponse>, Reject, (const v1::RejectRequest&), (override));
  MOCK_METHOD(absl::StatusOr<v1::SeekResponse>, Seek, (const v1::SeekRequest&), (override));
  MOCK_METHOD(absl::StatusOr<v1::TransactResponse>, Transact, (const v1::TransactRequest&),
              (override));
  MOCK_METHOD(absl::StatusOr<v1::Schema>, CreateSchema, (const v1::CreateSchemaRequest&),
              (override));
  MOCK_METHOD(absl::StatusOr<v1::Schema>, GetSchema, (const v1::GetSchemaRequest&), (override));
  MOCK_METHOD(absl::StatusOr<v1::ListSchemasResponse>, ListSchemas, (const v1::ListSchemasRequest&),
              (override));
  MOCK_METHOD(absl::StatusOr<v1::Schema>, CommitSchema, (const v1::CommitSchemaRequest&),
              (override));
  MOCK_METHOD(absl::StatusOr<v1::Schema>, RollbackSchema, (const v1::RollbackSchemaRequest&),
              (override));
  MOCK_METHOD(absl::Status, DeleteSchema, (const v1::DeleteSchemaRequest&), (override));
  MOCK_METHOD(absl::StatusOr<v1::ValidateSchemaResponse>, ValidateSchema,
              (const v1::ValidateSchemaRequest&), (override));
  MOCK_METHOD(absl::StatusOr<v1::ValidateMessageResponse>, ValidateMessage,
              (const v1::ValidateMessageRequest&), (override));
  MOCK_METHOD(std::unique_ptr<PullStream>, StreamingPull, (), (override));
};

// A StreamingPull whose server side the test plays: it queues responses,
// ends the call, and reads what the client wrote. Like the hub, it ends the
// call with OK once the client closed its side.
class ScriptedPullStream {
 public:
  void Deliver(v1::StreamingPullResponse response) {
    absl::MutexLock lock(&mu_);
    responses_.push_back(std::move(response));
  }
  void End(absl::Status status) {
    absl::MutexLock lock(&mu_);
    if (!ended_) end_status_ = std::move(status);
    ended_ = true;
  }
  std::vector<v1::StreamingPullRequest> Written() {
    absl::MutexLock lock(&mu_);
    return written_;
  }
  // Waits until what the client wrote satisfies `done`.
  bool AwaitWritten(const std::function<bool(const std::vector<v1::StreamingPullRequest>&)>& done,
                    absl::Duration limit = absl::Seconds(10)) {
    absl::MutexLock lock(&mu_);
    auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return done(written_); };
    return mu_.AwaitWithTimeout(absl::Condition(&ready), limit);
  }
  bool writes_done() {
    absl::MutexLock lock(&mu_);
    return writes_done_;
  }

  // The client's side, handed out by Open().
  std::unique_ptr<PullStream> Open();

 private:
  class ClientEnd;
  absl::Mutex mu_;
  std::deque<v1::StreamingPullResponse> responses_ ABSL_GUARDED_BY(mu_);
  std::vector<v1::StreamingPullRequest> written_ ABSL_GUARDED_BY(mu_);
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  bool writes_done_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status end_status_ ABSL_GUARDED_BY(mu_);
};

class ScriptedPullStream::ClientEnd final : public PullStream {
 public:
  explicit ClientEnd(ScriptedPullStream& script) : s_(script) {}
  bool Write(const v1::StreamingPullRequest& request) override {
    absl::MutexLock lock(&s_.mu_);
    if (s_.ended_ || s_.writes_done_) return false;
    s_.written_.push_back(request);
    return true;
  }
  bool Read(v1::StreamingPullResponse* response) override {
    absl::MutexLock lock(&s_.mu_);
    auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(s_.mu_) {
      return !s_.responses_.empty() || s_.ended_;
    };
    s_.mu_.Await(absl::Condition(&ready));
    if (s_.responses_.empty()) return false;
    *response = std::move(s_.responses_.front());
    s_.responses_.pop_front();
    return true;
  }
  bool WritesDone() override {
    absl::MutexLock lock(&s_.mu_);
    s_.writes_done_ = true;
    s_.ended_ = true;
    return true;
  }
  void Cancel() override {
    absl::MutexLock lock(&s_.mu_);
    if (!s_.ended_) s_.end_status_ = absl::CancelledError("cancelled");
    s_.ended_ = true;
  }
  absl::Status Finish() override {
    absl::MutexLock lock(&s_.mu_);
    return s_.end_status_;
  }

 private:
  ScriptedPullStream& s_;
};

inline std::unique_ptr<PullStream> ScriptedPullStream::Open() {
  return std::make_unique<ClientEnd>(*this);
}

}  // namespace hub::client::internal

#endif  // CLIENT_INTERNAL_TESTING_STUBS_H_
