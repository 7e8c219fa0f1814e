#include "hub/pg/pg_store.h"

#include <algorithm>
#include <exception>
#include <map>
#include <set>
#include <utility>

#include <nlohmann/json.hpp>
#include <pqxx/binarystring>
#include <pqxx/nontransaction>
#include <pqxx/result>
#include <pqxx/notification>
#include <pqxx/transaction>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "hub/pg/migrations.h"
#include "hub/pg/pg_errors.h"
#include "hub/pg/sql.h"
#include "hub/status_macros.h"

namespace hub::pg {
namespace {

constexpr int kConflictRetries = 3;
// Lease rows looked at per claim of redeliveries.
constexpr int kAvailableLeaseRows = 16;
constexpr int64_t kPartitionLockKey = 0x6875625f707274;  // "hub_prt"

int64_t Millis(absl::Duration d) { return absl::ToInt64Milliseconds(d); }

// PostgreSQL array literals, built as text parameters.
void AppendQuoted(std::string& out, absl::string_view text) {
  out += '"';
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
}

template <typename Int>
std::string IntArray(const std::vector<Int>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i != 0) out += ',';
    absl::StrAppend(&out, values[i]);
  }
  out += '}';
  return out;
}

// Elements equal to nullopt become SQL NULL.
std::string TextArray(const std::vector<std::optional<std::string>>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i != 0) out += ',';
    if (values[i]) {
      AppendQuoted(out, *values[i]);
    } else {
      out += "NULL";
    }
  }
  out += '}';
  return out;
}

std::string TextArray(const std::vector<std::string>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i != 0) out += ',';
    AppendQuoted(out, values[i]);
  }
  out += '}';
  return out;
}

// Parses the text form of a bigint[] ("{1,2,3}").
std::vector<int64_t> ParseIntArray(absl::string_view text) {
  std::vector<int64_t> out;
  if (text.size() < 2) return out;
  text = text.substr(1, text.size() - 2);
  if (text.empty()) return out;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    int64_t v = 0;
    if (absl::SimpleAtoi(part, &v)) out.push_back(v);
  }
  return out;
}

std::string LabelsToJson(const Labels& labels) {
  return nlohmann::json(labels).dump();
}

Labels LabelsFromJson(absl::string_view text) {
  Labels labels;
  if (text.empty()) return labels;
  const nlohmann::json object = nlohmann::json::parse(text.begin(), text.end());
  for (auto it = object.begin(); it != object.end(); ++it) {
    labels[it.key()] = it.value().get<std::string>();
  }
  return labels;
}

TopicConfig TopicFromRow(const pqxx::row& row) {
  TopicConfig topic;
  topic.name = row[0].as<std::string>();
  topic.message_retention = absl::Milliseconds(row[1].as<int64_t>());
  topic.dedup_window = absl::Milliseconds(row[2].as<int64_t>());
  topic.labels = LabelsFromJson(row[3].as<std::string>());
  return topic;
}

SubscriptionRecord SubscriptionFromRow(const pqxx::row& row) {
  SubscriptionRecord rec;
  rec.id = row[0].as<int64_t>();
  rec.topic_id = row[1].as<int64_t>();
  SubscriptionConfig& c = rec.config;
  c.name = row[2].as<std::string>();
  c.topic = row[3].as<std::string>();
  c.ack_deadline_seconds = row[4].as<int>();
  c.delivery_guarantee = static_cast<DeliveryGuarantee>(row[5].as<int>());
  c.enable_message_ordering = row[6].as<bool>();
  c.filter = row[7].as<std::string>();
  c.dead_letter_policy.topic = row[8].as<std::string>();
  c.dead_letter_policy.max_delivery_attempts = row[9].as<int>();
  c.retry_policy.minimum_backoff = absl::Milliseconds(row[10].as<int64_t>());
  c.retry_policy.maximum_backoff = absl::Milliseconds(row[11].as<int64_t>());
  c.labels = LabelsFromJson(row[12].as<std::string>());
  return rec;
}

// Reads HUB_SQL_MESSAGE_COLUMNS starting at column `first`.
std::pair<int64_t, Message> MessageFromRow(const pqxx::row& row, int first) {
  const int64_t position = row[first].as<int64_t>();
  Message m;
  m.message_id = absl::StrCat(position);
  m.publish_time = absl::FromUnixMicros(row[first + 1].as<int64_t>());
  pqxx::binarystring data(row[first + 2]);
  m.data.assign(data.get(), data.size());
  if (!row[first + 3].is_null()) m.attributes = LabelsFromJson(row[first + 3].c_str());
  m.ordering_key = row[first + 4].as<std::string>();
  m.idempotency_key = row[first + 5].as<std::string>();
  return {position, std::move(m)};
}

void Prepare(pqxx::connection& conn) {
  conn.prepare("create_topic", sql::kCreateTopic);
  conn.prepare("get_topic", sql::kGetTopic);
  conn.prepare("list_topics", sql::kListTopics);
  conn.prepare("delete_topic", sql::kDeleteTopic);
  conn.prepare("topic_exists", sql::kTopicExists);
  conn.prepare("create_subscription", sql::kCreateSubscription);
  conn.prepare("get_subscription", sql::kGetSubscription);
  conn.prepare("list_subscriptions", sql::kListSubscriptions);
  conn.prepare("delete_subscription", sql::kDeleteSubscription);
  conn.prepare("subscription_exists", sql::kSubscriptionExists);
  conn.prepare("lock_topics", sql::kLockTopics);
  conn.prepare("find_keys", sql::kFindIdempotencyKeys);
  conn.prepare("write_messages", sql::kWriteMessages);
  conn.prepare("has_available_leases", sql::kHasAvailableLeases);
  conn.prepare("lock_available_leases", sql::kLockAvailableLeases);
  conn.prepare("release_lease", sql::kReleaseLease);
  conn.prepare("set_pending", sql::kSetPending);
  conn.prepare("delete_lease", sql::kDeleteLease);
  conn.prepare("insert_lease", sql::kInsertLease);
  conn.prepare("fetch_messages", sql::kFetchMessages);
  conn.prepare("claim_new", sql::kClaimNew);
  conn.prepare("acknowledge", sql::kAcknowledge);
  conn.prepare("lock_leases", sql::kLockLeases);
  conn.prepare("nack_lease", sql::kNackLease);
  conn.prepare("extend_leases", sql::kExtendLeases);
}

bool DropsConnection(DbErrorKind kind) {
  return kind == DbErrorKind::kConnection ||
         kind == DbErrorKind::kCommitUnknown ||
         kind == DbErrorKind::kServerShutdown;
}

}  // namespace

PgStore::PgStore(PgStoreOptions options)
    : options_(std::move(options)),
      pool_(options_.database_url, options_.pool_size, &Prepare) {}

PgStore::~PgStore() {
  stopping_ = true;
  if (listener_.joinable()) listener_.join();
}

absl::Status PgStore::Run(
    const std::function<absl::Status(pqxx::connection&)>& fn) {
  for (int attempt = 1;; ++attempt) {
    ASSIGN_OR_RETURN(ConnectionPool::Handle conn, pool_.Acquire());
    DbErrorKind kind;
    std::string what;
    try {
      return fn(*conn);
    } catch (const std::exception& e) {
      kind = ClassifyException(e);
      what = e.what();
    }
    if (DropsConnection(kind)) conn.Discard();
    if (kind == DbErrorKind::kConflict && attempt < kConflictRetries) continue;
    return StatusFromDbError(kind, what);
  }
}

absl::Status PgStore::Migrate() {
  RETURN_IF_ERROR(Run([](pqxx::connection& conn) {
    return ApplyMigrations(conn, EmbeddedMigrations());
  }));
  return Maintain();
}

absl::Status PgStore::Maintain() {
  return Run([this](pqxx::connection& conn) {
    pqxx::work tx(conn);
    tx.exec_params("SELECT pg_advisory_xact_lock($1)", kPartitionLockKey);
    const absl::Time today =
        absl::FromCivil(absl::ToCivilDay(absl::Now(), absl::UTCTimeZone()),
                        absl::UTCTimeZone());
    for (int day = -1; day <= options_.partitions_ahead_days; ++day) {
      const absl::Time from = today + absl::Hours(24 * day);
      const absl::Time to = from + absl::Hours(24);
      const std::string name =
          absl::FormatTime("messages_p%Y%m%d", from, absl::UTCTimeZone());
      const char* kFormat = "%Y-%m-%d 00:00:00+00";
      tx.exec(absl::StrCat(
          "CREATE TABLE IF NOT EXISTS ", name, " PARTITION OF messages ",
          "FOR VALUES FROM ('", absl::FormatTime(kFormat, from, absl::UTCTimeZone()),
          "') TO ('", absl::FormatTime(kFormat, to, absl::UTCTimeZone()), "')"));
    }
    tx.commit();
    return absl::OkStatus();
  });
}

absl::Status PgStore::Ping() {
  return Run([](pqxx::connection& conn) {
    pqxx::nontransaction tx(conn);
    tx.exec("SELECT 1");
    return absl::OkStatus();
  });
}

absl::Status PgStore::CreateTopic(const TopicConfig& topic) {
  return Run([&](pqxx::connection& conn) {
    pqxx::work tx(conn);
    tx.exec_prepared("create_topic", topic.name, Millis(topic.message_retention),
                     Millis(topic.dedup_window), LabelsToJson(topic.labels));
    tx.commit();
    return absl::OkStatus();
  });
}

absl::StatusOr<TopicConfig> PgStore::GetTopic(absl::string_view name) {
  TopicConfig topic;
  RETURN_IF_ERROR(Run([&](pqxx::connection& conn) {
    pqxx::nontransaction tx(conn);
    pqxx::result r = tx.exec_prepared("get_topic", std::string(name));
    if (r.empty()) {
      return absl::NotFoundError(absl::StrCat("topic ", name, " not found"));
    }
    topic = TopicFromRow(r[0]);
    return absl::OkStatus();
  }));
  return topic;
}

absl::StatusOr<std::vector<TopicConfig>> PgStore::ListTopics(
    absl::string_view after, int limit) {
  std::vector<TopicConfig> topics;
  RETURN_IF_ERROR(Run([&](pqxx::connection& conn) {
    topics.clear();
    pqxx::nontransaction tx(conn);
    for (const auto& row :
         tx.exec_prepared("list_topics", std::string(after), limit)) {
      topics.push_back(TopicFromRow(row));
    }
    return absl::OkStatus();
  }));
  return topics;
}

absl::Status PgStore::DeleteTopic(absl::string_view name) {
  return Run([&](pqxx::connection& conn) {
    pqxx::work tx(conn);
    pqxx::result r = tx.exec_prepared("delete_topic", std::string(name));
    tx.commit();
    if (r.affected_rows() == 0) {
      return absl::NotFoundError(absl::StrCat("topic ", name, " not found"));
    }
    return absl::OkStatus();
  });
}

absl::Status PgStore::CreateSubscription(const SubscriptionConfig& sub) {
  return Run([&](pqxx::connection& conn) {
    pqxx::work tx(conn);
    pqxx::result r = tx.exec_prepared(
        "create_subscription", sub.name, sub.topic, sub.ack_deadline_seconds,
        static_cast<int>(sub.delivery_guarantee), sub.enable_message_ordering,
        sub.filter, sub.dead_letter_policy.topic,
        sub.dead_letter_policy.max_delivery_attempts,
        Millis(sub.retry_policy.minimum_backoff),
        Millis(sub.retry_policy.maximum_backoff), LabelsToJson(sub.labels));
    if (r.empty()) {
      return absl::NotFoundError(absl::StrCat("topic ", sub.topic, " not found"));
    }
    tx.commit();
    return absl::OkStatus();
  });
}

absl::StatusOr<SubscriptionRecord> PgStore::GetSubscription(
    absl::string_view name) {
  SubscriptionRecord record;
  RETURN_IF_ERROR(Run([&](pqxx::connection& conn) {
    pqxx::nontransaction tx(conn);
    pqxx::result r = tx.exec_prepared("get_subscription", std::string(name));
    if (r.empty()) {
      return absl::NotFoundError(
          absl::StrCat("subscription ", name, " not found"));
    }
    record = SubscriptionFromRow(r[0]);
    return absl::OkStatus();
  }));
  return record;
}

absl::StatusOr<std::vector<SubscriptionConfig>> PgStore::ListSubscriptions(
    absl::string_view topic, absl::string_view after, int limit) {
  std::vector<SubscriptionConfig> subs;
  RETURN_IF_ERROR(Run([&](pqxx::connection& conn) {
    subs.clear();
    pqxx::nontransaction tx(conn);
    for (const auto& row : tx.exec_prepared("list_subscriptions",
                                            std::string(topic),
                                            std::string(after), limit)) {
      subs.push_back(SubscriptionFromRow(row).config);
    }
    if (subs.empty() && !topic.empty() &&
        tx.exec_prepared("topic_exists", std::string(topic)).empty()) {
      return absl::NotFoundError(absl::StrCat("topic ", topic, " not found"));
    }
    return absl::OkStatus();
  }));
  return subs;
}

absl::Status PgStore::DeleteSubscription(absl::string_view name) {
  return Run([&](pqxx::connection& conn) {
    pqxx::work tx(conn);
    pqxx::result r = tx.exec_prepared("delete_subscription", std::string(name));
    tx.commit();
    if (r.affected_rows() == 0) {
      return absl::NotFoundError(
          absl::StrCat("subscription ", name, " not found"));
    }
    return absl::OkStatus();
  });
}

absl::Status PgStore::Publish(absl::Span<PublishItem* const> items) {
  return Run([&](pqxx::connection& conn) {
    for (PublishItem* item : items) {
      item->status = absl::OkStatus();
      item->results.clear();
    }
    std::set<std::string> names;
    for (const PublishItem* item : items) names.insert(item->topic);

    pqxx::work tx(conn);
    // topic name -> (id, next position); locked until commit (invariant P).
    std::map<std::string, std::pair<int64_t, int64_t>, std::less<>> heads;
    for (const auto& row : tx.exec_prepared(
             "lock_topics",
             TextArray(std::vector<std::string>(names.begin(), names.end())))) {
      heads[row[1].as<std::string>()] = {row[0].as<int64_t>(),
                                         row[2].as<int64_t>()};
    }

    // Keys already used within their topic's window.
    std::map<std::pair<int64_t, std::string>, int64_t> known_keys;
    {
      std::vector<int64_t> key_topics;
      std::vector<std::string> keys;
      for (PublishItem* item : items) {
        auto head = heads.find(item->topic);
        if (head == heads.end()) continue;
        for (const Message& m : item->messages) {
          if (m.idempotency_key.empty()) continue;
          key_topics.push_back(head->second.first);
          keys.push_back(m.idempotency_key);
        }
      }
      if (!keys.empty()) {
        for (const auto& row : tx.exec_prepared("find_keys", IntArray(key_topics),
                                                TextArray(keys))) {
          known_keys[{row[0].as<int64_t>(), row[1].as<std::string>()}] =
              row[2].as<int64_t>();
        }
      }
    }

    // Columns of the messages to write.
    std::vector<int64_t> topic_ids, positions;
    std::vector<int32_t> offsets, lengths;
    std::vector<std::optional<std::string>> attributes;
    std::vector<std::string> ordering_keys, idempotency_keys;
    std::string blob;
    // Columns of the new idempotency keys.
    std::vector<int64_t> key_topic_ids, key_positions;
    std::vector<std::string> new_keys;

    std::map<int64_t, int64_t> next_positions;
    for (PublishItem* item : items) {
      auto head = heads.find(item->topic);
      if (head == heads.end()) {
        item->status = absl::NotFoundError(
            absl::StrCat("topic ", item->topic, " not found"));
        continue;
      }
      const int64_t topic_id = head->second.first;
      int64_t& next = head->second.second;
      item->topic_id = topic_id;
      for (const Message& m : item->messages) {
        if (!m.idempotency_key.empty()) {
          auto [it, inserted] =
              known_keys.try_emplace({topic_id, m.idempotency_key}, next);
          if (!inserted) {
            item->results.push_back({absl::StrCat(it->second), true});
            continue;
          }
          key_topic_ids.push_back(topic_id);
          new_keys.push_back(m.idempotency_key);
          key_positions.push_back(next);
        }
        topic_ids.push_back(topic_id);
        positions.push_back(next);
        offsets.push_back(static_cast<int32_t>(blob.size()) + 1);
        lengths.push_back(static_cast<int32_t>(m.data.size()));
        blob += m.data;
        attributes.push_back(m.attributes.empty()
                                 ? std::nullopt
                                 : std::optional(LabelsToJson(m.attributes)));
        ordering_keys.push_back(m.ordering_key);
        idempotency_keys.push_back(m.idempotency_key);
        item->results.push_back({absl::StrCat(next), false});
        ++next;
        next_positions[topic_id] = next;
      }
    }

    if (!positions.empty()) {
      std::vector<int64_t> head_ids, head_next;
      for (const auto& [id, next] : next_positions) {
        head_ids.push_back(id);
        head_next.push_back(next);
      }
      tx.exec_prepared("write_messages", IntArray(topic_ids),
                       IntArray(positions),
                       pqxx::binarystring(blob.data(), blob.size()),
                       IntArray(offsets), IntArray(lengths),
                       TextArray(attributes), TextArray(ordering_keys),
                       TextArray(idempotency_keys), IntArray(key_topic_ids),
                       TextArray(new_keys), IntArray(key_positions),
                       IntArray(head_ids), IntArray(head_next));
    }
    tx.commit();
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<Delivery>> PgStore::ClaimAvailable(
    pqxx::connection& conn, const SubscriptionRecord& sub, int max_messages,
    absl::Duration ack_deadline) {
  const int64_t deadline_ms = Millis(ack_deadline);
  const int64_t min_ms = Millis(sub.config.retry_policy.minimum_backoff);
  const int64_t max_ms = Millis(sub.config.retry_policy.maximum_backoff);
  struct Taken {
    int64_t lease_id;
    int generation;
    int attempt;
    std::vector<int64_t> positions;
  };
  std::vector<Taken> taken;
  std::vector<int64_t> all_positions;

  pqxx::work tx(conn);
  int room = max_messages;
  for (const auto& row : tx.exec_prepared("lock_available_leases", sub.id,
                                          kAvailableLeaseRows)) {
    const int64_t lease_id = row[0].as<int64_t>();
    std::vector<int64_t> pending = ParseIntArray(row[1].c_str());
    const int attempt = row[2].as<int>();
    if (pending.empty()) {
      // Left empty by concurrent acks of two replicas; nothing to deliver.
      tx.exec_prepared("delete_lease", sub.id, lease_id);
      continue;
    }
    if (room == 0) break;
    if (static_cast<int>(pending.size()) <= room) {
      pqxx::row r = tx.exec_prepared1("release_lease", sub.id, lease_id,
                                      deadline_ms, min_ms, max_ms);
      taken.push_back({lease_id, r[0].as<int>(), r[1].as<int>(), pending});
    } else {
      // Split: the head goes out now, the rest stays due.
      std::vector<int64_t> head(pending.begin(), pending.begin() + room);
      std::vector<int64_t> rest(pending.begin() + room, pending.end());
      tx.exec_prepared("set_pending", sub.id, lease_id, IntArray(rest));
      pqxx::row r = tx.exec_prepared1("insert_lease", sub.id, IntArray(head),
                                      attempt + 1, deadline_ms, min_ms, max_ms);
      taken.push_back({r[0].as<int64_t>(), r[1].as<int>(), attempt + 1, head});
    }
    room -= static_cast<int>(taken.back().positions.size());
    all_positions.insert(all_positions.end(), taken.back().positions.begin(),
                         taken.back().positions.end());
  }

  std::map<int64_t, Message> messages;
  if (!all_positions.empty()) {
    for (const auto& row : tx.exec_prepared("fetch_messages", sub.topic_id,
                                            IntArray(all_positions))) {
      messages.insert(MessageFromRow(row, 0));
    }
  }
  tx.commit();

  std::vector<Delivery> deliveries;
  for (const Taken& t : taken) {
    for (int64_t position : t.positions) {
      auto it = messages.find(position);
      if (it == messages.end()) continue;  // removed by retention
      deliveries.push_back(Delivery{
          EncodeAckId(AckId{t.lease_id, t.generation, position}), it->second,
          t.attempt});
    }
  }
  return deliveries;
}

absl::StatusOr<std::vector<Delivery>> PgStore::Claim(
    const SubscriptionRecord& sub, int max_messages, int64_t max_bytes,
    absl::Duration ack_deadline) {
  std::vector<Delivery> deliveries;
  RETURN_IF_ERROR(Run([&](pqxx::connection& conn) -> absl::Status {
    deliveries.clear();
    bool redeliveries_due;
    {
      pqxx::nontransaction check(conn);
      redeliveries_due =
          check.exec_prepared1("has_available_leases", sub.id)[0].as<bool>();
    }
    if (redeliveries_due) {
      ASSIGN_OR_RETURN(deliveries,
                       ClaimAvailable(conn, sub, max_messages, ack_deadline));
    }
    const int room = max_messages - static_cast<int>(deliveries.size());
    if (room <= 0) return absl::OkStatus();

    pqxx::nontransaction tx(conn);
    pqxx::result r = tx.exec_prepared(
        "claim_new", sub.id, sub.topic_id, room, Millis(ack_deadline),
        Millis(sub.config.retry_policy.minimum_backoff),
        Millis(sub.config.retry_policy.maximum_backoff), max_bytes);
    for (const auto& row : r) {
      const int64_t lease_id = row[0].as<int64_t>();
      auto [position, message] = MessageFromRow(row, 1);
      deliveries.push_back(Delivery{EncodeAckId(AckId{lease_id, 1, position}),
                                    std::move(message), 1});
    }
    if (deliveries.empty() &&
        tx.exec_prepared("subscription_exists", sub.id).empty()) {
      return absl::NotFoundError(
          absl::StrCat("subscription ", sub.config.name, " was deleted"));
    }
    return absl::OkStatus();
  }));
  return deliveries;
}

absl::Status PgStore::Acknowledge(absl::Span<const AckRef> acks) {
  if (acks.empty()) return absl::OkStatus();
  std::vector<int64_t> subs, leases, positions;
  for (const AckRef& a : acks) {
    subs.push_back(a.subscription_id);
    leases.push_back(a.id.lease_id);
    positions.push_back(a.id.position);
  }
  return Run([&](pqxx::connection& conn) {
    pqxx::nontransaction tx(conn);
    tx.exec_prepared("acknowledge", IntArray(subs), IntArray(leases),
                     IntArray(positions));
    return absl::OkStatus();
  });
}

absl::Status PgStore::Nack(const SubscriptionRecord& sub,
                           absl::Span<const AckId> ids) {
  // lease id -> (generation -> positions) named by the request.
  std::map<int64_t, std::map<int, std::set<int64_t>>> named;
  std::vector<int64_t> lease_ids;
  for (const AckId& id : ids) {
    named[id.lease_id][id.generation].insert(id.position);
  }
  for (const auto& [lease_id, unused] : named) lease_ids.push_back(lease_id);
  const int64_t min_ms = Millis(sub.config.retry_policy.minimum_backoff);
  const int64_t max_ms = Millis(sub.config.retry_policy.maximum_backoff);

  return Run([&](pqxx::connection& conn) {
    pqxx::work tx(conn);
    for (const auto& row :
         tx.exec_prepared("lock_leases", sub.id, IntArray(lease_ids))) {
      const int64_t lease_id = row[0].as<int64_t>();
      const int generation = row[1].as<int>();
      const std::vector<int64_t> pending = ParseIntArray(row[2].c_str());
      const int attempt = row[3].as<int>();
      // Only the current delivery of a row may nack it; an older one's nack
      // would take the message from its new holder.
      const auto& by_generation = named[lease_id];
      auto current = by_generation.find(generation);
      if (current == by_generation.end()) continue;
      std::vector<int64_t> nacked, rest;
      for (int64_t p : pending) {
        (current->second.count(p) != 0 ? nacked : rest).push_back(p);
      }
      if (nacked.empty()) continue;
      if (rest.empty()) {
        tx.exec_prepared("nack_lease", sub.id, lease_id, min_ms, max_ms);
        continue;
      }
      tx.exec_prepared("set_pending", sub.id, lease_id, IntArray(rest));
      tx.exec_prepared("insert_lease", sub.id, IntArray(nacked), attempt,
                       int64_t{0}, min_ms, max_ms);
    }
    tx.commit();
    return absl::OkStatus();
  });
}

absl::Status PgStore::ExtendLeases(const SubscriptionRecord& sub,
                                   absl::Span<const AckId> ids,
                                   absl::Duration deadline) {
  std::set<std::pair<int64_t, int>> rows;
  for (const AckId& id : ids) rows.insert({id.lease_id, id.generation});
  std::vector<int64_t> lease_ids;
  std::vector<int> generations;
  for (const auto& [lease_id, generation] : rows) {
    lease_ids.push_back(lease_id);
    generations.push_back(generation);
  }
  return Run([&](pqxx::connection& conn) {
    pqxx::nontransaction tx(conn);
    tx.exec_prepared("extend_leases", sub.id, IntArray(lease_ids),
                     IntArray(generations), Millis(deadline),
                     Millis(sub.config.retry_policy.minimum_backoff),
                     Millis(sub.config.retry_policy.maximum_backoff));
    return absl::OkStatus();
  });
}

namespace {

class PublishReceiver final : public pqxx::notification_receiver {
 public:
  PublishReceiver(pqxx::connection_base& conn,
                  const std::function<void(int64_t)>& on_publish)
      : pqxx::notification_receiver(conn, "hub_publish"),
        on_publish_(on_publish) {}

  void operator()(const std::string& payload, int /*backend_pid*/) override {
    int64_t topic_id = 0;
    if (absl::SimpleAtoi(payload, &topic_id)) on_publish_(topic_id);
  }

 private:
  const std::function<void(int64_t)>& on_publish_;
};

}  // namespace

void PgStore::WatchPublishes(std::function<void(int64_t)> on_publish) {
  listener_ = std::thread([this, on_publish = std::move(on_publish)] {
    ListenLoop(on_publish);
  });
}

void PgStore::ListenLoop(std::function<void(int64_t)> on_publish) {
  // Waiters poll as well, so a notification lost while this connection is
  // re-established costs at most one poll interval.
  while (!stopping_) {
    try {
      pqxx::connection conn(options_.database_url);
      PublishReceiver receiver(conn, on_publish);
      while (!stopping_) conn.await_notification(0, 200000);
    } catch (const std::exception&) {
      for (int i = 0; i < 10 && !stopping_; ++i) {
        absl::SleepFor(absl::Milliseconds(100));
      }
    }
  }
}

}  // namespace hub::pg
