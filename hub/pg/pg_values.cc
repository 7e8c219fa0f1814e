#include "hub/pg/pg_values.h"

#include <nlohmann/json.hpp>
#include <pqxx/field>
#include <stdexcept>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "hub/filter.h"

namespace hub::pg {

void ArrayLiteral::Separate() {
  if (text_.size() > 1) text_ += ',';
}

void ArrayLiteral::AddText(absl::string_view value) {
  Separate();
  text_ += '"';
  // Runs without a quote or a backslash are copied whole.
  for (size_t special; (special = value.find_first_of("\"\\")) != absl::string_view::npos;
       value.remove_prefix(special + 1)) {
    text_.append(value.data(), special);
    text_ += '\\';
    text_ += value[special];
  }
  text_.append(value.data(), value.size());
  text_ += '"';
}

void ArrayLiteral::AddInt(int64_t value) {
  Separate();
  absl::StrAppend(&text_, value);
}

std::string ArrayLiteral::Finish() && {
  text_ += '}';
  return std::move(text_);
}

std::string IntArray(const std::vector<int64_t>& values) {
  ArrayLiteral out;
  for (int64_t v : values) out.AddInt(v);
  return std::move(out).Finish();
}

std::string IntArray(const std::vector<int32_t>& values) {
  ArrayLiteral out;
  for (int32_t v : values) out.AddInt(v);
  return std::move(out).Finish();
}

std::string TextArray(const std::vector<std::string>& values) {
  ArrayLiteral out;
  for (const std::string& v : values) out.AddText(v);
  return std::move(out).Finish();
}

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

std::string LabelsToJson(const Labels& labels) { return nlohmann::json(labels).dump(); }

Labels LabelsFromJson(absl::string_view text) {
  Labels labels;
  if (text.empty()) return labels;
  const nlohmann::json object = nlohmann::json::parse(text.begin(), text.end());
  for (auto it = object.begin(); it != object.end(); ++it) {
    labels[it.key()] = it.value().get<std::string>();
  }
  return labels;
}

int StoredGuarantee(DeliveryGuarantee guarantee) {
  switch (guarantee) {
    case DeliveryGuarantee::kAtMostOnce:
      return 0;
    case DeliveryGuarantee::kAtLeastOnce:
      return 1;
    case DeliveryGuarantee::kExactlyOnce:
      return 2;
  }
  throw std::logic_error("unknown delivery guarantee");
}

DeliveryGuarantee GuaranteeFromStored(int stored) {
  switch (stored) {
    case 0:
      return DeliveryGuarantee::kAtMostOnce;
    case 1:
      return DeliveryGuarantee::kAtLeastOnce;
    case 2:
      return DeliveryGuarantee::kExactlyOnce;
  }
  // Inside a store call this becomes INTERNAL: a row no hubd wrote.
  throw std::runtime_error(absl::StrCat("stored delivery_guarantee ", stored, " is unknown"));
}

TopicConfig TopicFromRow(const pqxx::row& row) {
  TopicConfig topic;
  topic.name = row[0].as<std::string>();
  topic.message_retention = absl::Milliseconds(row[1].as<int64_t>());
  topic.dedup_window = absl::Milliseconds(row[2].as<int64_t>());
  topic.labels = LabelsFromJson(row[3].as<std::string>());
  topic.schema_settings.schema = row[4].as<std::string>();
  topic.schema_settings.encoding = static_cast<SchemaEncoding>(row[5].as<int>());
  topic.schema_settings.first_revision_id = row[6].as<std::string>();
  topic.schema_settings.last_revision_id = row[7].as<std::string>();
  return topic;
}

SchemaRevision SchemaFromRow(const pqxx::row& row) {
  SchemaRevision revision;
  revision.name = row[0].as<std::string>();
  revision.revision_id = row[1].as<std::string>();
  revision.type = static_cast<SchemaType>(row[2].as<int>());
  revision.definition = row[3].as<std::string>();
  revision.revision_time = absl::FromUnixMicros(row[4].as<int64_t>());
  return revision;
}

SnapshotConfig SnapshotFromRow(const pqxx::row& row) {
  SnapshotConfig snapshot;
  snapshot.name = row[0].as<std::string>();
  snapshot.topic = row[1].as<std::string>();
  snapshot.expire_time = absl::FromUnixMicros(row[2].as<int64_t>());
  snapshot.labels = LabelsFromJson(row[3].as<std::string>());
  snapshot.creator = row[7].as<std::string>();
  return snapshot;
}

SubscriptionRecord SubscriptionFromRow(const pqxx::row& row) {
  SubscriptionRecord rec;
  rec.id = row[0].as<int64_t>();
  rec.topic_id = row[1].as<int64_t>();
  SubscriptionConfig& c = rec.config;
  c.name = row[2].as<std::string>();
  c.topic = row[3].as<std::string>();
  c.ack_deadline_seconds = row[4].as<int>();
  c.delivery_guarantee = GuaranteeFromStored(row[5].as<int>());
  c.enable_message_ordering = row[6].as<bool>();
  c.filter = row[7].as<std::string>();
  c.dead_letter_policy.topic = row[8].as<std::string>();
  c.dead_letter_policy.max_delivery_attempts = row[9].as<int>();
  c.retry_policy.minimum_backoff = absl::Milliseconds(row[10].as<int64_t>());
  c.retry_policy.maximum_backoff = absl::Milliseconds(row[11].as<int64_t>());
  c.labels = LabelsFromJson(row[12].as<std::string>());
  c.detached = row[13].as<bool>();
  c.message_retention = absl::Milliseconds(row[14].as<int64_t>());
  c.retention_in_effect = absl::Milliseconds(row[15].as<int64_t>());
  c.expiration_ttl = absl::Milliseconds(row[16].as<int64_t>());
  // Validated at creation; a filter that no longer parses matches nothing
  // rather than everything.
  absl::StatusOr<Filter> filter = Filter::Parse(c.filter);
  if (filter.ok()) {
    rec.filter = std::make_shared<const Filter>(std::move(*filter));
  } else {
    rec.filter = std::make_shared<const Filter>(
        std::move(Filter::Parse("attributes:x AND NOT attributes:x").value()));
  }
  return rec;
}

}  // namespace hub::pg
