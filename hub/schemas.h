#ifndef HUB_SCHEMAS_H_
#define HUB_SCHEMAS_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "hub/schema/schema.h"
#include "hub/store.h"
#include "hub/types.h"

namespace hub {

// Schemas and their revisions, and the check of every published message
// against its topic's schema (docs/schemas.md).
class Schemas {
 public:
  // `home_namespace`: the Pub/Sub project of the plain names, for the
  // schema name messages carry; `refresh`: how long a topic's schema
  // settings are used before they are read again (changes made through
  // another replica take effect within it).
  Schemas(Store& store, std::string home_namespace, absl::Duration refresh)
      : store_(store), home_namespace_(std::move(home_namespace)), refresh_(refresh) {}

  // Stores a new schema with its first revision; the definition must
  // compile.
  absl::StatusOr<SchemaRevision> Create(SchemaRevision schema);
  // `revision_id` empty: the newest revision.
  absl::StatusOr<SchemaRevision> Get(absl::string_view name, absl::string_view revision_id);
  absl::StatusOr<Page<SchemaRevision>> List(const NameScope& scope, int page_size,
                                            absl::string_view page_token);
  absl::StatusOr<Page<SchemaRevision>> ListRevisions(absl::string_view name, int page_size,
                                                     absl::string_view page_token);
  // Adds a revision. Unless `allow_breaking`, it must be readable by
  // consumers of every revision the schema's topics allow (FAILED_PRECONDITION
  // naming the change and the topic).
  absl::StatusOr<SchemaRevision> Commit(SchemaRevision revision, bool allow_breaking);
  // Commits a copy of revision `revision_id` as the newest, under the same
  // check.
  absl::StatusOr<SchemaRevision> Rollback(absl::string_view name, absl::string_view revision_id,
                                          bool allow_breaking);
  // FAILED_PRECONDITION for the only revision, or one a topic names as the
  // first or last it allows.
  absl::StatusOr<SchemaRevision> DeleteRevision(absl::string_view name,
                                                absl::string_view revision_id);
  absl::Status Delete(absl::string_view name);

  // Whether a definition compiles.
  absl::Status ValidateDefinition(SchemaType type, absl::string_view definition);
  // Whether `message` is valid against `schema` (a stored revision when
  // `schema.definition` is empty, the newest if no revision id is given).
  absl::Status ValidateMessage(const SchemaRevision& schema, absl::string_view message,
                               SchemaEncoding encoding);

  // Settings a topic may be given: the schema and the revisions exist,
  // the first no newer than the last.
  absl::Status CheckSettings(const SchemaSettings& settings);
  // Validates every message against the topic's settings before anything
  // is written: its schema, marking each message with the revision that
  // matched, and its retention, which a delivery delay must stay within
  // (the message would be gone before its time). INVALID_ARGUMENT names the
  // first message that fails, FAILED_PRECONDITION when the topic's schema
  // was deleted. A missing topic passes (the store says NOT_FOUND).
  absl::Status CheckPublish(absl::string_view topic, std::vector<Message>& messages);
  // The topic's settings changed through this replica: read them again.
  void Forget(absl::string_view topic);

 private:
  struct Revision {
    std::string id;
    std::shared_ptr<const CompiledSchema> compiled;
  };
  // What a topic's messages are checked against: the revisions of its
  // range, newest first, or why none can match.
  struct TopicSchema {
    SchemaSettings settings;
    absl::Status usable;
    std::vector<Revision> revisions;
  };
  // What publishes are checked against, read at `read`.
  struct Cached {
    absl::Time read;
    std::shared_ptr<const TopicSchema> schema;  // null: no schema
    absl::Duration retention = absl::InfiniteDuration();
  };

  absl::StatusOr<Cached> ForTopic(absl::string_view topic);
  absl::StatusOr<std::shared_ptr<const TopicSchema>> Load(const SchemaSettings& settings);
  absl::StatusOr<std::shared_ptr<const CompiledSchema>> Compiled(const SchemaRevision& revision);
  // Every revision of a schema, newest first.
  absl::StatusOr<std::vector<SchemaRevision>> AllRevisions(absl::string_view name);
  // Commits `revision`, compiled as `writer` (once, by the caller), after
  // the revision bound and, unless `allow_breaking`, the compatibility check.
  absl::StatusOr<SchemaRevision> CommitChecked(SchemaRevision revision,
                                               const CompiledSchema& writer, bool allow_breaking);

  Store& store_;
  const std::string home_namespace_;
  const absl::Duration refresh_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Cached> topics_ ABSL_GUARDED_BY(mu_);
  // By schema name and revision id; revisions never change.
  absl::flat_hash_map<std::pair<std::string, std::string>, std::shared_ptr<const CompiledSchema>>
      compiled_ ABSL_GUARDED_BY(mu_);
};

}  // namespace hub

#endif  // HUB_SCHEMAS_H_
