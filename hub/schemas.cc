#include "hub/schemas.h"

#include <algorithm>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "hub/paging.h"
#include "hub/validation.h"

namespace hub {
namespace {

// The attributes Pub/Sub gives a message its topic's schema validated.
constexpr char kSchemaNameAttribute[] = "googclient_schemaname";
constexpr char kSchemaRevisionAttribute[] = "googclient_schemarevisionid";
constexpr char kSchemaEncodingAttribute[] = "googclient_schemaencoding";

// Compiled revisions kept at most; past it the cache starts over (a
// revision compiles again on its next use).
constexpr size_t kMaxCompiledRevisions = 1000;

// Eight hex digits, as Pub/Sub's revision ids look.
std::string NewRevisionId() {
  static absl::Mutex mu(absl::kConstInit);
  static absl::BitGen* bits = new absl::BitGen;
  absl::MutexLock lock(&mu);
  return absl::StrFormat("%08x", absl::Uniform<uint32_t>(*bits));
}

absl::Status ValidateDefinitionSize(absl::string_view definition) {
  if (definition.empty() || definition.size() > Limits::kMaxSchemaDefinitionBytes) {
    return absl::InvalidArgumentError(absl::StrCat("a schema definition is 1..",
                                                   Limits::kMaxSchemaDefinitionBytes,
                                                   " bytes; this one is ", definition.size()));
  }
  return absl::OkStatus();
}

// The revisions of `all` (newest first) that settings allow, newest first.
std::vector<const SchemaRevision*> InRange(const std::vector<SchemaRevision>& all,
                                           const SchemaSettings& settings) {
  std::vector<const SchemaRevision*> range;
  bool in = settings.last_revision_id.empty();
  for (const SchemaRevision& r : all) {
    if (r.revision_id == settings.last_revision_id) in = true;
    if (in) range.push_back(&r);
    if (r.revision_id == settings.first_revision_id) break;
  }
  return range;
}

}  // namespace

absl::StatusOr<SchemaRevision> Schemas::Create(SchemaRevision schema) {
  RETURN_IF_ERROR(ValidateNewName("schema", schema.name, home_namespace_));
  RETURN_IF_ERROR(ValidateDefinition(schema.type, schema.definition));
  schema.revision_id = NewRevisionId();
  return store_.CreateSchema(schema);
}

absl::StatusOr<SchemaRevision> Schemas::Get(absl::string_view name, absl::string_view revision_id) {
  RETURN_IF_ERROR(ValidateName("schema", name));
  return store_.GetSchema(name, revision_id);
}

absl::StatusOr<Page<SchemaRevision>> Schemas::List(const NameScope& scope, int page_size,
                                                   absl::string_view page_token) {
  return ListPage(page_size, page_token, [&](absl::string_view after, int limit) {
    return store_.ListSchemas(scope, after, limit);
  });
}

absl::StatusOr<Page<SchemaRevision>> Schemas::ListRevisions(absl::string_view name, int page_size,
                                                            absl::string_view page_token) {
  RETURN_IF_ERROR(ValidateName("schema", name));
  return ListPage(
      page_size, page_token,
      [&](absl::string_view after, int limit) {
        return store_.ListSchemaRevisions(name, after, limit);
      },
      [](const SchemaRevision& r) { return r.revision_id; });
}

absl::StatusOr<SchemaRevision> Schemas::Commit(SchemaRevision revision, bool allow_breaking) {
  RETURN_IF_ERROR(ValidateName("schema", revision.name));
  RETURN_IF_ERROR(ValidateDefinitionSize(revision.definition));
  ASSIGN_OR_RETURN(std::shared_ptr<const CompiledSchema> writer,
                   CompileSchema(revision.type, revision.definition));
  return CommitChecked(std::move(revision), *writer, allow_breaking);
}

absl::StatusOr<SchemaRevision> Schemas::Rollback(absl::string_view name,
                                                 absl::string_view revision_id,
                                                 bool allow_breaking) {
  RETURN_IF_ERROR(ValidateName("schema", name));
  if (revision_id.empty()) return absl::InvalidArgumentError("revision_id is required");
  ASSIGN_OR_RETURN(SchemaRevision revision, store_.GetSchema(name, revision_id));
  ASSIGN_OR_RETURN(std::shared_ptr<const CompiledSchema> writer, Compiled(revision));
  return CommitChecked(std::move(revision), *writer, allow_breaking);
}

absl::StatusOr<SchemaRevision> Schemas::CommitChecked(SchemaRevision revision,
                                                      const CompiledSchema& writer,
                                                      bool allow_breaking) {
  ASSIGN_OR_RETURN(std::vector<SchemaRevision> all, AllRevisions(revision.name));
  if (all.size() >= static_cast<size_t>(Limits::kMaxSchemaRevisions)) {
    return absl::FailedPreconditionError(absl::StrCat("schema ", revision.name, " has ", all.size(),
                                                      " revisions, the most it may ",
                                                      "have; delete one first"));
  }
  if (!allow_breaking) {
    ASSIGN_OR_RETURN(std::vector<TopicConfig> topics, store_.SchemaTopics(revision.name));
    for (const TopicConfig& topic : topics) {
      for (const SchemaRevision* reader : InRange(all, topic.schema_settings)) {
        ASSIGN_OR_RETURN(std::shared_ptr<const CompiledSchema> compiled, Compiled(*reader));
        if (absl::Status s = compiled->CanRead(writer); !s.ok()) {
          return absl::FailedPreconditionError(
              absl::StrCat("the new revision breaks consumers of revision ", reader->revision_id,
                           " on topic ", topic.name, ": ", s.message(),
                           ". Commit it with allow_breaking to do so on purpose"));
        }
      }
    }
  }
  const std::string newest = all.front().revision_id;
  revision.revision_id = NewRevisionId();
  return store_.CommitSchema(revision, newest);
}

absl::StatusOr<SchemaRevision> Schemas::DeleteRevision(absl::string_view name,
                                                       absl::string_view revision_id) {
  RETURN_IF_ERROR(ValidateName("schema", name));
  if (revision_id.empty()) return absl::InvalidArgumentError("revision_id is required");
  ASSIGN_OR_RETURN(std::vector<TopicConfig> topics, store_.SchemaTopics(name));
  for (const TopicConfig& topic : topics) {
    const SchemaSettings& s = topic.schema_settings;
    if (s.first_revision_id == revision_id || s.last_revision_id == revision_id) {
      return absl::FailedPreconditionError(absl::StrCat("topic ", topic.name, " names revision ",
                                                        revision_id, " in its schema settings"));
    }
  }
  return store_.DeleteSchemaRevision(name, revision_id);
}

absl::Status Schemas::Delete(absl::string_view name) {
  RETURN_IF_ERROR(ValidateName("schema", name));
  RETURN_IF_ERROR(store_.DeleteSchema(name));
  absl::MutexLock lock(&mu_);
  topics_.clear();
  return absl::OkStatus();
}

absl::Status Schemas::ValidateDefinition(SchemaType type, absl::string_view definition) {
  RETURN_IF_ERROR(ValidateDefinitionSize(definition));
  return CompileSchema(type, definition).status();
}

absl::Status Schemas::ValidateMessage(const SchemaRevision& schema, absl::string_view message,
                                      SchemaEncoding encoding) {
  std::shared_ptr<const CompiledSchema> compiled;
  if (!schema.definition.empty()) {
    RETURN_IF_ERROR(ValidateDefinitionSize(schema.definition));
    ASSIGN_OR_RETURN(compiled, CompileSchema(schema.type, schema.definition));
  } else {
    ASSIGN_OR_RETURN(SchemaRevision stored, Get(schema.name, schema.revision_id));
    ASSIGN_OR_RETURN(compiled, Compiled(stored));
  }
  return compiled->Validate(message, encoding);
}

absl::Status Schemas::CheckSettings(const SchemaSettings& settings) {
  if (settings.schema.empty()) {
    if (!settings.first_revision_id.empty() || !settings.last_revision_id.empty()) {
      return absl::InvalidArgumentError("schema settings name revisions but no schema");
    }
    return absl::OkStatus();
  }
  if (settings.schema == kDeletedSchema) {
    return absl::InvalidArgumentError(absl::StrCat(kDeletedSchema, " is not a schema"));
  }
  RETURN_IF_ERROR(ValidateName("schema", settings.schema));
  ASSIGN_OR_RETURN(std::vector<SchemaRevision> all, AllRevisions(settings.schema));
  auto index = [&](const std::string& id) -> absl::StatusOr<size_t> {
    for (size_t i = 0; i < all.size(); ++i) {
      if (all[i].revision_id == id) return i;
    }
    return absl::NotFoundError(absl::StrCat("schema ", settings.schema, " has no revision ", id));
  };
  size_t first = all.size() - 1;
  size_t last = 0;
  if (!settings.first_revision_id.empty()) {
    ASSIGN_OR_RETURN(first, index(settings.first_revision_id));
  }
  if (!settings.last_revision_id.empty()) {
    ASSIGN_OR_RETURN(last, index(settings.last_revision_id));
  }
  if (first < last) {
    return absl::InvalidArgumentError(absl::StrCat("first_revision_id ", settings.first_revision_id,
                                                   " is newer than last_revision_id ",
                                                   settings.last_revision_id));
  }
  return absl::OkStatus();
}

absl::Status Schemas::CheckPublish(absl::string_view topic, std::vector<Message>& messages) {
  ASSIGN_OR_RETURN(const Cached topic_settings, ForTopic(topic));
  for (size_t i = 0; i < messages.size(); ++i) {
    if (messages[i].delivery_delay > topic_settings.retention) {
      return absl::InvalidArgumentError(absl::StrCat(
          "message ", i, " is delayed by ", absl::FormatDuration(messages[i].delivery_delay),
          ", past the topic's message_retention of ",
          absl::FormatDuration(topic_settings.retention),
          ": it would be gone before its time; nothing of the request was stored"));
    }
  }
  const std::shared_ptr<const TopicSchema>& schema = topic_settings.schema;
  if (schema == nullptr) return absl::OkStatus();
  RETURN_IF_ERROR(schema->usable);
  const SchemaSettings& settings = schema->settings;
  std::vector<const Revision*> matched(messages.size());
  for (size_t i = 0; i < messages.size(); ++i) {
    absl::Status newest_error;
    for (const Revision& revision : schema->revisions) {
      absl::Status s = revision.compiled->Validate(messages[i].data, settings.encoding);
      if (s.ok()) {
        matched[i] = &revision;
        break;
      }
      if (newest_error.ok()) newest_error = std::move(s);
    }
    if (matched[i] == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("message ", i, " does not match schema ", settings.schema, " (revision ",
                       schema->revisions.front().id, ", ", SchemaEncodingName(settings.encoding),
                       "): ", newest_error.message(), "; nothing of the request was stored"));
    }
  }
  const std::string name = PubSubResourceName(home_namespace_, settings.schema, "schemas");
  const std::string encoding(SchemaEncodingName(settings.encoding));
  for (size_t i = 0; i < messages.size(); ++i) {
    Labels& attributes = messages[i].attributes;
    attributes[kSchemaNameAttribute] = name;
    attributes[kSchemaRevisionAttribute] = matched[i]->id;
    attributes[kSchemaEncodingAttribute] = encoding;
  }
  return absl::OkStatus();
}

void Schemas::Forget(absl::string_view topic) {
  absl::MutexLock lock(&mu_);
  topics_.erase(topic);
}

absl::StatusOr<Schemas::Cached> Schemas::ForTopic(absl::string_view topic) {
  const absl::Time now = absl::Now();
  {
    absl::MutexLock lock(&mu_);
    auto it = topics_.find(topic);
    if (it != topics_.end() && now - it->second.read < refresh_) return it->second;
  }
  absl::StatusOr<TopicConfig> config = store_.GetTopic(topic);
  Cached cached{now, nullptr};
  if (config.ok()) {
    cached.retention = config->message_retention;
    if (!config->schema_settings.schema.empty()) {
      ASSIGN_OR_RETURN(cached.schema, Load(config->schema_settings));
    }
  } else if (!absl::IsNotFound(config.status())) {
    return config.status();
  }
  absl::MutexLock lock(&mu_);
  topics_[topic] = cached;
  return cached;
}

absl::StatusOr<std::shared_ptr<const Schemas::TopicSchema>> Schemas::Load(
    const SchemaSettings& settings) {
  auto schema = std::make_shared<TopicSchema>();
  schema->settings = settings;
  if (settings.schema == kDeletedSchema) {
    schema->usable = absl::FailedPreconditionError(
        "the topic's schema was deleted; give the topic another schema or none");
    return schema;
  }
  absl::StatusOr<std::vector<SchemaRevision>> all = AllRevisions(settings.schema);
  if (absl::IsNotFound(all.status())) {
    schema->usable = absl::FailedPreconditionError(
        absl::StrCat("the topic's schema ", settings.schema, " does not exist"));
    return schema;
  }
  RETURN_IF_ERROR(all.status());
  for (const SchemaRevision* revision : InRange(*all, settings)) {
    ASSIGN_OR_RETURN(std::shared_ptr<const CompiledSchema> compiled, Compiled(*revision));
    schema->revisions.push_back(Revision{revision->revision_id, std::move(compiled)});
  }
  if (schema->revisions.empty()) {
    schema->usable = absl::FailedPreconditionError(
        absl::StrCat("no revision of schema ", settings.schema, " is left in the topic's range"));
  }
  return schema;
}

absl::StatusOr<std::shared_ptr<const CompiledSchema>> Schemas::Compiled(
    const SchemaRevision& revision) {
  const auto key = std::make_pair(revision.name, revision.revision_id);
  {
    absl::MutexLock lock(&mu_);
    auto it = compiled_.find(key);
    if (it != compiled_.end()) return it->second;
  }
  ASSIGN_OR_RETURN(std::shared_ptr<const CompiledSchema> compiled,
                   CompileSchema(revision.type, revision.definition));
  absl::MutexLock lock(&mu_);
  if (compiled_.size() >= kMaxCompiledRevisions) compiled_.clear();
  compiled_[key] = compiled;
  return compiled;
}

absl::StatusOr<std::vector<SchemaRevision>> Schemas::AllRevisions(absl::string_view name) {
  return store_.ListSchemaRevisions(name, "", Limits::kMaxSchemaRevisions);
}

}  // namespace hub
