#include "services/schema_service.h"

#include <string>

#include "services/access_needs.h"
#include "services/convert.h"
#include "services/status_mapping.h"

namespace hub::services {
namespace {

SchemaEncoding EncodingFromProto(v1::SchemaEncoding encoding) {
  return encoding == v1::BINARY ? SchemaEncoding::kBinary : SchemaEncoding::kJson;
}

// A page of schemas or revisions into a list response.
template <typename Response>
void WritePage(const Page<SchemaRevision>& page, bool with_definitions, Response* response) {
  for (const SchemaRevision& schema : page.items) {
    SchemaToProto(schema, with_definitions, response->add_schemas());
  }
  response->set_next_page_token(page.next_page_token);
}

}  // namespace

grpc::Status SchemaService::CreateSchema(Context* context, const v1::CreateSchemaRequest* request,
                                         v1::Schema* response) {
  return access_.IfAllowed(*context, AdministerSchema(request->schema().name()), [&] {
    absl::StatusOr<SchemaRevision> schema = SchemaFromProto(request->schema());
    if (schema.ok()) schema = hub_.schemas().Create(*schema);
    return Respond(schema, [&](const SchemaRevision& s) { SchemaToProto(s, true, response); });
  });
}

grpc::Status SchemaService::GetSchema(Context* context, const v1::GetSchemaRequest* request,
                                      v1::Schema* response) {
  return access_.IfAllowed(*context, ViewSchema(request->name()), [&] {
    return Respond(hub_.schemas().Get(request->name(), request->revision_id()),
                   [&](const SchemaRevision& s) { SchemaToProto(s, true, response); });
  });
}

grpc::Status SchemaService::ListSchemas(Context* context, const v1::ListSchemasRequest* request,
                                        v1::ListSchemasResponse* response) {
  return access_.IfAllowed(*context, ViewSchema(""), [&] {
    const auto visible = access_.Visible(*context, auth::Action::kView);
    return Respond(
        hub_.schemas().List(NameScope::All(), request->page_size(), request->page_token()),
        [&](Page<SchemaRevision> page) {
          std::erase_if(page.items,
                        [&](const SchemaRevision& s) { return !visible(auth::Schema(s.name)); });
          WritePage(page, request->include_definitions(), response);
        });
  });
}

grpc::Status SchemaService::ListSchemaRevisions(Context* context,
                                                const v1::ListSchemaRevisionsRequest* request,
                                                v1::ListSchemaRevisionsResponse* response) {
  return access_.IfAllowed(*context, ViewSchema(request->name()), [&] {
    return Respond(
        hub_.schemas().ListRevisions(request->name(), request->page_size(), request->page_token()),
        [&](const Page<SchemaRevision>& page) {
          WritePage(page, request->include_definitions(), response);
        });
  });
}

grpc::Status SchemaService::CommitSchema(Context* context, const v1::CommitSchemaRequest* request,
                                         v1::Schema* response) {
  return access_.IfAllowed(*context, AdministerSchema(request->schema().name()), [&] {
    absl::StatusOr<SchemaRevision> schema = SchemaFromProto(request->schema());
    if (schema.ok()) schema = hub_.schemas().Commit(*schema, request->allow_breaking_change());
    return Respond(schema, [&](const SchemaRevision& s) { SchemaToProto(s, true, response); });
  });
}

grpc::Status SchemaService::RollbackSchema(Context* context,
                                           const v1::RollbackSchemaRequest* request,
                                           v1::Schema* response) {
  return access_.IfAllowed(*context, AdministerSchema(request->name()), [&] {
    return Respond(hub_.schemas().Rollback(request->name(), request->revision_id(),
                                           request->allow_breaking_change()),
                   [&](const SchemaRevision& s) { SchemaToProto(s, true, response); });
  });
}

grpc::Status SchemaService::DeleteSchemaRevision(Context* context,
                                                 const v1::DeleteSchemaRevisionRequest* request,
                                                 v1::Schema* response) {
  return access_.IfAllowed(*context, AdministerSchema(request->name()), [&] {
    return Respond(hub_.schemas().DeleteRevision(request->name(), request->revision_id()),
                   [&](const SchemaRevision& s) { SchemaToProto(s, true, response); });
  });
}

grpc::Status SchemaService::DeleteSchema(Context* context, const v1::DeleteSchemaRequest* request,
                                         google::protobuf::Empty*) {
  return access_.IfAllowed(*context, AdministerSchema(request->name()),
                           [&] { return ToGrpcStatus(hub_.schemas().Delete(request->name())); });
}

grpc::Status SchemaService::ValidateSchema(Context* context,
                                           const v1::ValidateSchemaRequest* request,
                                           v1::ValidateSchemaResponse*) {
  return access_.IfAllowed(*context, {}, [&] {
    absl::StatusOr<SchemaRevision> schema = SchemaFromProto(request->schema());
    if (!schema.ok()) return ToGrpcStatus(schema.status());
    return ToGrpcStatus(hub_.schemas().ValidateDefinition(schema->type, schema->definition));
  });
}

grpc::Status SchemaService::ValidateMessage(Context* context,
                                            const v1::ValidateMessageRequest* request,
                                            v1::ValidateMessageResponse*) {
  const SchemaEncoding encoding = EncodingFromProto(request->encoding());
  if (request->has_schema()) {
    return access_.IfAllowed(*context, {}, [&] {
      absl::StatusOr<SchemaRevision> schema = SchemaFromProto(request->schema());
      if (schema.ok() && schema->definition.empty()) {
        schema = absl::InvalidArgumentError("schema.definition is required");
      }
      if (!schema.ok()) return ToGrpcStatus(schema.status());
      return ToGrpcStatus(hub_.schemas().ValidateMessage(*schema, request->message(), encoding));
    });
  }
  return access_.IfAllowed(*context, ViewSchema(request->name()), [&] {
    SchemaRevision stored;
    stored.name = request->name();
    stored.revision_id = request->revision_id();
    return ToGrpcStatus(hub_.schemas().ValidateMessage(stored, request->message(), encoding));
  });
}

}  // namespace hub::services
