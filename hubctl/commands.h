#ifndef HUBCTL_COMMANDS_H_
#define HUBCTL_COMMANDS_H_

#include <cstdint>
#include <istream>
#include <string>
#include <utility>
#include <vector>

#include <atomic>
#include "absl/status/status.h"
#include "client/admin_client.h"
#include "client/connection.h"
#include "hubctl/printer.h"

// hubctl's commands. Each takes its parsed arguments, talks to the hub
// through the client library and prints through the Printer; the status it
// returns decides the exit code.
namespace hub::hubctl {

struct TopicArgs {
  std::string name;
  std::string retention;     // empty: the hub's default
  std::string dedup_window;  // empty: the hub's default
  std::vector<std::string> labels;
  // A schema every message must match (docs/schemas.md); empty: none.
  std::string schema;
  std::string encoding = "json";
  std::string first_revision;
  std::string last_revision;
  bool no_schema = false;  // update: remove it
};

struct SchemaArgs {
  std::string name;
  std::string type = "protobuf";
  std::string definition_file;  // "-" is stdin
  std::string revision;         // empty: the newest
  bool allow_breaking = false;
  // validate: a message of the schema, given as text or in a file.
  std::string message;
  std::string message_file;
  std::string encoding = "json";
};

struct SubscriptionArgs {
  std::string name;
  std::string topic;
  int ack_deadline_seconds = 0;  // 0: the hub's default
  std::string guarantee = "at-least-once";
  bool ordering = false;
  std::string filter;
  std::string dead_letter_topic;
  int max_delivery_attempts = 0;  // 0: the hub's default
  std::string min_backoff;
  std::string max_backoff;
  std::vector<std::string> labels;
  std::string retention;       // empty: the topic's
  std::string expiration_ttl;  // empty: never
  std::string start = "next";
};

struct SeekArgs {
  std::string subscription;
  std::string time;  // RFC 3339
  std::string snapshot;
};

struct SnapshotArgs {
  std::string name;
  std::string subscription;
  std::vector<std::string> labels;
};

struct RejectArgs {
  std::string subscription;
  std::vector<std::string> ack_ids;
  std::string reason;
};

struct PublishArgs {
  std::string topic;
  // Each one a message. Empty with no file: stdin, one message per line.
  std::vector<std::string> messages;
  std::string file;  // one message per line; "-" is stdin
  std::vector<std::string> attributes;
  std::string ordering_key;
  // One message: its key. Several: "<key>-<n>" for the n-th (from 1), so
  // running the same command again stores nothing twice.
  std::string idempotency_key;
  // Every message's delivery delay or time (ParseDelay); empty: at once.
  std::string delay;
};

struct PullArgs {
  std::string subscription;
  int max_messages = 10;
  std::string wait = "0s";
  bool ack = false;
};

struct TailArgs {
  std::string subscription;
  // Take leases, as a consumer does (else: look, and take nothing).
  bool consume = false;
  bool ack = false;   // implies consume
  int64_t count = 0;  // 0: until interrupted
  int64_t max_outstanding = 1000;
};

// The fields a topic's and a subscription's options set, each with the
// update_mask path it is: what `update` sends, and what an estate file
// manages (hubctl/estate.h). Options are these names with "--".
inline constexpr std::pair<const char*, const char*> kTopicFields[] = {
    {"retention", "message_retention"},
    {"dedup_window", "dedup_window"},
    {"label", "labels"},
    {"schema", "schema_settings"},
    {"encoding", "schema_settings"},
    {"first_revision", "schema_settings"},
    {"last_revision", "schema_settings"},
    {"no_schema", "schema_settings"}};
inline constexpr std::pair<const char*, const char*> kSubscriptionFields[] = {
    {"ack_deadline", "ack_deadline_seconds"},
    {"filter", "filter"},
    {"dead_letter_topic", "dead_letter_policy"},
    {"max_delivery_attempts", "dead_letter_policy"},
    {"min_backoff", "retry_policy"},
    {"max_backoff", "retry_policy"},
    {"label", "labels"},
    {"retention", "message_retention"},
    {"expiration_ttl", "expiration_ttl"}};

absl::StatusOr<v1::Topic> TopicOf(const TopicArgs& args);
absl::StatusOr<v1::Subscription> SubscriptionOf(const SubscriptionArgs& args);

absl::Status CreateTopic(client::AdminClient& admin, const TopicArgs& args, Printer& out);
// The fields `paths` names (update_mask paths), from `args`.
absl::Status UpdateTopic(client::AdminClient& admin, const TopicArgs& args,
                         const std::vector<std::string>& paths, Printer& out);
absl::Status GetTopic(client::AdminClient& admin, const std::string& name, Printer& out);
absl::Status ListTopics(client::AdminClient& admin, Printer& out);
absl::Status DeleteTopic(client::AdminClient& admin, const std::string& name, Printer& out);

absl::Status CreateSubscription(client::AdminClient& admin, const SubscriptionArgs& args,
                                Printer& out);

// Schemas. `get` prints a revision's definition as it was written, so that
// `hubctl schemas get orders > orders.proto` hands a service the file to
// generate its code from. `validate` checks a message against a stored
// schema, or, without a name, a definition.
absl::Status CreateSchema(client::AdminClient& admin, const SchemaArgs& args, std::istream& in,
                          Printer& out);
absl::Status GetSchema(client::AdminClient& admin, const SchemaArgs& args, Printer& out);
absl::Status ListSchemas(client::AdminClient& admin, Printer& out);
absl::Status CommitSchema(client::AdminClient& admin, const SchemaArgs& args, std::istream& in,
                          Printer& out);
absl::Status RollbackSchema(client::AdminClient& admin, const SchemaArgs& args, Printer& out);
absl::Status ValidateSchema(client::AdminClient& admin, const SchemaArgs& args, std::istream& in,
                            Printer& out);
absl::Status DeleteSchema(client::AdminClient& admin, const std::string& name, Printer& out);
absl::Status UpdateSubscription(client::AdminClient& admin, const SubscriptionArgs& args,
                                const std::vector<std::string>& paths, Printer& out);
absl::Status Seek(client::AdminClient& admin, const SeekArgs& args, Printer& out);
absl::Status CreateSnapshot(client::AdminClient& admin, const SnapshotArgs& args, Printer& out);
absl::Status ListSnapshots(client::AdminClient& admin, Printer& out);
absl::Status DeleteSnapshot(client::AdminClient& admin, const std::string& name, Printer& out);
absl::Status Reject(client::AdminClient& admin, const RejectArgs& args, Printer& out);
absl::Status GetSubscription(client::AdminClient& admin, const std::string& name, Printer& out);
absl::Status ListSubscriptions(client::AdminClient& admin, const std::string& topic, Printer& out);
absl::Status DeleteSubscription(client::AdminClient& admin, const std::string& name, Printer& out);

absl::Status Publish(const client::Connection& connection, const PublishArgs& args,
                     std::istream& in, Printer& out);
absl::Status Pull(client::AdminClient& admin, const PullArgs& args, Printer& out);
// Until `count` messages were printed, the session fails, or
// `interrupted` becomes true (SIGINT, SIGTERM): with `consume` (or `ack`)
// a stream that takes leases; else a look at the subscription's waiting
// messages, its backlog and then what arrives, taking nothing.
absl::Status Tail(const client::Connection& connection, const TailArgs& args,
                  const std::atomic<bool>& interrupted, Printer& out);
// A topic's messages, or a subscription's in one state, taking no lease.
struct BrowseArgs {
  std::string name;   // the topic, or the subscription
  std::string start;  // a message id or an RFC 3339 time
  std::string end;
  std::string filter;
  std::string state = "waiting";  // waiting, in-flight, dead-lettered
  int64_t max = 100;
};

struct RedriveArgs {
  std::string subscription;
  std::vector<std::string> message_ids;
  std::string filter;
  bool all = false;
};

absl::Status ShowMessage(client::AdminClient& admin, const std::string& topic,
                         const std::string& message_id, Printer& out);
absl::Status ListMessages(client::AdminClient& admin, const BrowseArgs& args, Printer& out);
absl::Status ListSubscriptionMessages(client::AdminClient& admin, const BrowseArgs& args,
                                      Printer& out);
// Calls again while more of the selection is left.
absl::Status Redrive(client::AdminClient& admin, const RedriveArgs& args, Printer& out);

struct ApplyArgs {
  std::string file;  // "-" is stdin
  bool dry_run = false;
  bool prune = false;
};

// hubctl apply (hubctl/estate.h): prints the changes, and makes them unless
// `dry_run`. `pending` is set when a dry run found changes to make.
absl::Status Apply(client::AdminClient& admin, const ApplyArgs& args, std::istream& in,
                   Printer& out, bool& pending);

// Every subscription when `names` is empty.
absl::Status Stats(client::AdminClient& admin, const std::vector<std::string>& names, Printer& out);

}  // namespace hub::hubctl

#endif  // HUBCTL_COMMANDS_H_
