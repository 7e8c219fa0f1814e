#ifndef HUBCTL_COMMANDS_H_
#define HUBCTL_COMMANDS_H_

#include <cstdint>
#include <istream>
#include <string>
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
};

struct PullArgs {
  std::string subscription;
  int max_messages = 10;
  std::string wait = "0s";
  bool ack = false;
};

struct TailArgs {
  std::string subscription;
  bool ack = false;
  int64_t count = 0;  // 0: until interrupted
  int64_t max_outstanding = 1000;
};

absl::Status CreateTopic(client::AdminClient& admin, const TopicArgs& args, Printer& out);
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
absl::Status GetSubscription(client::AdminClient& admin, const std::string& name, Printer& out);
absl::Status ListSubscriptions(client::AdminClient& admin, const std::string& topic, Printer& out);
absl::Status DeleteSubscription(client::AdminClient& admin, const std::string& name, Printer& out);

absl::Status Publish(const client::Connection& connection, const PublishArgs& args,
                     std::istream& in, Printer& out);
absl::Status Pull(client::AdminClient& admin, const PullArgs& args, Printer& out);
// Streams until `count` messages were printed, the session fails, or
// `interrupted` becomes true (SIGINT, SIGTERM).
absl::Status Tail(const client::Connection& connection, const TailArgs& args,
                  const std::atomic<bool>& interrupted, Printer& out);
// Every subscription when `names` is empty.
absl::Status Stats(client::AdminClient& admin, const std::vector<std::string>& names, Printer& out);

}  // namespace hub::hubctl

#endif  // HUBCTL_COMMANDS_H_
