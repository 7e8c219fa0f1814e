// PgStore's administration: topics, subscriptions and their statistics,
// schemas and their revisions.
#include <pqxx/except>
#include <pqxx/nontransaction>
#include <pqxx/result>
#include <pqxx/transaction>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "hub/pg/pg_store.h"
#include "hub/pg/pg_values.h"
#include "hub/pg/statements.h"
#include "hub/validation.h"

namespace hub::pg {

template <typename T>
absl::StatusOr<T> PgStore::ReadNamed(absl::string_view kind, absl::string_view name,
                                     const Statement& statement, T (*from_row)(const pqxx::row&)) {
  std::optional<T> found;
  RETURN_IF_ERROR(Run([&](Connection& conn) {
    pqxx::nontransaction tx(conn);
    const pqxx::result r = Exec(tx, statement, std::string(name));
    if (r.empty()) return absl::NotFoundError(absl::StrCat(kind, " ", name, " not found"));
    found = from_row(r[0]);
    return absl::OkStatus();
  }));
  return *std::move(found);
}

template <typename... Args>
absl::Status PgStore::ChangeNamed(absl::string_view kind, absl::string_view name,
                                  const Statement& statement, const Args&... args) {
  return Run([&](Connection& conn) {
    pqxx::work tx(conn);
    const pqxx::result r = Exec(tx, statement, args...);
    tx.commit();
    if (r.affected_rows() == 0)
      return absl::NotFoundError(absl::StrCat(kind, " ", name, " not found"));
    return absl::OkStatus();
  });
}

absl::Status PgStore::CreateTopic(const TopicConfig& topic) {
  return Run([&](Connection& conn) {
    pqxx::work tx(conn);
    try {
      const SchemaSettings& schema = topic.schema_settings;
      Exec(tx, sql::kCreateTopic, topic.name, Millis(topic.message_retention),
           Millis(topic.dedup_window), LabelsToJson(topic.labels), schema.schema,
           static_cast<int>(schema.encoding), schema.first_revision_id, schema.last_revision_id);
    } catch (const pqxx::unique_violation&) {
      return absl::AlreadyExistsError(absl::StrCat("topic ", topic.name, " already exists"));
    }
    tx.commit();
    return absl::OkStatus();
  });
}

absl::StatusOr<TopicConfig> PgStore::GetTopic(absl::string_view name) {
  return ReadNamed("topic", name, sql::kGetTopic, &TopicFromRow);
}

template <typename T>
absl::StatusOr<std::vector<T>> PgStore::ListScoped(const Statement& statement,
                                                   const NameScope& scope, absl::string_view after,
                                                   int limit, T (*from_row)(const pqxx::row&)) {
  std::vector<T> items;
  RETURN_IF_ERROR(Run([&](Connection& conn) {
    items.clear();
    pqxx::nontransaction tx(conn);
    for (const auto& row :
         Exec(tx, statement, std::string(after), limit, scope.all, scope.name_space)) {
      items.push_back(from_row(row));
    }
    return absl::OkStatus();
  }));
  return items;
}

absl::StatusOr<std::vector<TopicConfig>> PgStore::ListTopics(const NameScope& scope,
                                                             absl::string_view after, int limit) {
  return ListScoped(sql::kListTopics, scope, after, limit, &TopicFromRow);
}

absl::Status PgStore::DeleteTopic(absl::string_view name) {
  return ChangeNamed("topic", name, sql::kDeleteTopic, std::string(name));
}

absl::Status PgStore::CreateSubscription(const SubscriptionConfig& sub) {
  const SubscriptionStart& start = sub.start;
  std::optional<int64_t> start_micros;
  if (start.kind == SubscriptionStart::Kind::kTime) start_micros = absl::ToUnixMicros(start.time);
  // The oldest retained message is the first one since the beginning of
  // time that retention keeps.
  if (start.kind == SubscriptionStart::Kind::kOldestRetained) start_micros = 0;
  return Run([&](Connection& conn) {
    pqxx::work tx(conn);
    pqxx::result snapshot;
    if (start.kind == SubscriptionStart::Kind::kSnapshot) {
      snapshot = Exec(tx, sql::kGetSnapshot, start.snapshot);
      if (snapshot.empty()) {
        return absl::NotFoundError(absl::StrCat("snapshot ", start.snapshot, " not found"));
      }
      if (snapshot[0][1].as<std::string>() != sub.topic) {
        return absl::FailedPreconditionError(
            absl::StrCat("snapshot ", start.snapshot, " is of topic ",
                         snapshot[0][1].as<std::string>(), ", not of ", sub.topic));
      }
    }
    pqxx::result r;
    try {
      r = Exec(tx, sql::kCreateSubscription, sub.name, sub.topic, sub.ack_deadline_seconds,
               StoredGuarantee(sub.delivery_guarantee), sub.enable_message_ordering, sub.filter,
               sub.dead_letter_policy.topic, sub.dead_letter_policy.max_delivery_attempts,
               Millis(sub.retry_policy.minimum_backoff), Millis(sub.retry_policy.maximum_backoff),
               LabelsToJson(sub.labels), Millis(sub.message_retention), start_micros,
               Millis(sub.expiration_ttl));
    } catch (const pqxx::unique_violation&) {
      return absl::AlreadyExistsError(absl::StrCat("subscription ", sub.name, " already exists"));
    }
    if (r.empty()) {
      return absl::NotFoundError(absl::StrCat("topic ", sub.topic, " not found"));
    }
    const int64_t id = r[0][0].as<int64_t>();
    if (!snapshot.empty()) {
      // As SeekToSnapshot, in the transaction that creates the subscription.
      Exec(tx, sql::kSetCursor, id, snapshot[0][6].as<int64_t>());
      Exec(tx, sql::kRestoreSnapshotLeases, id, snapshot[0][4].as<int64_t>());
    }
    tx.commit();
    if (!snapshot.empty()) FoundDue(id, true);  // the restored rows are due now
    return absl::OkStatus();
  });
}

absl::StatusOr<SubscriptionRecord> PgStore::GetSubscription(absl::string_view name) {
  return ReadNamed("subscription", name, sql::kGetSubscription, &SubscriptionFromRow);
}

absl::StatusOr<std::vector<SubscriptionConfig>> PgStore::ListSubscriptions(const NameScope& scope,
                                                                           absl::string_view topic,
                                                                           absl::string_view after,
                                                                           int limit) {
  std::vector<SubscriptionConfig> subs;
  RETURN_IF_ERROR(Run([&](Connection& conn) {
    subs.clear();
    pqxx::nontransaction tx(conn);
    for (const auto& row : Exec(tx, sql::kListSubscriptions, std::string(topic), std::string(after),
                                limit, scope.all, scope.name_space)) {
      subs.push_back(SubscriptionFromRow(row).config);
    }
    if (subs.empty() && !topic.empty() && Exec(tx, sql::kTopicExists, std::string(topic)).empty()) {
      return absl::NotFoundError(absl::StrCat("topic ", topic, " not found"));
    }
    return absl::OkStatus();
  }));
  return subs;
}

absl::Status PgStore::DeleteSubscription(absl::string_view name) {
  return ChangeNamed("subscription", name, sql::kDeleteSubscription, std::string(name));
}

absl::Status PgStore::UpdateTopic(const TopicConfig& topic) {
  const SchemaSettings& schema = topic.schema_settings;
  return ChangeNamed("topic", topic.name, sql::kUpdateTopic, topic.name,
                     Millis(topic.message_retention), Millis(topic.dedup_window),
                     LabelsToJson(topic.labels), schema.schema, static_cast<int>(schema.encoding),
                     schema.first_revision_id, schema.last_revision_id);
}

absl::Status PgStore::UpdateSubscription(const SubscriptionConfig& sub) {
  return ChangeNamed(
      "subscription", sub.name, sql::kUpdateSubscription, sub.name, sub.ack_deadline_seconds,
      sub.filter, sub.dead_letter_policy.topic, sub.dead_letter_policy.max_delivery_attempts,
      Millis(sub.retry_policy.minimum_backoff), Millis(sub.retry_policy.maximum_backoff),
      LabelsToJson(sub.labels), Millis(sub.message_retention), Millis(sub.expiration_ttl));
}

absl::Status PgStore::DetachSubscription(absl::string_view name) {
  return ChangeNamed("subscription", name, sql::kDetachSubscription, std::string(name));
}

absl::StatusOr<SnapshotConfig> PgStore::CreateSnapshot(const SubscriptionRecord& sub,
                                                       const SnapshotConfig& snapshot,
                                                       absl::Duration retention,
                                                       int max_per_creator) {
  SnapshotConfig made = snapshot;
  made.topic = sub.config.topic;
  RETURN_IF_ERROR(Run([&](Connection& conn) {
    pqxx::work tx(conn);
    // The cursor's lock keeps claims out, so that the cursor and the lease
    // rows copied are of one moment.
    const pqxx::result cursor = Exec(tx, sql::kLockCursor, sub.id);
    if (cursor.empty()) {
      return absl::NotFoundError(absl::StrCat("subscription ", sub.config.name, " not found"));
    }
    Exec(tx, sql::kLockSnapshotCreator, snapshot.creator);
    pqxx::result r;
    try {
      r = Exec(tx, sql::kCreateSnapshot, snapshot.name, sub.id, sub.topic_id,
               cursor[0][0].as<int64_t>(), Millis(retention), LabelsToJson(snapshot.labels),
               snapshot.creator, max_per_creator);
    } catch (const pqxx::unique_violation&) {
      return absl::AlreadyExistsError(absl::StrCat("snapshot ", snapshot.name, " already exists"));
    }
    if (r.empty()) {
      return absl::ResourceExhaustedError(
          absl::StrCat(Quoted(snapshot.creator), " has ", max_per_creator,
                       " snapshots, the most one principal may (--max_snapshots_per_principal); "
                       "delete one first"));
    }
    Exec(tx, sql::kCopyLeasesToSnapshot, r[0][0].as<int64_t>(), sub.id);
    tx.commit();
    made.expire_time = absl::FromUnixMicros(r[0][1].as<int64_t>());
    return absl::OkStatus();
  }));
  return made;
}

absl::StatusOr<SnapshotConfig> PgStore::GetSnapshot(absl::string_view name) {
  return ReadNamed("snapshot", name, sql::kGetSnapshot, &SnapshotFromRow);
}

absl::StatusOr<std::vector<SnapshotConfig>> PgStore::ListSnapshots(const NameScope& scope,
                                                                   absl::string_view after,
                                                                   int limit) {
  return ListScoped(sql::kListSnapshots, scope, after, limit, &SnapshotFromRow);
}

absl::Status PgStore::UpdateSnapshot(const SnapshotConfig& snapshot) {
  return ChangeNamed("snapshot", snapshot.name, sql::kUpdateSnapshot, snapshot.name,
                     LabelsToJson(snapshot.labels));
}

absl::Status PgStore::DeleteSnapshot(absl::string_view name) {
  return ChangeNamed("snapshot", name, sql::kDeleteSnapshot, std::string(name));
}

absl::StatusOr<std::vector<SubscriptionStats>> PgStore::GetSubscriptionStats(
    absl::string_view name) {
  std::vector<SubscriptionStats> stats;
  RETURN_IF_ERROR(Run([&](Connection& conn) {
    stats.clear();
    pqxx::nontransaction tx(conn);
    for (const auto& row : Exec(tx, sql::kSubscriptionStats, std::string(name))) {
      SubscriptionStats s{row[0].as<std::string>(),
                          row[1].as<std::string>(),
                          row[2].as<int64_t>(),
                          row[3].as<int64_t>(),
                          std::nullopt,
                          row[5].as<int64_t>()};
      if (!row[6].is_null()) s.unacked_bytes = row[6].as<int64_t>();
      if (!row[4].is_null()) {
        s.oldest_unacked_publish_time = absl::FromUnixMicros(row[4].as<int64_t>());
      }
      stats.push_back(std::move(s));
    }
    if (stats.empty() && !name.empty()) {
      return absl::NotFoundError(absl::StrCat("subscription ", name, " not found"));
    }
    return absl::OkStatus();
  }));
  return stats;
}

absl::StatusOr<std::vector<Replica>> PgStore::ListReplicas() {
  std::vector<Replica> replicas;
  RETURN_IF_ERROR(Run([&](Connection& conn) {
    replicas.clear();
    pqxx::nontransaction tx(conn);
    for (const auto& row : Exec(tx, sql::kListReplicas)) {
      replicas.push_back({row[0].as<std::string>(), row[1].as<int>(), row[2].as<int>(),
                          absl::FromUnixMicros(row[3].as<int64_t>())});
    }
    return absl::OkStatus();
  }));
  return replicas;
}

absl::StatusOr<SchemaRevision> PgStore::CreateSchema(const SchemaRevision& first) {
  SchemaRevision created;
  RETURN_IF_ERROR(Run([&](Connection& conn) {
    pqxx::work tx(conn);
    pqxx::result r;
    try {
      r = Exec(tx, sql::kCreateSchema, first.name, first.revision_id, static_cast<int>(first.type),
               first.definition);
    } catch (const pqxx::unique_violation&) {
      return absl::AlreadyExistsError(absl::StrCat("schema ", first.name, " already exists"));
    }
    tx.commit();
    created = SchemaFromRow(r[0]);
    return absl::OkStatus();
  }));
  return created;
}

absl::StatusOr<SchemaRevision> PgStore::GetSchema(absl::string_view name,
                                                  absl::string_view revision_id) {
  std::optional<SchemaRevision> found;
  RETURN_IF_ERROR(Run([&](Connection& conn) {
    pqxx::nontransaction tx(conn);
    const pqxx::result r = Exec(tx, sql::kGetSchema, std::string(name), std::string(revision_id));
    if (r.empty()) {
      return absl::NotFoundError(
          revision_id.empty() ? absl::StrCat("schema ", name, " not found")
                              : absl::StrCat("schema ", name, " has no revision ", revision_id));
    }
    found = SchemaFromRow(r[0]);
    return absl::OkStatus();
  }));
  return *std::move(found);
}

absl::StatusOr<std::vector<SchemaRevision>> PgStore::ListSchemas(const NameScope& scope,
                                                                 absl::string_view after,
                                                                 int limit) {
  return ListScoped(sql::kListSchemas, scope, after, limit, &SchemaFromRow);
}

absl::StatusOr<std::vector<SchemaRevision>> PgStore::ListSchemaRevisions(absl::string_view name,
                                                                         absl::string_view after,
                                                                         int limit) {
  std::vector<SchemaRevision> revisions;
  RETURN_IF_ERROR(Run([&](Connection& conn) {
    revisions.clear();
    pqxx::nontransaction tx(conn);
    for (const auto& row :
         Exec(tx, sql::kListSchemaRevisions, std::string(name), std::string(after), limit)) {
      revisions.push_back(SchemaFromRow(row));
    }
    if (revisions.empty() && after.empty()) {
      return absl::NotFoundError(absl::StrCat("schema ", name, " not found"));
    }
    return absl::OkStatus();
  }));
  return revisions;
}

absl::StatusOr<SchemaRevision> PgStore::CommitSchema(const SchemaRevision& revision,
                                                     absl::string_view newest) {
  SchemaRevision committed;
  RETURN_IF_ERROR(Run([&](Connection& conn) {
    pqxx::work tx(conn);
    const pqxx::result r =
        Exec(tx, sql::kCommitSchema, revision.name, revision.revision_id,
             static_cast<int>(revision.type), revision.definition, std::string(newest));
    if (r.empty()) {
      if (Exec(tx, sql::kGetSchema, revision.name, std::string()).empty()) {
        return absl::NotFoundError(absl::StrCat("schema ", revision.name, " not found"));
      }
      return absl::AbortedError(absl::StrCat("another revision of schema ", revision.name,
                                             " was committed meanwhile; try again"));
    }
    tx.commit();
    committed = SchemaFromRow(r[0]);
    return absl::OkStatus();
  }));
  return committed;
}

absl::StatusOr<SchemaRevision> PgStore::DeleteSchemaRevision(absl::string_view name,
                                                             absl::string_view revision_id) {
  SchemaRevision deleted;
  RETURN_IF_ERROR(Run([&](Connection& conn) {
    pqxx::work tx(conn);
    const pqxx::result r =
        Exec(tx, sql::kDeleteSchemaRevision, std::string(name), std::string(revision_id));
    const int64_t revisions = r[0][5].as<int64_t>();
    if (revisions == 0) return absl::NotFoundError(absl::StrCat("schema ", name, " not found"));
    if (r[0][1].is_null()) {
      if (revisions == 1 &&
          !Exec(tx, sql::kGetSchema, std::string(name), std::string(revision_id)).empty()) {
        return absl::FailedPreconditionError(absl::StrCat("revision ", revision_id,
                                                          " is the only revision of schema ", name,
                                                          "; delete the schema instead"));
      }
      return absl::NotFoundError(absl::StrCat("schema ", name, " has no revision ", revision_id));
    }
    tx.commit();
    deleted = SchemaFromRow(r[0]);
    return absl::OkStatus();
  }));
  return deleted;
}

absl::Status PgStore::DeleteSchema(absl::string_view name) {
  return ChangeNamed("schema", name, sql::kDeleteSchema, std::string(name),
                     std::string(kDeletedSchema));
}

absl::StatusOr<std::vector<TopicConfig>> PgStore::SchemaTopics(absl::string_view name) {
  std::vector<TopicConfig> topics;
  RETURN_IF_ERROR(Run([&](Connection& conn) {
    topics.clear();
    pqxx::nontransaction tx(conn);
    for (const auto& row : Exec(tx, sql::kSchemaTopics, std::string(name))) {
      topics.push_back(TopicFromRow(row));
    }
    return absl::OkStatus();
  }));
  return topics;
}

absl::StatusOr<AccessPolicy> PgStore::GetAccessPolicy(absl::string_view resource) {
  AccessPolicy policy;
  policy.resource = std::string(resource);
  RETURN_IF_ERROR(Run([&](Connection& conn) {
    pqxx::nontransaction tx(conn);
    const pqxx::result r = Exec(tx, sql::kGetAccessPolicy, policy.resource);
    if (!r.empty()) {
      policy.version = r[0][0].as<int64_t>();
      policy.bindings = r[0][1].as<std::string>();
    }
    return absl::OkStatus();
  }));
  return policy;
}

absl::StatusOr<AccessPolicy> PgStore::SetAccessPolicy(absl::string_view resource,
                                                      absl::string_view bindings,
                                                      int64_t expected) {
  AccessPolicy policy{std::string(resource), 0, std::string(bindings)};
  RETURN_IF_ERROR(Run([&](Connection& conn) {
    pqxx::work tx(conn);
    Exec(tx, sql::kLockAccessPolicy, policy.resource);
    const pqxx::result current = Exec(tx, sql::kGetAccessPolicy, policy.resource);
    const int64_t version = current.empty() ? 0 : current[0][0].as<int64_t>();
    if (expected >= 0 && expected != version) {
      return absl::AbortedError(
          absl::StrCat("the policy of ", policy.resource,
                       " changed since it was read (its etag is stale); read it again and retry"));
    }
    policy.version =
        Exec1(tx, sql::kPutAccessPolicy, policy.resource, policy.bindings)[0].as<int64_t>();
    tx.commit();
    return absl::OkStatus();
  }));
  return policy;
}

absl::StatusOr<int64_t> PgStore::AccessPolicyGeneration() {
  int64_t generation = 0;
  RETURN_IF_ERROR(Run([&](Connection& conn) {
    pqxx::nontransaction tx(conn);
    generation = Exec1(tx, sql::kAccessPolicyGeneration)[0].as<int64_t>();
    return absl::OkStatus();
  }));
  return generation;
}

absl::StatusOr<std::vector<AccessPolicy>> PgStore::ListAccessPolicies() {
  std::vector<AccessPolicy> policies;
  RETURN_IF_ERROR(Run([&](Connection& conn) {
    policies.clear();
    pqxx::nontransaction tx(conn);
    for (const auto& row : Exec(tx, sql::kListAccessPolicies)) {
      policies.push_back(
          AccessPolicy{row[0].as<std::string>(), row[1].as<int64_t>(), row[2].as<std::string>()});
    }
    return absl::OkStatus();
  }));
  return policies;
}

}  // namespace hub::pg
