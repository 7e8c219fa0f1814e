#ifndef SERVICES_SERVER_CONFIG_H_
#define SERVICES_SERVER_CONFIG_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/log.h"
#include "hub/hub.h"
#include "services/auth/tls.h"

namespace hub::services {

// What hubd allows a connection, so that idle, half-open or vanished peers
// do not hold its file descriptors (docs/security.md, "Connections").
struct ConnectionLimits {
  absl::Duration handshake_timeout = absl::Seconds(10);
  absl::Duration max_idle = absl::Minutes(10);
  absl::Duration max_age = absl::Minutes(30);  // zero: never
  absl::Duration max_age_grace = absl::Minutes(1);
  absl::Duration keepalive_time = absl::Minutes(1);
  absl::Duration keepalive_timeout = absl::Seconds(20);
  absl::Duration min_client_ping_interval = absl::Seconds(10);
  absl::Duration unauthenticated_timeout = absl::Seconds(10);
};

// hubd's configuration. The defaults here are the flags' defaults (and,
// through HubOptions, the engine's): written once; README's table of flags
// is compared with `hubd --help` by a test (HubdHelpTest).
struct ServerConfig {
  std::string listen = "127.0.0.1:50051";
  std::string database_url;
  // A pooler in transaction mode in front of that database; empty: none.
  std::string database_pooler_url;
  std::string metrics_listen = "127.0.0.1:9464";
  // Required on /metrics when not empty.
  std::string metrics_token;
  // The web console on the metrics port (docs/console.md), and the step of
  // its rate charts (90 steps: 15 minutes at the default).
  bool console = false;
  absl::Duration console_rate_step = absl::Seconds(10);
  // Connections of each of the store's two pools.
  int db_pool_size = 16;
  bool migrate = true;
  // Apply the migrations and exit (a deployment's migration job).
  bool migrate_only = false;
  absl::Duration shutdown_grace = absl::Seconds(5);
  // Access control (docs/security.md): files read at start, again every
  // access_reload_interval when they changed, and on SIGHUP; empty: none.
  std::string tokens_file;
  std::string policy_file;
  absl::Duration access_reload_interval = absl::Seconds(10);
  // TLS on the gRPC port; off when no certificate is given.
  auth::TlsFiles tls;
  bool tls_enabled() const { return !tls.cert_file.empty(); }
  // Serve an address other than loopback without TLS.
  bool allow_insecure = false;
  int max_streams_per_connection = 1000;
  int max_streams_per_principal = 10000;
  // Pub/Sub's project for the hub's plain names.
  std::string pubsub_project = "hub";
  // 0: DefaultMaxConnections of the open-file limit.
  int max_connections = 0;
  // 0: a quarter of max_connections.
  int max_connections_per_peer = 0;
  int max_metadata_bytes = 16 * 1024;
  ConnectionLimits connections;
  LogLevel log_level = LogLevel::kInfo;
  HubOptions hub;
};

// What no flag can tell alone: combinations, ranges, TLS off a loopback.
// INVALID_ARGUMENT naming the flags.
absl::Status CheckServerConfig(const ServerConfig& c);

// Reads hubd's flags. Every flag --name may also be set by the environment
// variable HUB_NAME (upper case); a flag on the command line wins.
absl::StatusOr<ServerConfig> LoadServerConfig(int argc, char** argv);

}  // namespace hub::services

#endif  // SERVICES_SERVER_CONFIG_H_
