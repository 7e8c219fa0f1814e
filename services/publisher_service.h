#ifndef SERVICES_PUBLISHER_SERVICE_H_
#define SERVICES_PUBLISHER_SERVICE_H_

#include "hub/hub.h"
#include "hub/v1/publisher.grpc.pb.h"
#include "services/auth/access_control.h"

namespace hub::services {

// hub.v1.Publisher over the engine: access checks, then translation.
class PublisherService final : public v1::Publisher::Service {
 public:
  PublisherService(Hub& hub, const auth::AccessControl& access) : hub_(hub), access_(access) {}

  grpc::Status CreateTopic(grpc::ServerContext* context, const v1::Topic* request,
                           v1::Topic* response) override;
  grpc::Status GetTopic(grpc::ServerContext* context, const v1::GetTopicRequest* request,
                        v1::Topic* response) override;
  grpc::Status ListTopics(grpc::ServerContext* context, const v1::ListTopicsRequest* request,
                          v1::ListTopicsResponse* response) override;
  grpc::Status UpdateTopic(grpc::ServerContext* context, const v1::UpdateTopicRequest* request,
                           v1::Topic* response) override;
  grpc::Status DeleteTopic(grpc::ServerContext* context, const v1::DeleteTopicRequest* request,
                           google::protobuf::Empty* response) override;
  grpc::Status Publish(grpc::ServerContext* context, const v1::PublishRequest* request,
                       v1::PublishResponse* response) override;

 private:
  Hub& hub_;
  const auth::AccessControl& access_;
};

}  // namespace hub::services

#endif  // SERVICES_PUBLISHER_SERVICE_H_
