#include "services/pubsub/schema_service.h"

#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/proto_time.h"
#include "common/status_macros.h"
#include "services/access_needs.h"
#include "services/status_mapping.h"

namespace hub::services::pubsub {
namespace {

// Pub/Sub has no way to ask for a breaking revision; this request header
// does (docs/schemas.md, "Compatibility").
constexpr char kAllowBreakingHeader[] = "hub-allow-breaking-change";

bool AllowBreaking(const grpc::ServerContext& context) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(kAllowBreakingHeader);
  return it != metadata.end() && it->second == "true";
}

absl::StatusOr<SchemaType> TypeFromPubSub(gps::Schema::Type type) {
  switch (type) {
    case gps::Schema::PROTOCOL_BUFFER:
      return SchemaType::kProtocolBuffer;
    case gps::Schema::AVRO:
      return SchemaType::kAvro;
    default:
      return absl::InvalidArgumentError("schema type must be PROTOCOL_BUFFER or AVRO");
  }
}

SchemaEncoding EncodingFromPubSub(gps::Encoding encoding) {
  return encoding == gps::BINARY ? SchemaEncoding::kBinary : SchemaEncoding::kJson;
}

void SchemaToPubSub(const SchemaRevision& revision, const Names& names, bool full,
                    gps::Schema* out) {
  out->set_name(names.SchemaResource(revision.name));
  out->set_type(static_cast<gps::Schema::Type>(revision.type));
  if (full) out->set_definition(revision.definition);
  out->set_revision_id(revision.revision_id);
  ToProtoTime(revision.revision_time, out->mutable_revision_create_time());
}

// The definition and type of a request's schema, under `name`.
absl::StatusOr<SchemaRevision> SchemaFromPubSub(const gps::Schema& proto, std::string name) {
  SchemaRevision revision;
  revision.name = std::move(name);
  ASSIGN_OR_RETURN(revision.type, TypeFromPubSub(proto.type()));
  revision.definition = proto.definition();
  return revision;
}

}  // namespace

template <typename Call>
grpc::Status SchemaService::Named(const Context& context, const std::string& resource,
                                  auth::Action action, Call call) const {
  const size_t at = resource.find('@');
  const std::string revision = at == std::string::npos ? "" : resource.substr(at + 1);
  return gate_.Schema(context, resource.substr(0, at), [&](const std::string& name) {
    return access_.IfAllowed(context, {{action, auth::Schema(name)}},
                             [&] { return call(name, revision); });
  });
}

grpc::Status SchemaService::CreateSchema(Context* context, const gps::CreateSchemaRequest* request,
                                         gps::Schema* response) {
  return gate_.Schema(
      *context, absl::StrCat(request->parent(), "/schemas/", request->schema_id()),
      [&](const std::string& name) {
        absl::StatusOr<SchemaRevision> schema = SchemaFromPubSub(request->schema(), name);
        if (!schema.ok()) return ToGrpcStatus(schema.status());
        return access_.IfAllowed(*context, AdministerSchema(name), [&] {
          return Respond(hub_.schemas().Create(*schema), [&](const SchemaRevision& created) {
            SchemaToPubSub(created, names_, true, response);
          });
        });
      });
}

grpc::Status SchemaService::GetSchema(Context* context, const gps::GetSchemaRequest* request,
                                      gps::Schema* response) {
  return Named(*context, request->name(), auth::Action::kView,
               [&](const std::string& name, const std::string& rev) {
                 return Respond(hub_.schemas().Get(name, rev), [&](const SchemaRevision& revision) {
                   SchemaToPubSub(revision, names_, request->view() != gps::BASIC, response);
                 });
               });
}

grpc::Status SchemaService::ListSchemas(Context* context, const gps::ListSchemasRequest* request,
                                        gps::ListSchemasResponse* response) {
  return gate_.Authenticated(*context, [&] {
    absl::StatusOr<NameScope> scope = names_.Project(request->parent());
    if (!scope.ok()) return ToGrpcStatus(scope.status());
    absl::StatusOr<int> page_size = PageSize(request->page_size());
    if (!page_size.ok()) return ToGrpcStatus(page_size.status());
    const auto visible = access_.Visible(*context, auth::Action::kView);
    return Respond(hub_.schemas().List(*scope, *page_size, request->page_token()),
                   [&](const Page<SchemaRevision>& page) {
                     for (const SchemaRevision& schema : page.items) {
                       if (visible(auth::Schema(schema.name))) {
                         SchemaToPubSub(schema, names_, request->view() == gps::FULL,
                                        response->add_schemas());
                       }
                     }
                     response->set_next_page_token(page.next_page_token);
                   });
  });
}

grpc::Status SchemaService::ListSchemaRevisions(Context* context,
                                                const gps::ListSchemaRevisionsRequest* request,
                                                gps::ListSchemaRevisionsResponse* response) {
  return Named(*context, request->name(), auth::Action::kView,
               [&](const std::string& name, const std::string&) {
                 absl::StatusOr<int> page_size = PageSize(request->page_size());
                 if (!page_size.ok()) return ToGrpcStatus(page_size.status());
                 return Respond(
                     hub_.schemas().ListRevisions(name, *page_size, request->page_token()),
                     [&](const Page<SchemaRevision>& page) {
                       for (const SchemaRevision& revision : page.items) {
                         SchemaToPubSub(revision, names_, request->view() == gps::FULL,
                                        response->add_schemas());
                       }
                       response->set_next_page_token(page.next_page_token);
                     });
               });
}

grpc::Status SchemaService::CommitSchema(Context* context, const gps::CommitSchemaRequest* request,
                                         gps::Schema* response) {
  return Named(
      *context, request->name(), auth::Action::kAdmin,
      [&](const std::string& name, const std::string&) {
        absl::StatusOr<SchemaRevision> revision = SchemaFromPubSub(request->schema(), name);
        if (!revision.ok()) return ToGrpcStatus(revision.status());
        return Respond(hub_.schemas().Commit(*revision, AllowBreaking(*context)),
                       [&](const SchemaRevision& r) { SchemaToPubSub(r, names_, true, response); });
      });
}

grpc::Status SchemaService::RollbackSchema(Context* context,
                                           const gps::RollbackSchemaRequest* request,
                                           gps::Schema* response) {
  return Named(*context, request->name(), auth::Action::kAdmin,
               [&](const std::string& name, const std::string&) {
                 return Respond(
                     hub_.schemas().Rollback(name, request->revision_id(), AllowBreaking(*context)),
                     [&](const SchemaRevision& r) { SchemaToPubSub(r, names_, true, response); });
               });
}

grpc::Status SchemaService::DeleteSchemaRevision(Context* context,
                                                 const gps::DeleteSchemaRevisionRequest* request,
                                                 gps::Schema* response) {
  return Named(*context, request->name(), auth::Action::kAdmin,
               [&](const std::string& name, const std::string& rev) {
                 // The revision in the name, or in the field Pub/Sub deprecated for it.
                 const std::string revision = rev.empty() ? request->revision_id() : rev;
                 return Respond(
                     hub_.schemas().DeleteRevision(name, revision),
                     [&](const SchemaRevision& r) { SchemaToPubSub(r, names_, true, response); });
               });
}

grpc::Status SchemaService::DeleteSchema(Context* context, const gps::DeleteSchemaRequest* request,
                                         google::protobuf::Empty*) {
  return Named(*context, request->name(), auth::Action::kAdmin,
               [&](const std::string& name, const std::string&) {
                 return ToGrpcStatus(hub_.schemas().Delete(name));
               });
}

grpc::Status SchemaService::ValidateSchema(Context* context,
                                           const gps::ValidateSchemaRequest* request,
                                           gps::ValidateSchemaResponse*) {
  return gate_.Authenticated(*context, [&] {
    if (absl::Status s = names_.Project(request->parent()).status(); !s.ok()) {
      return ToGrpcStatus(s);
    }
    absl::StatusOr<SchemaType> type = TypeFromPubSub(request->schema().type());
    if (!type.ok()) return ToGrpcStatus(type.status());
    return ToGrpcStatus(hub_.schemas().ValidateDefinition(*type, request->schema().definition()));
  });
}

grpc::Status SchemaService::ValidateMessage(Context* context,
                                            const gps::ValidateMessageRequest* request,
                                            gps::ValidateMessageResponse*) {
  const SchemaEncoding encoding = EncodingFromPubSub(request->encoding());
  if (request->has_schema()) {
    return gate_.Authenticated(*context, [&] {
      if (absl::Status s = names_.Project(request->parent()).status(); !s.ok()) {
        return ToGrpcStatus(s);
      }
      absl::StatusOr<SchemaRevision> schema = SchemaFromPubSub(request->schema(), "");
      if (!schema.ok()) return ToGrpcStatus(schema.status());
      if (schema->definition.empty()) {
        return ToGrpcStatus(absl::InvalidArgumentError("schema.definition is required"));
      }
      return ToGrpcStatus(hub_.schemas().ValidateMessage(*schema, request->message(), encoding));
    });
  }
  return Named(
      *context, request->name(), auth::Action::kView,
      [&](const std::string& name, const std::string& rev) {
        SchemaRevision stored;
        stored.name = name;
        stored.revision_id = rev;
        return ToGrpcStatus(hub_.schemas().ValidateMessage(stored, request->message(), encoding));
      });
}

}  // namespace hub::services::pubsub
