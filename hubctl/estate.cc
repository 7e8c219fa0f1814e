#include "hubctl/estate.h"

#include <map>
#include <utility>

#include <google/protobuf/util/field_mask_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <yaml-cpp/yaml.h>

#include "absl/strings/str_cat.h"
#include "hubctl/args.h"

namespace hub::hubctl {
namespace {

using google::protobuf::util::FieldMaskUtil;
using google::protobuf::util::MessageDifferencer;

// The hub's own default, which its answers carry (docs/api.md,
// DeadLetterPolicy): a file that names a dead-letter topic and no attempts
// asks for it.
constexpr int kDefaultDeliveryAttempts = 20;

absl::Status Bad(const std::string& where, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("estate ", where, ": ", what));
}

// A scalar of the file as T, or INVALID_ARGUMENT naming `where`.
template <typename T>
absl::StatusOr<T> Scalar(const YAML::Node& node, const std::string& where) {
  if (!node.IsScalar()) return Bad(where, "expected a single value");
  try {
    return node.as<T>();
  } catch (const YAML::Exception&) {
    return Bad(where, absl::StrCat("\"", node.Scalar(), "\" is not of the right kind"));
  }
}

// A `labels` map as the `--label key=value` options it stands for.
absl::StatusOr<std::vector<std::string>> Labels(const YAML::Node& node, const std::string& where) {
  if (!node.IsMap()) return Bad(where, "labels are a map of key: value");
  std::vector<std::string> pairs;
  for (const auto& kv : node) {
    absl::StatusOr<std::string> key = Scalar<std::string>(kv.first, where);
    if (!key.ok()) return key.status();
    absl::StatusOr<std::string> value = Scalar<std::string>(kv.second, where + "." + *key);
    if (!value.ok()) return value.status();
    pairs.push_back(absl::StrCat(*key, "=", *value));
  }
  return pairs;
}

// The keys of a stanza: each a text, integer or flag member of Args, or
// `labels`. Returns the keys given, as option names ("label" for labels).
template <typename Args>
absl::StatusOr<std::set<std::string>> ReadStanza(
    const YAML::Node& node, const std::string& where,
    const std::map<std::string, std::string Args::*>& texts,
    const std::map<std::string, int Args::*>& integers,
    const std::map<std::string, bool Args::*>& flags, Args& args) {
  if (!node.IsMap()) return Bad(where, "expected a map of keys");
  std::set<std::string> keys;
  for (const auto& kv : node) {
    absl::StatusOr<std::string> key = Scalar<std::string>(kv.first, where);
    if (!key.ok()) return key.status();
    const std::string at = absl::StrCat(where, ".", *key);
    if constexpr (requires { args.labels; }) {
      if (*key == "labels") {
        absl::StatusOr<std::vector<std::string>> pairs = Labels(kv.second, at);
        if (!pairs.ok()) return pairs.status();
        args.labels = *std::move(pairs);
        keys.insert("label");
        continue;
      }
    }
    if (auto t = texts.find(*key); t != texts.end()) {
      absl::StatusOr<std::string> v = Scalar<std::string>(kv.second, at);
      if (!v.ok()) return v.status();
      args.*(t->second) = *std::move(v);
    } else if (auto i = integers.find(*key); i != integers.end()) {
      absl::StatusOr<int> v = Scalar<int>(kv.second, at);
      if (!v.ok()) return v.status();
      args.*(i->second) = *v;
    } else if (auto f = flags.find(*key); f != flags.end()) {
      absl::StatusOr<bool> v = Scalar<bool>(kv.second, at);
      if (!v.ok()) return v.status();
      args.*(f->second) = *v;
    } else {
      return Bad(at, "not a key of this stanza");
    }
    keys.insert(*key);
  }
  if (!keys.count("name")) return Bad(where, "a name is required");
  return keys;
}

// The stanzas of `section` (a list), each read by `read`, names unique.
template <typename Read>
absl::Status ReadSection(const YAML::Node& root, const std::string& section, Read read) {
  const YAML::Node list = root[section];
  if (!list) return absl::OkStatus();
  if (!list.IsSequence()) return Bad(section, "expected a list");
  std::set<std::string> names;
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string where = absl::StrCat(section, "[", i, "]");
    absl::StatusOr<std::string> name = read(list[i], where);
    if (!name.ok()) return name.status();
    if (!names.insert(*name).second) return Bad(where, absl::StrCat(*name, " is named twice"));
  }
  return absl::OkStatus();
}

// The update_mask paths of the keys given, each once.
template <size_t N>
std::vector<std::string> PathsOf(const std::set<std::string>& keys,
                                 const std::pair<const char*, const char*> (&fields)[N]) {
  std::vector<std::string> paths;
  for (const auto& [key, path] : fields) {
    if (keys.count(key) && std::find(paths.begin(), paths.end(), path) == paths.end()) {
      paths.push_back(path);
    }
  }
  return paths;
}

// Whether `a` and `b` agree on the field at `path`.
template <typename Proto>
bool SameAt(const Proto& a, const Proto& b, const std::string& path) {
  google::protobuf::FieldMask mask;
  mask.add_paths(path);
  Proto only_a, only_b;
  FieldMaskUtil::MergeMessageTo(a, mask, FieldMaskUtil::MergeOptions(), &only_a);
  FieldMaskUtil::MergeMessageTo(b, mask, FieldMaskUtil::MergeOptions(), &only_b);
  return MessageDifferencer::Equals(only_a, only_b);
}

// The labels a declared resource has: the file's (or, when it gives none,
// the hub's), and the estate's mark.
template <typename Proto>
void MarkLabels(const Estate& estate, const std::set<std::string>& keys, const Proto* current,
                Proto& desired) {
  if (!keys.count("label") && current != nullptr) *desired.mutable_labels() = current->labels();
  (*desired.mutable_labels())[kEstateLabel] = estate.name;
}

// The fields of `paths` where `desired` differs from `current`.
template <typename Proto>
std::vector<std::string> Differing(const Proto& desired, const Proto& current,
                                   const std::vector<std::string>& paths) {
  std::vector<std::string> differ;
  for (const std::string& path : paths) {
    if (!SameAt(desired, current, path)) differ.push_back(path);
  }
  return differ;
}

template <typename Proto>
std::map<std::string, Proto> ByName(const std::vector<Proto>& items) {
  std::map<std::string, Proto> by;
  for (const Proto& p : items) by.emplace(p.name(), p);
  return by;
}

// A schema stanza.
struct SchemaStanza {
  std::string name;
  std::string type = "protobuf";
  std::string definition;
};

absl::Status Fixed(const std::string& subscription, const std::string& field,
                   const std::string& file, const std::string& hub) {
  return absl::InvalidArgumentError(absl::StrCat(
      "subscription ", subscription, ": ", field, " is fixed at creation (the file says ", file,
      ", the hub has ", hub, "); delete and create it, or change the file"));
}

}  // namespace

absl::StatusOr<Estate> ParseEstate(absl::string_view yaml) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("estate: not YAML: ", e.what()));
  }
  if (!root.IsMap())
    return Bad("file", "expected a map with estate, schemas, topics, subscriptions");
  Estate estate;
  for (const auto& kv : root) {
    const std::string key = kv.first.Scalar();
    if (key != "estate" && key != "schemas" && key != "topics" && key != "subscriptions") {
      return Bad(key, "not a key of an estate file");
    }
  }
  absl::StatusOr<std::string> name = Scalar<std::string>(root["estate"], "estate");
  if (!name.ok()) return Bad("estate", "the estate's name is required (it labels what it manages)");
  estate.name = *std::move(name);
  if (absl::Status s = ReadSection(
          root, "schemas",
          [&](const YAML::Node& node, const std::string& where) -> absl::StatusOr<std::string> {
            SchemaStanza args;
            absl::StatusOr<std::set<std::string>> keys =
                ReadStanza(node, where,
                           {{"name", &SchemaStanza::name},
                            {"type", &SchemaStanza::type},
                            {"definition", &SchemaStanza::definition}},
                           {}, {}, args);
            if (!keys.ok()) return keys.status();
            absl::StatusOr<v1::SchemaType> type = ParseSchemaType(args.type);
            if (!type.ok()) return Bad(where, type.status().message());
            estate.schemas.push_back({args.name, *type, args.definition});
            return args.name;
          });
      !s.ok()) {
    return s;
  }
  if (absl::Status s = ReadSection(
          root, "topics",
          [&](const YAML::Node& node, const std::string& where) -> absl::StatusOr<std::string> {
            EstateTopic topic;
            absl::StatusOr<std::set<std::string>> keys =
                ReadStanza(node, where,
                           {{"name", &TopicArgs::name},
                            {"retention", &TopicArgs::retention},
                            {"dedup_window", &TopicArgs::dedup_window},
                            {"schema", &TopicArgs::schema},
                            {"encoding", &TopicArgs::encoding},
                            {"first_revision", &TopicArgs::first_revision},
                            {"last_revision", &TopicArgs::last_revision}},
                           {}, {}, topic.args);
            if (!keys.ok()) return keys.status();
            topic.keys = *std::move(keys);
            estate.topics.push_back(std::move(topic));
            return estate.topics.back().args.name;
          });
      !s.ok()) {
    return s;
  }
  if (absl::Status s = ReadSection(
          root, "subscriptions",
          [&](const YAML::Node& node, const std::string& where) -> absl::StatusOr<std::string> {
            EstateSubscription sub;
            absl::StatusOr<std::set<std::string>> keys =
                ReadStanza(node, where,
                           {{"name", &SubscriptionArgs::name},
                            {"topic", &SubscriptionArgs::topic},
                            {"guarantee", &SubscriptionArgs::guarantee},
                            {"filter", &SubscriptionArgs::filter},
                            {"dead_letter_topic", &SubscriptionArgs::dead_letter_topic},
                            {"min_backoff", &SubscriptionArgs::min_backoff},
                            {"max_backoff", &SubscriptionArgs::max_backoff},
                            {"retention", &SubscriptionArgs::retention},
                            {"expiration_ttl", &SubscriptionArgs::expiration_ttl},
                            {"start", &SubscriptionArgs::start}},
                           {{"ack_deadline", &SubscriptionArgs::ack_deadline_seconds},
                            {"max_delivery_attempts", &SubscriptionArgs::max_delivery_attempts}},
                           {{"ordering", &SubscriptionArgs::ordering}}, sub.args);
            if (!keys.ok()) return keys.status();
            if (!keys->count("topic")) return Bad(where, "a topic is required");
            sub.keys = *std::move(keys);
            estate.subscriptions.push_back(std::move(sub));
            return estate.subscriptions.back().args.name;
          });
      !s.ok()) {
    return s;
  }
  return estate;
}

absl::StatusOr<EstatePlan> PlanEstate(client::AdminClient& admin, const Estate& estate,
                                      bool prune) {
  absl::StatusOr<std::vector<v1::Topic>> topics = admin.ListTopics();
  if (!topics.ok()) return topics.status();
  absl::StatusOr<std::vector<v1::Subscription>> subs = admin.ListSubscriptions();
  if (!subs.ok()) return subs.status();
  absl::StatusOr<std::vector<v1::Schema>> schemas = admin.ListSchemas();
  if (!schemas.ok()) return schemas.status();
  const auto current_topics = ByName(*topics);
  const auto current_subs = ByName(*subs);
  const auto current_schemas = ByName(*schemas);
  EstatePlan plan;
  using Action = EstateChange::Action;

  for (const EstateSchema& declared : estate.schemas) {
    EstateChange change{Action::kCreate, "schema", declared.name};
    change.schema.set_name(declared.name);
    change.schema.set_type(declared.type);
    change.schema.set_definition(declared.definition);
    if (current_schemas.count(declared.name)) {
      absl::StatusOr<v1::Schema> current = admin.GetSchema(declared.name, "");
      if (!current.ok()) return current.status();
      if (current->type() != declared.type) {
        return absl::InvalidArgumentError(
            absl::StrCat("schema ", declared.name, ": type is fixed (the file says ",
                         v1::SchemaType_Name(declared.type), ", the hub has ",
                         v1::SchemaType_Name(current->type()), ")"));
      }
      if (current->definition() == declared.definition) {
        ++plan.unchanged;
        continue;
      }
      change.action = Action::kCommit;
      change.fields = {"definition"};
    }
    plan.changes.push_back(std::move(change));
  }

  std::set<std::string> declared_topics;
  for (const EstateTopic& declared : estate.topics) {
    declared_topics.insert(declared.args.name);
    EstateChange change{Action::kCreate, "topic", declared.args.name};
    absl::StatusOr<v1::Topic> desired = TopicOf(declared.args);
    if (!desired.ok())
      return Bad(absl::StrCat("topic ", declared.args.name), desired.status().message());
    auto current = current_topics.find(declared.args.name);
    MarkLabels(estate, declared.keys, current == current_topics.end() ? nullptr : &current->second,
               *desired);
    change.topic = *std::move(desired);
    if (current != current_topics.end()) {
      std::vector<std::string> paths = PathsOf(declared.keys, kTopicFields);
      if (std::find(paths.begin(), paths.end(), "labels") == paths.end()) paths.push_back("labels");
      change.fields = Differing(change.topic, current->second, paths);
      if (change.fields.empty()) {
        ++plan.unchanged;
        continue;
      }
      change.action = Action::kUpdate;
    }
    plan.changes.push_back(std::move(change));
  }

  std::set<std::string> declared_subs;
  for (const EstateSubscription& declared : estate.subscriptions) {
    declared_subs.insert(declared.args.name);
    EstateChange change{Action::kCreate, "subscription", declared.args.name};
    absl::StatusOr<v1::Subscription> desired = SubscriptionOf(declared.args);
    if (!desired.ok()) {
      return Bad(absl::StrCat("subscription ", declared.args.name), desired.status().message());
    }
    if (!desired->dead_letter_policy().dead_letter_topic().empty() &&
        desired->dead_letter_policy().max_delivery_attempts() == 0) {
      desired->mutable_dead_letter_policy()->set_max_delivery_attempts(kDefaultDeliveryAttempts);
    }
    auto current = current_subs.find(declared.args.name);
    MarkLabels(estate, declared.keys, current == current_subs.end() ? nullptr : &current->second,
               *desired);
    change.subscription = *std::move(desired);
    if (current != current_subs.end()) {
      const v1::Subscription& now = current->second;
      const v1::Subscription& want = change.subscription;
      if (want.topic() != now.topic()) {
        return Fixed(want.name(), "topic", want.topic(), now.topic());
      }
      if (declared.keys.count("guarantee") &&
          GuaranteeName(want.delivery_guarantee()) != GuaranteeName(now.delivery_guarantee())) {
        return Fixed(want.name(), "guarantee", GuaranteeName(want.delivery_guarantee()),
                     GuaranteeName(now.delivery_guarantee()));
      }
      if (declared.keys.count("ordering") &&
          want.enable_message_ordering() != now.enable_message_ordering()) {
        return Fixed(want.name(), "ordering", want.enable_message_ordering() ? "true" : "false",
                     now.enable_message_ordering() ? "true" : "false");
      }
      std::vector<std::string> paths = PathsOf(declared.keys, kSubscriptionFields);
      if (std::find(paths.begin(), paths.end(), "labels") == paths.end()) paths.push_back("labels");
      change.fields = Differing(want, now, paths);
      if (change.fields.empty()) {
        ++plan.unchanged;
        continue;
      }
      change.action = Action::kUpdate;
    }
    plan.changes.push_back(std::move(change));
  }

  if (prune) {
    // What this estate made and the file no longer names: subscriptions
    // first, their topics after. Schemas carry no label and are not
    // pruned.
    auto marked = [&](const auto& resource) {
      auto it = resource.labels().find(kEstateLabel);
      return it != resource.labels().end() && it->second == estate.name;
    };
    for (const auto& [name, sub] : current_subs) {
      if (marked(sub) && !declared_subs.count(name)) {
        plan.changes.push_back(EstateChange{Action::kDelete, "subscription", name});
      }
    }
    for (const auto& [name, topic] : current_topics) {
      if (marked(topic) && !declared_topics.count(name)) {
        plan.changes.push_back(EstateChange{Action::kDelete, "topic", name});
      }
    }
  }
  return plan;
}

absl::Status ApplyEstate(client::AdminClient& admin, const EstatePlan& plan) {
  using Action = EstateChange::Action;
  for (const EstateChange& c : plan.changes) {
    absl::Status status;
    if (c.kind == "schema") {
      status = c.action == Action::kCreate ? admin.CreateSchema(c.schema).status()
                                           : admin.CommitSchema(c.schema, false).status();
    } else if (c.kind == "topic") {
      status = c.action == Action::kCreate   ? admin.CreateTopic(c.topic).status()
               : c.action == Action::kUpdate ? admin.UpdateTopic(c.topic, c.fields).status()
                                             : admin.DeleteTopic(c.name);
    } else {
      status = c.action == Action::kCreate ? admin.CreateSubscription(c.subscription).status()
               : c.action == Action::kUpdate
                   ? admin.UpdateSubscription(c.subscription, c.fields).status()
                   : admin.DeleteSubscription(c.name);
    }
    if (!status.ok()) {
      return absl::Status(status.code(),
                          absl::StrCat(c.kind, " ", c.name, ": ", status.message(),
                                       " (the changes before it were applied; apply again)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace hub::hubctl
