#ifndef SERVICES_SCHEMA_SERVICE_H_
#define SERVICES_SCHEMA_SERVICE_H_

#include "hub/hub.h"
#include "hub/v1/schemas.grpc.pb.h"
#include "services/auth/access_control.h"

namespace hub::services {

// hub.v1.SchemaService over the engine's schemas: `admin` on
// `schema:NAME` for every call that names a stored schema, then
// translation.
class SchemaService final : public v1::SchemaService::Service {
  using Context = grpc::ServerContext;

 public:
  SchemaService(Hub& hub, const auth::AccessControl& access) : hub_(hub), access_(access) {}

  grpc::Status CreateSchema(Context* context, const v1::CreateSchemaRequest* request,
                            v1::Schema* response) override;
  grpc::Status GetSchema(Context* context, const v1::GetSchemaRequest* request,
                         v1::Schema* response) override;
  grpc::Status ListSchemas(Context* context, const v1::ListSchemasRequest* request,
                           v1::ListSchemasResponse* response) override;
  grpc::Status ListSchemaRevisions(Context* context, const v1::ListSchemaRevisionsRequest* request,
                                   v1::ListSchemaRevisionsResponse* response) override;
  grpc::Status CommitSchema(Context* context, const v1::CommitSchemaRequest* request,
                            v1::Schema* response) override;
  grpc::Status RollbackSchema(Context* context, const v1::RollbackSchemaRequest* request,
                              v1::Schema* response) override;
  grpc::Status DeleteSchemaRevision(Context* context,
                                    const v1::DeleteSchemaRevisionRequest* request,
                                    v1::Schema* response) override;
  grpc::Status DeleteSchema(Context* context, const v1::DeleteSchemaRequest* request,
                            google::protobuf::Empty* response) override;
  grpc::Status ValidateSchema(Context* context, const v1::ValidateSchemaRequest* request,
                              v1::ValidateSchemaResponse* response) override;
  grpc::Status ValidateMessage(Context* context, const v1::ValidateMessageRequest* request,
                               v1::ValidateMessageResponse* response) override;

 private:
  Hub& hub_;
  const auth::AccessControl& access_;
};

}  // namespace hub::services

#endif  // SERVICES_SCHEMA_SERVICE_H_
