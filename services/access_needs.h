#ifndef SERVICES_ACCESS_NEEDS_H_
#define SERVICES_ACCESS_NEEDS_H_

#include <functional>
#include <string>
#include <vector>

#include <grpcpp/server_context.h>

#include "hub/hub.h"
#include "services/auth/access_control.h"

// What each call needs of the access policy (docs/security.md), by hub name:
// hub.v1 and the Pub/Sub API ask the same of a caller for the same act.
namespace hub::services {

std::vector<auth::Need> AdministerTopic(const std::string& topic);
// Get and list calls: `view`, which `admin` holds too.
std::vector<auth::Need> ViewTopic(const std::string& topic);
std::vector<auth::Need> ViewSubscription(const std::string& subscription);
std::vector<auth::Need> ViewSchema(const std::string& schema);
std::vector<auth::Need> AdministerSubscription(const std::string& subscription);
std::vector<auth::Need> PublishTo(const std::string& topic);
std::vector<auth::Need> Consume(const std::string& subscription);
// Reading a topic's messages without a subscription (browsing it, a
// message's fate) is reading the topic: `subscribe` on it.
std::vector<auth::Need> ReadTopic(const std::string& topic);
// Schemas: creating, changing, reading or deleting one is administering it.
std::vector<auth::Need> AdministerSchema(const std::string& schema);

// Creating a subscription reads its topic through it (`topic`, empty on an
// update); naming a dead-letter topic, at creation or later, is publishing
// to it.
std::vector<auth::Need> ConfigureSubscription(const std::string& subscription,
                                              const std::string& topic,
                                              const std::string& dead_letter_topic);

// Creating a snapshot reads the subscription's state and makes a resource
// of its own: subscribe on the one, admin on the other's name.
std::vector<auth::Need> SnapshotOf(const std::string& snapshot, const std::string& subscription);

// Whether the caller may `action` a snapshot: the policy allows it on the
// snapshot's name, or the caller created it (docs/security.md,
// "Snapshots").
std::function<bool(const SnapshotConfig&)> SnapshotAllowed(const auth::AccessControl& access,
                                                           const auth::Credentials& credentials,
                                                           auth::Action action);

// Runs `call` on the snapshot `name` when the caller may `action` it (as
// SnapshotAllowed decides); PERMISSION_DENIED otherwise, NOT_FOUND when the
// caller may and it does not exist.
grpc::Status WithSnapshot(Hub& hub, const auth::AccessControl& access,
                          const auth::Credentials& credentials, auth::Action action,
                          const std::string& name,
                          const std::function<grpc::Status(const SnapshotConfig&)>& call);

// Deleting a topic deletes its subscriptions: the caller must be allowed to
// administer each of them. (One created between this look and the delete
// goes with the topic unchecked; creating it needed subscribe on the topic.)
grpc::Status MayDeleteSubscriptionsOf(Hub& hub, const auth::AccessControl& access,
                                      const grpc::ServerContextBase& context,
                                      const std::string& topic);

}  // namespace hub::services

#endif  // SERVICES_ACCESS_NEEDS_H_
