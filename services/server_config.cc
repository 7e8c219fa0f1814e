#include "services/server_config.h"

#include "services/pubsub/names.h"

#include <fstream>
#include <sstream>

#include <cstdlib>

#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/flag_usage.h"
#include "common/status_macros.h"
#include "common/version.h"

namespace hub::services {
namespace {

// Where every flag takes its default: ServerConfig's own initializers.
const ServerConfig& Defaults() {
  static const ServerConfig* const defaults = new ServerConfig;
  return *defaults;
}

}  // namespace
}  // namespace hub::services

ABSL_FLAG(std::string, listen, hub::services::Defaults().listen, "gRPC address, host:port");
ABSL_FLAG(std::string, database_url_file, "",
          "a file holding the PostgreSQL URL (a mounted Secret); instead of "
          "--database_url");
ABSL_FLAG(std::string, tokens_file, "",
          "bearer tokens, as SHA-256 hashes with their principals (docs/security.md)");
ABSL_FLAG(std::string, policy_file, "",
          "access policy: allow/deny rules per principal (docs/security.md)");
ABSL_FLAG(absl::Duration, access_reload_interval, hub::services::Defaults().access_reload_interval,
          "how often the tokens and policy files are read again (and on SIGHUP); "
          "a change applies to the next call");
ABSL_FLAG(bool, allow_insecure, hub::services::Defaults().allow_insecure,
          "listen on an address other than loopback without TLS (TLS "
          "terminated in front of hubd, or a trusted network)");
ABSL_FLAG(std::string, tls_cert_file, "",
          "TLS on the gRPC port: the server's certificate chain (PEM)");
ABSL_FLAG(std::string, tls_key_file, "", "TLS: the server's private key (PEM)");
ABSL_FLAG(std::string, tls_client_ca_file, "",
          "mutual TLS: the CA of client certificates, whose SAN or CN is the "
          "caller's principal (docs/security.md)");
ABSL_FLAG(absl::Duration, tls_reload_interval, hub::services::Defaults().tls.reload_interval,
          "how often the TLS files are read again; changes apply to new "
          "connections");
ABSL_FLAG(int, max_connections, hub::services::Defaults().max_connections,
          "connections the gRPC port keeps open at once; more are closed at once and /readyz "
          "says not ready meanwhile. 0: nine tenths of the open-file limit, less 64");
ABSL_FLAG(int, max_connections_per_peer, hub::services::Defaults().max_connections_per_peer,
          "connections one client address (IP) may keep open at once; more from it are closed "
          "at once, and the port still serves others. 0: a quarter of --max_connections");
ABSL_FLAG(absl::Duration, unauthenticated_connection_timeout,
          hub::services::Defaults().connections.unauthenticated_timeout,
          "a connection that has carried no authenticated call (any call, without credentials "
          "configured) this long after it was accepted is closed");
ABSL_FLAG(int, max_streams_per_connection, hub::services::Defaults().max_streams_per_connection,
          "concurrent calls (streams) one connection may have open");
ABSL_FLAG(int, max_streams_per_principal, hub::services::Defaults().max_streams_per_principal,
          "StreamingPulls one principal (token, certificate, or everyone when there are no "
          "credentials: 'anonymous') may have open; more are RESOURCE_EXHAUSTED");
ABSL_FLAG(std::string, pubsub_project, hub::services::Defaults().pubsub_project,
          "the Pub/Sub project whose topics, subscriptions and snapshots are the hub's plain "
          "names (projects/hub/topics/orders is topic orders); another project's names carry "
          "its id and '~' (docs/pubsub.md)");
ABSL_FLAG(int, max_metadata_bytes, hub::services::Defaults().max_metadata_bytes,
          "largest request metadata (headers) accepted");
ABSL_FLAG(absl::Duration, handshake_timeout,
          hub::services::Defaults().connections.handshake_timeout,
          "a connection that has not finished its HTTP/2 (and TLS) handshake this long after "
          "it was accepted is closed");
ABSL_FLAG(absl::Duration, max_connection_idle, hub::services::Defaults().connections.max_idle,
          "a connection with no call open this long is closed (clients reconnect when needed)");
ABSL_FLAG(absl::Duration, max_connection_age, hub::services::Defaults().connections.max_age,
          "a connection this old is asked to go away (GOAWAY), so that clients spread over "
          "new replicas; 0 for never");
ABSL_FLAG(absl::Duration, max_connection_age_grace,
          hub::services::Defaults().connections.max_age_grace,
          "how long calls of a connection asked to go away may still run");
ABSL_FLAG(absl::Duration, keepalive_time, hub::services::Defaults().connections.keepalive_time,
          "hubd pings a connection this long silent, and closes it when the ping is not "
          "answered within --keepalive_timeout (a peer that vanished)");
ABSL_FLAG(absl::Duration, keepalive_timeout,
          hub::services::Defaults().connections.keepalive_timeout, "see --keepalive_time");
ABSL_FLAG(absl::Duration, min_client_ping_interval,
          hub::services::Defaults().connections.min_client_ping_interval,
          "clients may ping at most this often without calls; more often, and the connection "
          "is closed (HTTP/2 GOAWAY too_many_pings)");
ABSL_FLAG(std::string, database_url, "",
          "PostgreSQL connection URL; prefer the HUB_DATABASE_URL environment "
          "variable, which does not show in ps");
ABSL_FLAG(std::string, database_pooler_url, "",
          "a connection pooler in transaction mode (PgBouncer) in front of the database of "
          "HUB_DATABASE_URL: the request pools connect through it, while migrations, "
          "maintenance and the publish notifications keep connecting directly "
          "(docs/deploy.md, \"Through PgBouncer\"); prefer HUB_DATABASE_POOLER_URL");
ABSL_FLAG(std::string, metrics_listen, hub::services::Defaults().metrics_listen,
          "address of /metrics, /healthz and /readyz, host:port");
ABSL_FLAG(std::string, metrics_token_file, "",
          "a file holding a bearer token that /metrics then requires (its labels name every "
          "topic and subscription); /healthz and /readyz stay open");
ABSL_FLAG(bool, console, false,
          "serve the web console at /console/ on the --metrics_listen port, behind the same "
          "tokens and policy as the gRPC API (docs/console.md)");
ABSL_FLAG(absl::Duration, console_rate_step, hub::services::Defaults().console_rate_step,
          "the console's rate charts: one point per step, 90 steps drawn");
ABSL_FLAG(int64_t, max_message_bytes, hub::services::Defaults().hub.limits.max_message_bytes,
          "largest message accepted (data, attributes and keys), at most 10 MiB");
ABSL_FLAG(int, db_pool_size, hub::services::Defaults().db_pool_size,
          "PostgreSQL connections per pool; hubd keeps two pools");
ABSL_FLAG(int, publish_committers, hub::services::Defaults().hub.publish_committers,
          "publish transactions that may run at once");
ABSL_FLAG(int, publish_transactions_per_topic,
          hub::services::Defaults().hub.publish_transactions_per_topic,
          "of those, how many may hold one topic's publishes at once (each writes its rows "
          "while the one before it commits)");
ABSL_FLAG(absl::Duration, poll_interval, hub::services::Defaults().hub.poll_interval,
          "how often a subscription with waiting consumers is looked at again without a "
          "wake-up (bounds the redelivery delay of expired leases), and how often messages out "
          "of delivery attempts move to their dead-letter topics when no consumer claims");
ABSL_FLAG(int, claim_threads, hub::services::Defaults().hub.claim_threads,
          "threads that claim messages for every waiting Pull and StreamingPull (each holds a "
          "database connection while it claims)");
ABSL_FLAG(int, stream_workers, hub::services::Defaults().hub.stream_workers,
          "threads that apply the acks and deadline changes of StreamingPulls");
ABSL_FLAG(int, max_snapshots_per_principal,
          hub::services::Defaults().hub.max_snapshots_per_principal,
          "snapshots one principal may have; more are RESOURCE_EXHAUSTED until one is deleted");
ABSL_FLAG(int64_t, max_unsent_stream_bytes, hub::services::Defaults().hub.max_unsent_stream_bytes,
          "deliveries hubd holds for streams whose clients have not read them yet, all "
          "streams together; past it no stream gets new messages until clients read");
ABSL_FLAG(int64_t, max_outstanding_messages,
          hub::services::Defaults().hub.default_max_outstanding_messages,
          "StreamingPull flow control default when the client sets none");
ABSL_FLAG(int64_t, max_outstanding_bytes,
          hub::services::Defaults().hub.default_max_outstanding_bytes,
          "StreamingPull flow control default when the client sets none");
ABSL_FLAG(absl::Duration, shutdown_grace, hub::services::Defaults().shutdown_grace,
          "how long SIGTERM waits for calls to finish before cancelling them");
ABSL_FLAG(absl::Duration, maintenance_interval, hub::services::Defaults().hub.maintenance_interval,
          "how often partitions are made ahead and retention runs (on one "
          "replica at a time)");
ABSL_FLAG(absl::Duration, stats_interval, hub::services::Defaults().hub.stats_interval,
          "how often the per-subscription backlog gauges are read from the "
          "database");
ABSL_FLAG(bool, migrate, hub::services::Defaults().migrate, "apply pending migrations at start");
ABSL_FLAG(bool, migrate_only, hub::services::Defaults().migrate_only,
          "apply pending migrations, then exit (for a migration job; replicas "
          "then run with --migrate=false)");
ABSL_FLAG(std::string, log_level,
          std::string(hub::LogLevelName(hub::services::Defaults().log_level)),
          "debug, info, warning or error");

namespace hub::services {
namespace {

// hubd's own flags: those of this file.
bool IsHubdFlagFile(absl::string_view file) {
  return absl::EndsWith(file, "services/server_config.cc");
}

// Environment first, so that the command line parsed afterwards wins.
absl::Status ApplyEnvironment() {
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (!IsHubdFlagFile(flag->Filename())) continue;
    const std::string env = absl::StrCat("HUB_", absl::AsciiStrToUpper(name));
    const char* value = std::getenv(env.c_str());
    if (value == nullptr) continue;
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      return absl::InvalidArgumentError(absl::StrCat("environment variable ", env, ": ", error));
    }
  }
  return absl::OkStatus();
}

// host:port on a loopback address only.
bool IsLoopback(absl::string_view listen) {
  const size_t colon = listen.rfind(':');
  const absl::string_view host = listen.substr(0, colon);
  return host == "localhost" || host == "[::1]" || absl::StartsWith(host, "127.");
}

// The flags as a configuration, the URL file read.
absl::StatusOr<ServerConfig> ReadFlags() {
  ServerConfig c;
  c.listen = absl::GetFlag(FLAGS_listen);
  c.database_url = absl::GetFlag(FLAGS_database_url);
  c.database_pooler_url = absl::GetFlag(FLAGS_database_pooler_url);
  c.metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
  c.console = absl::GetFlag(FLAGS_console);
  c.console_rate_step = absl::GetFlag(FLAGS_console_rate_step);
  c.db_pool_size = absl::GetFlag(FLAGS_db_pool_size);
  c.migrate = absl::GetFlag(FLAGS_migrate);
  c.migrate_only = absl::GetFlag(FLAGS_migrate_only);
  c.tokens_file = absl::GetFlag(FLAGS_tokens_file);
  c.tls.cert_file = absl::GetFlag(FLAGS_tls_cert_file);
  c.tls.key_file = absl::GetFlag(FLAGS_tls_key_file);
  c.tls.client_ca_file = absl::GetFlag(FLAGS_tls_client_ca_file);
  c.tls.reload_interval = absl::GetFlag(FLAGS_tls_reload_interval);
  c.max_streams_per_connection = absl::GetFlag(FLAGS_max_streams_per_connection);
  c.max_streams_per_principal = absl::GetFlag(FLAGS_max_streams_per_principal);
  c.pubsub_project = absl::GetFlag(FLAGS_pubsub_project);
  c.hub.home_namespace = c.pubsub_project;
  c.max_connections = absl::GetFlag(FLAGS_max_connections);
  c.max_connections_per_peer = absl::GetFlag(FLAGS_max_connections_per_peer);
  c.max_metadata_bytes = absl::GetFlag(FLAGS_max_metadata_bytes);
  c.policy_file = absl::GetFlag(FLAGS_policy_file);
  c.access_reload_interval = absl::GetFlag(FLAGS_access_reload_interval);
  c.allow_insecure = absl::GetFlag(FLAGS_allow_insecure);
  c.connections = ConnectionLimits{absl::GetFlag(FLAGS_handshake_timeout),
                                   absl::GetFlag(FLAGS_max_connection_idle),
                                   absl::GetFlag(FLAGS_max_connection_age),
                                   absl::GetFlag(FLAGS_max_connection_age_grace),
                                   absl::GetFlag(FLAGS_keepalive_time),
                                   absl::GetFlag(FLAGS_keepalive_timeout),
                                   absl::GetFlag(FLAGS_min_client_ping_interval),
                                   absl::GetFlag(FLAGS_unauthenticated_connection_timeout)};
  if (const std::string file = absl::GetFlag(FLAGS_metrics_token_file); !file.empty()) {
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    c.metrics_token = std::string(absl::StripAsciiWhitespace(text.str()));
    if (!in || c.metrics_token.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot read a token from --metrics_token_file ", file));
    }
  }
  if (const std::string file = absl::GetFlag(FLAGS_database_url_file); !file.empty()) {
    std::ifstream in(file);
    if (!in || !std::getline(in, c.database_url)) {
      return absl::InvalidArgumentError(absl::StrCat("cannot read --database_url_file ", file));
    }
  }
  c.shutdown_grace = absl::GetFlag(FLAGS_shutdown_grace);
  if (!ParseLogLevel(absl::GetFlag(FLAGS_log_level), &c.log_level)) {
    return absl::InvalidArgumentError("--log_level must be debug, info, warning or error");
  }
  c.hub.limits.max_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  c.hub.publish_committers = absl::GetFlag(FLAGS_publish_committers);
  c.hub.publish_transactions_per_topic = absl::GetFlag(FLAGS_publish_transactions_per_topic);
  c.hub.poll_interval = absl::GetFlag(FLAGS_poll_interval);
  c.hub.claim_threads = absl::GetFlag(FLAGS_claim_threads);
  c.hub.stream_workers = absl::GetFlag(FLAGS_stream_workers);
  c.hub.max_unsent_stream_bytes = absl::GetFlag(FLAGS_max_unsent_stream_bytes);
  c.hub.max_snapshots_per_principal = absl::GetFlag(FLAGS_max_snapshots_per_principal);
  c.hub.maintenance_interval = absl::GetFlag(FLAGS_maintenance_interval);
  c.hub.stats_interval = absl::GetFlag(FLAGS_stats_interval);
  c.hub.default_max_outstanding_messages = absl::GetFlag(FLAGS_max_outstanding_messages);
  c.hub.default_max_outstanding_bytes = absl::GetFlag(FLAGS_max_outstanding_bytes);

  return c;
}

}  // namespace

absl::Status CheckServerConfig(const ServerConfig& c) {
  if (c.database_url.empty()) {
    return absl::InvalidArgumentError("no database: set HUB_DATABASE_URL (or --database_url_file)");
  }
  if (c.tls.cert_file.empty() != c.tls.key_file.empty()) {
    return absl::InvalidArgumentError("--tls_cert_file and --tls_key_file go together");
  }
  if (!c.tls.client_ca_file.empty() && !c.tls_enabled()) {
    return absl::InvalidArgumentError(
        "--tls_client_ca_file needs --tls_cert_file and --tls_key_file");
  }
  if (c.tls.reload_interval < absl::Seconds(1)) {
    return absl::InvalidArgumentError("--tls_reload_interval must be at least 1s");
  }
  if (c.console_rate_step < absl::Seconds(1)) {
    return absl::InvalidArgumentError("--console_rate_step must be at least 1s");
  }
  if (c.access_reload_interval < absl::Seconds(1)) {
    return absl::InvalidArgumentError("--access_reload_interval must be at least 1s");
  }
  if (!IsProjectId(c.pubsub_project)) {
    return absl::InvalidArgumentError(
        "--pubsub_project must be a project id: a lowercase letter, then lowercase letters, "
        "digits and hyphens, at most 30");
  }
  if (c.max_connections < 0 || c.max_connections_per_peer < 0) {
    return absl::InvalidArgumentError(
        "--max_connections and --max_connections_per_peer must be 0 (automatic) or more");
  }
  if (c.max_streams_per_principal < 1 || c.hub.claim_threads < 1 || c.hub.stream_workers < 1 ||
      c.hub.max_snapshots_per_principal < 1) {
    return absl::InvalidArgumentError(
        "--max_streams_per_principal, --max_snapshots_per_principal, --claim_threads and "
        "--stream_workers must be at least 1");
  }
  if (c.hub.max_unsent_stream_bytes < 4 * kMiB) {
    return absl::InvalidArgumentError(
        "--max_unsent_stream_bytes must be at least 4 MiB (one stream response)");
  }
  if (c.max_streams_per_connection < 1 || c.max_metadata_bytes < 1024) {
    return absl::InvalidArgumentError(
        "--max_streams_per_connection must be at least 1 and --max_metadata_bytes at least 1024");
  }
  if (!IsLoopback(c.listen) && !c.tls_enabled() && !c.allow_insecure) {
    return absl::InvalidArgumentError(
        absl::StrCat("refusing to serve ", c.listen,
                     " without TLS: give --tls_cert_file and "
                     "--tls_key_file, or, with TLS terminated in front of hubd, --allow_insecure "
                     "(docs/security.md)"));
  }
  const ConnectionLimits& l = c.connections;
  if (l.handshake_timeout <= absl::ZeroDuration() || l.max_idle <= absl::ZeroDuration() ||
      l.max_age < absl::ZeroDuration() || l.max_age_grace < absl::ZeroDuration() ||
      l.keepalive_time <= absl::ZeroDuration() || l.keepalive_timeout <= absl::ZeroDuration() ||
      l.min_client_ping_interval < absl::ZeroDuration() ||
      l.unauthenticated_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "--handshake_timeout, --max_connection_idle, --keepalive_time, --keepalive_timeout and "
        "--unauthenticated_connection_timeout must be positive; --max_connection_age, its grace "
        "and --min_client_ping_interval not negative");
  }
  if (c.hub.limits.max_message_bytes < 1 ||
      c.hub.limits.max_message_bytes > Limits::kMaxConfigurableMessageBytes) {
    return absl::InvalidArgumentError("--max_message_bytes must be 1..10485760");
  }
  if (c.db_pool_size < 2 || c.hub.publish_committers < 1 ||
      c.hub.publish_transactions_per_topic < 1 || c.hub.poll_interval <= absl::ZeroDuration() ||
      c.hub.maintenance_interval <= absl::ZeroDuration() ||
      c.hub.stats_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "--db_pool_size must be at least 2, --publish_committers and "
        "--publish_transactions_per_topic at least 1 "
        "and --poll_interval, --maintenance_interval and --stats_interval positive");
  }
  return absl::OkStatus();
}

absl::StatusOr<ServerConfig> LoadServerConfig(int argc, char** argv) {
  ConfigureFlagUsage("hubd", "services/server_config.cc",
                     "the message hub server. Every flag --name can also be set by the "
                     "environment variable HUB_NAME (upper case); the command line wins.");
  if (absl::Status s = ApplyEnvironment(); !s.ok()) return s;
  ParseFlags(argc, argv);

  ASSIGN_OR_RETURN(ServerConfig c, ReadFlags());
  RETURN_IF_ERROR(CheckServerConfig(c));
  if (!IsLoopback(c.listen) && !c.tls_enabled()) {
    Log(LogLevel::kWarning, "insecure_listen", {{"listen", c.listen}});
  }
  return c;
}

}  // namespace hub::services
