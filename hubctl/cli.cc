#include "hubctl/cli.h"

#include "absl/strings/str_cat.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>

#include <CLI/CLI.hpp>

#include "absl/strings/ascii.h"
#include "client/admin_client.h"
#include "client/connection.h"
#include "hubctl/args.h"
#include "hubctl/commands.h"
#include "hubctl/printer.h"

namespace hub::hubctl {
namespace {

using Command = std::function<absl::Status(const client::Connection&, Printer&)>;

// An option's name as written here, and the same with dashes for
// underscores: --ack_deadline and --ack-deadline are one option.
std::string Names(const std::string& name) {
  std::string dashed = name;
  std::replace(dashed.begin() + 2, dashed.end(), '_', '-');
  return name + "," + dashed;
}

// A command that needs only the admin calls.
Command Admin(std::function<absl::Status(client::AdminClient&, Printer&)> run) {
  return [run = std::move(run)](const client::Connection& c, Printer& out) {
    client::AdminClient admin(c);
    return run(admin, out);
  };
}

// The update_mask paths of the options given to `command`, each once, in
// the order of `fields` (kTopicFields, kSubscriptionFields).
template <size_t N>
std::vector<std::string> GivenPaths(const CLI::App& command,
                                    const std::pair<const char*, const char*> (&fields)[N]) {
  std::vector<std::string> given;
  for (const auto& [option, path] : fields) {
    if (command.count(absl::StrCat("--", option)) > 0 &&
        std::find(given.begin(), given.end(), path) == given.end()) {
      given.push_back(path);
    }
  }
  return given;
}

// Every argument, bound to the parser; the chosen subcommand sets `command`.
struct Cli {
  client::ConnectionOptions connection;
  std::string token_file;
  std::string output = "text";
  std::string timeout = "30s";
  Command command;
  TopicArgs topic;
  std::string name;
  SubscriptionArgs sub;
  SchemaArgs schema;
  std::string list_topic;
  PublishArgs publish;
  PullArgs pull;
  TailArgs tail;
  BrowseArgs browse;
  SeekArgs seek;
  RejectArgs reject;
  ApplyArgs apply;
  SnapshotArgs snapshot;
  // Set by a command whose success has its own exit code (apply --dry-run
  // with changes to make).
  bool pending = false;
  RedriveArgs redrive;
  std::string message_id;
  std::vector<std::string> stat_names;
};

void AddGlobalOptions(CLI::App& app, Cli& cli) {
  app.add_option("--endpoint", cli.connection.endpoint,
                 "hub address host:port; several, comma-separated, are used round robin")
      ->envname("HUB_ENDPOINT")
      ->capture_default_str();
  app.add_flag("--tls", cli.connection.tls, "use TLS (implied by --ca_file or --cert_file)");
  app.add_option(Names("--ca_file"), cli.connection.ca_file, "PEM roots to verify the hub with")
      ->envname("HUB_CA_FILE");
  app.add_option(Names("--cert_file"), cli.connection.cert_file,
                 "PEM client certificate (mutual TLS)")
      ->envname("HUB_CERT_FILE");
  app.add_option(Names("--key_file"), cli.connection.key_file, "PEM key of the client certificate")
      ->envname("HUB_KEY_FILE");
  app.add_option(Names("--token_file"), cli.token_file,
                 "file holding a bearer token; the environment variable HUB_TOKEN may hold "
                 "the token itself")
      ->envname("HUB_TOKEN_FILE");
  app.add_option("-o,--output", cli.output, "text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  app.add_option("--timeout", cli.timeout, "deadline of each call")->capture_default_str();
}

void AddTopicCommands(CLI::App& app, Cli& cli) {
  TopicArgs& topic = cli.topic;
  std::string& name = cli.name;
  Command& command = cli.command;
  CLI::App* topics = app.add_subcommand("topics", "create, get, list, update and delete topics");
  topics->require_subcommand(1);
  // The fields of a topic, for create and update; each with its update
  // path.
  auto fields = [&](CLI::App* c) {
    c->add_option("name", topic.name, "topic name")->required();
    c->add_option("--retention", topic.retention, "how long messages are kept (default 7d)");
    c->add_option(Names("--dedup_window"), topic.dedup_window,
                  "how long an idempotency key is remembered (default 24h)");
    c->add_option("--label", topic.labels, "key=value, repeatable");
    c->add_option("--schema", topic.schema, "a schema every message must match (docs/schemas.md)");
    c->add_option("--encoding", topic.encoding, "json or binary: how messages are written")
        ->capture_default_str();
    c->add_option(Names("--first_revision"), topic.first_revision,
                  "the oldest revision a message may match (default: the oldest)");
    c->add_option(Names("--last_revision"), topic.last_revision,
                  "the newest revision a message may match (default: the newest)");
  };
  CLI::App* tc = topics->add_subcommand("create", "create a topic");
  fields(tc);
  tc->callback([&] {
    command = Admin([&](auto& admin, Printer& out) { return CreateTopic(admin, topic, out); });
  });
  CLI::App* tu = topics->add_subcommand(
      "update", "change the fields given (labels: the whole set; schema: all its options)");
  fields(tu);
  tu->add_flag(Names("--no_schema"), topic.no_schema, "remove the topic's schema");
  tu->callback([&, tu] {
    std::vector<std::string> paths = GivenPaths(*tu, kTopicFields);
    command = Admin(
        [&, paths](auto& admin, Printer& out) { return UpdateTopic(admin, topic, paths, out); });
  });
  CLI::App* tg = topics->add_subcommand("get", "show one topic");
  tg->add_option("name", name, "topic name")->required();
  tg->callback([&] {
    command = Admin([&](auto& admin, Printer& out) { return GetTopic(admin, name, out); });
  });
  topics->add_subcommand("list", "list every topic")->callback([&] {
    command = Admin([](auto& admin, Printer& out) { return ListTopics(admin, out); });
  });
  CLI::App* td = topics->add_subcommand("delete", "delete a topic and its subscriptions");
  td->add_option("name", name, "topic name")->required();
  td->callback([&] {
    command = Admin([&](auto& admin, Printer& out) { return DeleteTopic(admin, name, out); });
  });
}

void AddSubscriptionCommands(CLI::App& app, Cli& cli) {
  SubscriptionArgs& sub = cli.sub;
  std::string& name = cli.name;
  std::string& list_topic = cli.list_topic;
  Command& command = cli.command;
  CLI::App* subs = app.add_subcommand("subscriptions",
                                      "create, get, list, update, seek and delete subscriptions");
  subs->require_subcommand(1);
  // The fields of a subscription both create and update take.
  auto fields = [&](CLI::App* c) {
    c->add_option("name", sub.name, "subscription name")->required();
    c->add_option(Names("--ack_deadline"), sub.ack_deadline_seconds,
                  "lease seconds, 1..600 (default 30)");
    c->add_option("--filter", sub.filter,
                  "attribute filter, e.g. 'attributes.kind = \"order\" AND attributes:region'");
    c->add_option(Names("--dead_letter_topic"), sub.dead_letter_topic,
                  "where messages go after max_delivery_attempts");
    c->add_option(Names("--max_delivery_attempts"), sub.max_delivery_attempts,
                  "1..100 (default 20 with a dead-letter topic)");
    c->add_option(Names("--min_backoff"), sub.min_backoff, "retry backoff after the first failure");
    c->add_option(Names("--max_backoff"), sub.max_backoff, "largest retry backoff");
    c->add_option("--label", sub.labels, "key=value, repeatable");
    c->add_option("--retention", sub.retention,
                  "how long an unacknowledged message stays, 10m..31d (default: the topic's)");
    c->add_option(Names("--expiration_ttl"), sub.expiration_ttl,
                  "delete it after this long unused, 1d..365d (default: never)");
  };
  CLI::App* sc = subs->add_subcommand("create", "create a subscription");
  fields(sc);
  sc->add_option("--topic", sub.topic, "the topic it receives from")->required();
  sc->add_option("--guarantee", sub.guarantee, "at-least-once, at-most-once or exactly-once")
      ->capture_default_str();
  sc->add_flag("--ordering", sub.ordering, "deliver messages of one ordering key in order");
  sc->add_option("--start", sub.start,
                 "where delivery starts: next, oldest, an RFC 3339 time, or snapshot:NAME")
      ->capture_default_str();
  sc->callback([&] {
    command = Admin([&](auto& admin, Printer& out) { return CreateSubscription(admin, sub, out); });
  });
  CLI::App* su = subs->add_subcommand(
      "update", "change the fields given (labels: the whole set; a policy: all its options)");
  fields(su);
  su->callback([&, su] {
    std::vector<std::string> paths = GivenPaths(*su, kSubscriptionFields);
    command = Admin([&, paths](auto& admin, Printer& out) {
      return UpdateSubscription(admin, sub, paths, out);
    });
  });
  SeekArgs& seek = cli.seek;
  CLI::App* sk = subs->add_subcommand(
      "seek", "deliver again from a time, or from a snapshot's state (exactly one)");
  sk->add_option("name", seek.subscription, "subscription name")->required();
  sk->add_option("--time", seek.time, "an RFC 3339 time: later messages are delivered again");
  sk->add_option("--snapshot", seek.snapshot, "a snapshot of a subscription of the same topic");
  sk->callback(
      [&] { command = Admin([&](auto& admin, Printer& out) { return Seek(admin, seek, out); }); });
  CLI::App* sg = subs->add_subcommand("get", "show one subscription");
  sg->add_option("name", name, "subscription name")->required();
  sg->callback([&] {
    command = Admin([&](auto& admin, Printer& out) { return GetSubscription(admin, name, out); });
  });
  CLI::App* sl = subs->add_subcommand("list", "list subscriptions");
  sl->add_option("--topic", list_topic, "only those of this topic");
  sl->callback([&] {
    command =
        Admin([&](auto& admin, Printer& out) { return ListSubscriptions(admin, list_topic, out); });
  });
  CLI::App* sd = subs->add_subcommand("delete", "delete a subscription");
  sd->add_option("name", name, "subscription name")->required();
  sd->callback([&] {
    command =
        Admin([&](auto& admin, Printer& out) { return DeleteSubscription(admin, name, out); });
  });
  BrowseArgs& browse = cli.browse;
  CLI::App* sm = subs->add_subcommand(
      "messages", "a subscription's waiting, in-flight or dead-lettered messages, taking nothing");
  sm->add_option("name", browse.name, "subscription name")->required();
  sm->add_option("--state", browse.state, "waiting, in-flight or dead-lettered")
      ->capture_default_str();
  sm->add_option("--max", browse.max, "at most this many")->capture_default_str();
  sm->callback([&] {
    command = Admin(
        [&](auto& admin, Printer& out) { return ListSubscriptionMessages(admin, browse, out); });
  });
}

// Looking at messages without consuming them, and dead letters.
void AddInspectionCommands(CLI::App& app, Cli& cli) {
  BrowseArgs& browse = cli.browse;
  RedriveArgs& redrive = cli.redrive;
  Command& command = cli.command;
  CLI::App* messages =
      app.add_subcommand("messages", "look at a topic's messages without consuming them");
  messages->require_subcommand(1);
  CLI::App* show = messages->add_subcommand(
      "show", "a message and its state on every subscription of its topic");
  show->add_option("topic", browse.name, "topic name")->required();
  show->add_option("message_id", cli.message_id, "the message's id")->required();
  show->callback([&] {
    command = Admin([&](auto& admin, Printer& out) {
      return ShowMessage(admin, browse.name, cli.message_id, out);
    });
  });
  CLI::App* list = messages->add_subcommand("list", "a topic's stored messages, oldest first");
  list->add_option("topic", browse.name, "topic name")->required();
  list->add_option("--start", browse.start, "from this message id or RFC 3339 time");
  list->add_option("--end", browse.end, "before this message id, or up to this time");
  list->add_option("--filter", browse.filter, "attribute filter, as a subscription's");
  list->add_option("--max", browse.max, "at most this many")->capture_default_str();
  list->callback([&] {
    command = Admin([&](auto& admin, Printer& out) { return ListMessages(admin, browse, out); });
  });
  CLI::App* dead = app.add_subcommand("dead-letters", "a subscription's dead letters");
  dead->require_subcommand(1);
  CLI::App* dl = dead->add_subcommand("list", "what the subscription dead-lettered, and why");
  dl->add_option("subscription", browse.name, "subscription name")->required();
  dl->add_option("--max", browse.max, "at most this many")->capture_default_str();
  dl->callback([&] {
    browse.state = "dead-lettered";
    command = Admin(
        [&](auto& admin, Printer& out) { return ListSubscriptionMessages(admin, browse, out); });
  });
  CLI::App* rd =
      dead->add_subcommand("redrive", "deliver dead letters again to their subscription alone");
  rd->add_option("subscription", redrive.subscription, "subscription name")->required();
  rd->add_option("--id", redrive.message_ids, "a message id, repeatable");
  rd->add_option("--filter", redrive.filter, "those whose attributes match");
  rd->add_flag("--all", redrive.all, "every one");
  rd->callback([&] {
    command = Admin([&](auto& admin, Printer& out) { return Redrive(admin, redrive, out); });
  });
}

void AddSchemaCommands(CLI::App& app, Cli& cli) {
  SchemaArgs& schema = cli.schema;
  Command& command = cli.command;
  CLI::App* schemas = app.add_subcommand(
      "schemas", "create, get, list, commit, roll back, validate and delete schemas");
  schemas->require_subcommand(1);
  auto definition = [&](CLI::App* sub) {
    sub->add_option("--type", schema.type, "protobuf or avro")->capture_default_str();
    sub->add_option(Names("--definition_file"), schema.definition_file,
                    "the .proto or Avro JSON file; - for stdin");
  };
  auto breaking = [&](CLI::App* sub) {
    sub->add_flag(Names("--allow_breaking"), schema.allow_breaking,
                  "commit even a revision that breaks consumers of revisions topics use");
  };
  CLI::App* create = schemas->add_subcommand("create", "create a schema with its first revision");
  create->add_option("name", schema.name, "schema name")->required();
  definition(create);
  create->callback([&] {
    command = Admin(
        [&](auto& admin, Printer& out) { return CreateSchema(admin, schema, std::cin, out); });
  });
  CLI::App* get = schemas->add_subcommand(
      "get", "print a revision's definition (> orders.proto gives a service its file)");
  get->add_option("name", schema.name, "schema name")->required();
  get->add_option("--revision", schema.revision, "a revision id (default: the newest)");
  get->callback([&] {
    command = Admin([&](auto& admin, Printer& out) { return GetSchema(admin, schema, out); });
  });
  schemas->add_subcommand("list", "list every schema's newest revision")->callback([&] {
    command = Admin([](auto& admin, Printer& out) { return ListSchemas(admin, out); });
  });
  CLI::App* commit = schemas->add_subcommand("commit", "add a revision");
  commit->add_option("name", schema.name, "schema name")->required();
  definition(commit);
  breaking(commit);
  commit->callback([&] {
    command = Admin(
        [&](auto& admin, Printer& out) { return CommitSchema(admin, schema, std::cin, out); });
  });
  CLI::App* rollback =
      schemas->add_subcommand("rollback", "commit an older revision again as the newest");
  rollback->add_option("name", schema.name, "schema name")->required();
  rollback->add_option("--revision", schema.revision, "the revision to return to")->required();
  breaking(rollback);
  rollback->callback([&] {
    command = Admin([&](auto& admin, Printer& out) { return RollbackSchema(admin, schema, out); });
  });
  CLI::App* validate = schemas->add_subcommand(
      "validate",
      "check a message against a schema (NAME and --message or --message_file), or a "
      "definition (--type and --definition_file, no NAME)");
  validate->add_option("name", schema.name, "schema name");
  validate->add_option("--revision", schema.revision, "a revision id (default: the newest)");
  validate->add_option("--message", schema.message, "the message's data");
  validate->add_option(Names("--message_file"), schema.message_file,
                       "a file holding the message's data; - for stdin");
  validate->add_option("--encoding", schema.encoding, "json or binary")->capture_default_str();
  definition(validate);
  validate->callback([&] {
    command = Admin(
        [&](auto& admin, Printer& out) { return ValidateSchema(admin, schema, std::cin, out); });
  });
  CLI::App* del = schemas->add_subcommand("delete", "delete a schema and its revisions");
  del->add_option("name", schema.name, "schema name")->required();
  del->callback([&] {
    command =
        Admin([&](auto& admin, Printer& out) { return DeleteSchema(admin, schema.name, out); });
  });
}

void AddMessageCommands(CLI::App& app, Cli& cli, Interrupt& interrupt) {
  PublishArgs& publish = cli.publish;
  PullArgs& pull = cli.pull;
  TailArgs& tail = cli.tail;
  Command& command = cli.command;
  CLI::App* pub = app.add_subcommand(
      "publish", "publish messages: the arguments, or each line of --file or of stdin");
  pub->add_option("topic", publish.topic, "topic name")->required();
  pub->add_option("messages", publish.messages, "message data, one message each");
  pub->add_option("--file", publish.file, "one message per line; - for stdin");
  pub->add_option("-a,--attribute", publish.attributes, "key=value, repeatable");
  pub->add_option(Names("--ordering_key"), publish.ordering_key, "ordering key of every message");
  pub->add_option(Names("--idempotency_key"), publish.idempotency_key,
                  "the key of a single message; with several, message n gets <key>-<n>");
  pub->add_option("--delay", publish.delay,
                  "deliver no message before this: a delay (90s, 15m, 1h30m) or an RFC 3339 time");
  pub->callback([&] {
    command = [&](const client::Connection& c, Printer& out) {
      return Publish(c, publish, std::cin, out);
    };
  });
  CLI::App* pl = app.add_subcommand("pull", "receive messages once");
  pl->add_option("subscription", pull.subscription, "subscription name")->required();
  pl->add_option("--max", pull.max_messages, "at most this many, 1..1000")->capture_default_str();
  pl->add_option("--wait", pull.wait, "wait this long for a first message")->capture_default_str();
  pl->add_flag("--ack", pull.ack, "acknowledge what was printed (else it is redelivered later)");
  pl->callback(
      [&] { command = Admin([&](auto& admin, Printer& out) { return Pull(admin, pull, out); }); });
  RejectArgs& reject = cli.reject;
  CLI::App* rj = app.add_subcommand(
      "reject", "end deliveries at once: to the dead-letter topic, or dropped without one");
  rj->add_option("subscription", reject.subscription, "subscription name")->required();
  rj->add_option("ack_ids", reject.ack_ids, "ack ids, as pull printed them")->required();
  rj->add_option("--reason", reject.reason, "why, carried by the dead letter");
  rj->callback([&] {
    command = Admin([&](auto& admin, Printer& out) { return Reject(admin, reject, out); });
  });
  CLI::App* tl =
      app.add_subcommand("tail", "print a subscription's messages as they arrive, until Ctrl-C");
  tl->add_option("subscription", tail.subscription, "subscription name")->required();
  tl->add_flag("--consume", tail.consume,
               "take each message's lease while tail runs (other consumers do not get it) and "
               "nack it at exit, which counts a delivery attempt toward the dead-letter "
               "policy; without it (and --ack) tail looks and takes nothing");
  tl->add_flag("--ack", tail.ack, "consume, and acknowledge what was printed");
  tl->add_option("--count", tail.count, "stop after this many messages");
  tl->add_option(Names("--max_outstanding"), tail.max_outstanding, "messages held at once")
      ->capture_default_str();
  tl->callback([&] {
    command = [&](const client::Connection& c, Printer& out) {
      interrupt.handled = true;
      return Tail(c, tail, interrupt.requested, out);
    };
  });
}

void AddSnapshotCommands(CLI::App& app, Cli& cli) {
  SnapshotArgs& snapshot = cli.snapshot;
  Command& command = cli.command;
  CLI::App* snapshots =
      app.add_subcommand("snapshots", "a subscription's acknowledgement state, to seek back to");
  snapshots->require_subcommand(1);
  CLI::App* create = snapshots->add_subcommand("create", "keep a subscription's state");
  create->add_option("name", snapshot.name, "snapshot name")->required();
  create->add_option("--subscription", snapshot.subscription, "whose state it keeps")->required();
  create->add_option("--label", snapshot.labels, "key=value, repeatable");
  create->callback([&] {
    command =
        Admin([&](auto& admin, Printer& out) { return CreateSnapshot(admin, snapshot, out); });
  });
  snapshots->add_subcommand("list", "the snapshots you may see")->callback([&] {
    command = Admin([](auto& admin, Printer& out) { return ListSnapshots(admin, out); });
  });
  CLI::App* del = snapshots->add_subcommand("delete", "delete a snapshot");
  del->add_option("name", snapshot.name, "snapshot name")->required();
  del->callback([&] {
    command =
        Admin([&](auto& admin, Printer& out) { return DeleteSnapshot(admin, snapshot.name, out); });
  });
}

void AddApplyCommand(CLI::App& app, Cli& cli) {
  ApplyArgs& apply = cli.apply;
  CLI::App* ap = app.add_subcommand(
      "apply", "make the hub match an estate file: its schemas, topics and subscriptions");
  ap->add_option("-f,--file", apply.file, "the estate file (YAML); - for stdin")->required();
  ap->add_flag(Names("--dry_run"), apply.dry_run,
               "print the changes and make none; exit 8 when there are some");
  ap->add_flag("--prune", apply.prune, "delete what this estate made and the file no longer names");
  ap->callback([&] {
    cli.command = Admin(
        [&](auto& admin, Printer& out) { return Apply(admin, apply, std::cin, out, cli.pending); });
  });
}

void AddStatsCommand(CLI::App& app, Cli& cli) {
  std::vector<std::string>& stat_names = cli.stat_names;
  Command& command = cli.command;
  CLI::App* st = app.add_subcommand(
      "stats", "backlog, unacked messages and oldest unacked age per subscription");
  st->add_option("subscriptions", stat_names, "subscription names (default: all)");
  st->callback([&] {
    command = Admin([&](auto& admin, Printer& out) { return Stats(admin, stat_names, out); });
  });
}

// The edit distance of two short words (Levenshtein).
size_t Distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// The option `word` names at `level` or above (global options may come after
// the command), or null.
const CLI::Option* FindOption(CLI::App* level, const std::string& word) {
  for (; level != nullptr; level = level->get_parent()) {
    if (const CLI::Option* option = level->get_option_no_throw(word)) return option;
  }
  return nullptr;
}

// Each word of the command line that chooses a command must name one: CLI11
// alone says "A subcommand is required" for a typo, and prints the top-level
// help with exit 0 for `hubctl apply --help`, so a script cannot tell that
// the command does not exist. Empty when every such word names a command;
// else the message, with the closest command when one is near.
std::string UnknownCommand(CLI::App& app, int argc, char** argv) {
  CLI::App* level = &app;
  for (int i = 1; i < argc; ++i) {
    const std::string word = argv[i];
    if (word == "--") break;
    if (word.size() > 1 && word[0] == '-') {
      // An option's value is the next word unless it came with '='.
      const std::string name = word.substr(0, word.find('='));
      const CLI::Option* option = FindOption(level, name);
      if (option != nullptr && option->get_expected_min() > 0 && name == word) ++i;
      continue;
    }
    std::vector<std::string> names;
    for (const CLI::App* sub : level->get_subcommands({})) names.push_back(sub->get_name());
    if (names.empty()) break;  // a command's own arguments follow
    if (std::find(names.begin(), names.end(), word) != names.end()) {
      level = level->get_subcommand(word);
      continue;
    }
    std::string closest;
    size_t best = 3;  // at most two edits away
    for (const std::string& name : names) {
      const size_t d = name.rfind(word, 0) == 0 ? 1 : Distance(word, name);
      if (d < best) {
        best = d;
        closest = name;
      }
    }
    std::string where = level == &app ? "hubctl" : "hubctl " + level->get_name();
    std::string message = "unknown command '" + word + "' of " + where;
    if (!closest.empty()) message += "; did you mean '" + closest + "'?";
    return message + " (" + where + " --help lists them)";
  }
  return "";
}

// The connection the global options describe; an error is bad input.
absl::StatusOr<client::ConnectionOptions> ConnectionOf(const Cli& cli) {
  client::ConnectionOptions connection = cli.connection;
  absl::StatusOr<absl::Duration> call_timeout = ParseDuration(cli.timeout);
  if (!call_timeout.ok() || *call_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--timeout must be a positive duration");
  }
  connection.call_timeout = *call_timeout;
  if (const char* token = std::getenv("HUB_TOKEN"); token != nullptr) {
    connection.bearer_token = token;
  }
  if (!cli.token_file.empty()) {
    std::ifstream in(cli.token_file);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) return absl::InvalidArgumentError("cannot read --token_file " + cli.token_file);
    connection.bearer_token = std::string(absl::StripAsciiWhitespace(text.str()));
  }
  return connection;
}

}  // namespace

int RunHubctl(int argc, char** argv, Interrupt& interrupt) {
  CLI::App app{"hubctl: manage topics and subscriptions, publish and receive messages."};
  app.require_subcommand(1);
  // Global options may come after the command too: hubctl topics list -o json.
  app.fallthrough();
  Cli cli;
  AddGlobalOptions(app, cli);
  AddTopicCommands(app, cli);
  AddSubscriptionCommands(app, cli);
  AddSchemaCommands(app, cli);
  AddMessageCommands(app, cli, interrupt);
  AddInspectionCommands(app, cli);
  AddSnapshotCommands(app, cli);
  AddApplyCommand(app, cli);
  AddStatsCommand(app, cli);
  if (const std::string unknown = UnknownCommand(app, argc, argv); !unknown.empty()) {
    std::cerr << "hubctl: " << unknown << "\n";
    return kExitBadInput;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitBadInput;
  }
  absl::StatusOr<client::ConnectionOptions> options = ConnectionOf(cli);
  if (!options.ok()) {
    std::cerr << "hubctl: " << options.status().message() << "\n";
    return kExitBadInput;
  }
  absl::StatusOr<client::Connection> conn = client::Connection::Open(*options);
  absl::Status status = conn.status();
  // A hub that is not there is said within --timeout, before any command
  // retries against it.
  if (status.ok()) status = conn->WaitUntilReachable(options->call_timeout);
  if (status.ok()) {
    Printer out(cli.output == "json" ? OutputFormat::kJson : OutputFormat::kText, std::cout);
    status = cli.command(*conn, out);
  }
  if (!status.ok()) std::cerr << "hubctl: " << status << "\n";
  if (status.ok() && cli.pending) return kExitChangesPending;
  return ExitCode(status.code());
}

}  // namespace hub::hubctl
