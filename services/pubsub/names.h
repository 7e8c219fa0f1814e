#ifndef SERVICES_PUBSUB_NAMES_H_
#define SERVICES_PUBSUB_NAMES_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "hub/types.h"

namespace hub::services::pubsub {

// Pub/Sub resource names <-> hub names (docs/pubsub.md, "Names"). The home
// project's topics, subscriptions and snapshots are the hub's plain names
// ("projects/hub/topics/orders" is "orders"); another project's are its id
// and '~' before them ("projects/shop/topics/orders" is "shop~orders"). So
// the mapping is one to one: a project id holds no '~', and in the home
// project an id may not either.
class Names {
 public:
  explicit Names(std::string home_project) : home_(std::move(home_project)) {}

  // "projects/{project}": the hub names of that project.
  absl::StatusOr<NameScope> Project(absl::string_view resource) const;
  absl::StatusOr<std::string> Topic(absl::string_view resource) const {
    return ToHub(resource, "topics");
  }
  absl::StatusOr<std::string> Subscription(absl::string_view resource) const {
    return ToHub(resource, "subscriptions");
  }
  absl::StatusOr<std::string> Snapshot(absl::string_view resource) const {
    return ToHub(resource, "snapshots");
  }
  absl::StatusOr<std::string> Schema(absl::string_view resource) const {
    return ToHub(resource, "schemas");
  }

  std::string TopicResource(absl::string_view name) const { return FromHub(name, "topics"); }
  std::string SubscriptionResource(absl::string_view name) const {
    return FromHub(name, "subscriptions");
  }
  std::string SnapshotResource(absl::string_view name) const { return FromHub(name, "snapshots"); }
  std::string SchemaResource(absl::string_view name) const { return FromHub(name, "schemas"); }

  const std::string& home_project() const { return home_; }

 private:
  absl::StatusOr<std::string> ToHub(absl::string_view resource, absl::string_view collection) const;
  std::string FromHub(absl::string_view name, absl::string_view collection) const;

  const std::string home_;
};

}  // namespace hub::services::pubsub

#endif  // SERVICES_PUBSUB_NAMES_H_
