#ifndef HUBCTL_ESTATE_H_
#define HUBCTL_ESTATE_H_

#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client/admin_client.h"
#include "hubctl/commands.h"

// `hubctl apply`: a file declares schemas, topics and subscriptions, and
// apply makes the hub match it (docs/operations.md, "Declaring the
// estate"). A stanza's keys are the options of the matching `create`
// command, without "--" (`labels` is a map); a key the file leaves out is
// not managed.
namespace hub::hubctl {

// The label that marks what an estate manages: only those resources are
// pruned.
inline constexpr char kEstateLabel[] = "hub-estate";

struct EstateSchema {
  std::string name;
  v1::SchemaType type = v1::SCHEMA_TYPE_UNSPECIFIED;
  std::string definition;
};

struct EstateTopic {
  TopicArgs args;
  std::set<std::string> keys;  // as given
};

struct EstateSubscription {
  SubscriptionArgs args;
  std::set<std::string> keys;
};

struct Estate {
  std::string name;  // the value of kEstateLabel
  std::vector<EstateSchema> schemas;
  std::vector<EstateTopic> topics;
  std::vector<EstateSubscription> subscriptions;
};

// INVALID_ARGUMENT naming the place (`subscriptions[2].guarantee`) for
// YAML that does not parse, an unknown key, a value of the wrong kind, or
// a name given twice.
absl::StatusOr<Estate> ParseEstate(absl::string_view yaml);

// One change apply makes.
struct EstateChange {
  enum class Action { kCreate, kUpdate, kCommit, kDelete };
  Action action;
  std::string kind;  // "schema", "topic", "subscription"
  std::string name;
  std::vector<std::string> fields;  // kUpdate: the update_mask paths
  v1::Schema schema;
  v1::Topic topic;
  v1::Subscription subscription;
};

struct EstatePlan {
  std::vector<EstateChange> changes;  // in the order they are made
  int unchanged = 0;
};

// What makes the hub match `estate`, from its current state; deletes of
// what the estate's label marks and the file no longer names only with
// `prune`. INVALID_ARGUMENT naming the resource and field when the file
// changes what is fixed at creation (a subscription's topic, guarantee or
// ordering; a schema's type): nothing is applied then.
absl::StatusOr<EstatePlan> PlanEstate(client::AdminClient& admin, const Estate& estate, bool prune);

// Makes the changes in order; stops at the first that fails (a second
// apply goes on from there).
absl::Status ApplyEstate(client::AdminClient& admin, const EstatePlan& plan);

}  // namespace hub::hubctl

#endif  // HUBCTL_ESTATE_H_
