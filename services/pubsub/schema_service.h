#ifndef SERVICES_PUBSUB_SCHEMA_SERVICE_H_
#define SERVICES_PUBSUB_SCHEMA_SERVICE_H_

#include "google/pubsub/v1/schema.grpc.pb.h"
#include "hub/hub.h"
#include "services/auth/access_control.h"
#include "services/pubsub/call_helpers.h"
#include "services/pubsub/convert.h"
#include "services/pubsub/names.h"

namespace hub::services::pubsub {

// google.pubsub.v1.SchemaService over the engine's schemas
// (docs/schemas.md): names mapped as topics' are, `admin` on
// `schema:NAME` for every call that names a stored schema.
class SchemaService final : public gps::SchemaService::Service {
  using Context = grpc::ServerContext;

 public:
  SchemaService(Hub& hub, const auth::AccessControl& access, const Names& names)
      : hub_(hub), access_(access), names_(names), gate_(access, names) {}

  grpc::Status CreateSchema(Context* context, const gps::CreateSchemaRequest* request,
                            gps::Schema* response) override;
  grpc::Status GetSchema(Context* context, const gps::GetSchemaRequest* request,
                         gps::Schema* response) override;
  grpc::Status ListSchemas(Context* context, const gps::ListSchemasRequest* request,
                           gps::ListSchemasResponse* response) override;
  grpc::Status ListSchemaRevisions(Context* context, const gps::ListSchemaRevisionsRequest* request,
                                   gps::ListSchemaRevisionsResponse* response) override;
  grpc::Status CommitSchema(Context* context, const gps::CommitSchemaRequest* request,
                            gps::Schema* response) override;
  grpc::Status RollbackSchema(Context* context, const gps::RollbackSchemaRequest* request,
                              gps::Schema* response) override;
  grpc::Status DeleteSchemaRevision(Context* context,
                                    const gps::DeleteSchemaRevisionRequest* request,
                                    gps::Schema* response) override;
  grpc::Status DeleteSchema(Context* context, const gps::DeleteSchemaRequest* request,
                            google::protobuf::Empty* response) override;
  grpc::Status ValidateSchema(Context* context, const gps::ValidateSchemaRequest* request,
                              gps::ValidateSchemaResponse* response) override;
  grpc::Status ValidateMessage(Context* context, const gps::ValidateMessageRequest* request,
                               gps::ValidateMessageResponse* response) override;

 private:
  // Runs `call(name, revision_id)` for a schema resource name, which may
  // end in "@REVISION", when the caller has `action` on the schema.
  template <typename Call>
  grpc::Status Named(const Context& context, const std::string& resource, auth::Action action,
                     Call call) const;

  Hub& hub_;
  const auth::AccessControl& access_;
  const Names& names_;
  const Gate gate_;
};

}  // namespace hub::services::pubsub

#endif  // SERVICES_PUBSUB_SCHEMA_SERVICE_H_
