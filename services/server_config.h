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
  absl::Duration handshake_timeout;
  absl::Duration max_idle;
  absl::Duration max_age;  // zero: never
  absl::Duration max_age_grace;
  absl::Duration keepalive_time;
  absl::Duration keepalive_timeout;
  absl::Duration min_client_ping_interval;
};

struct ServerConfig {
  std::string listen;
  std::string database_url;
  std::string metrics_listen;
  // Required on /metrics when not empty.
  std::string metrics_token;
  int db_pool_size;
  bool migrate;
  // Apply the migrations and exit (a deployment's migration job).
  bool migrate_only = false;
  absl::Duration shutdown_grace;
  // Access control (docs/security.md): files read at start; empty: none.
  std::string tokens_file;
  std::string policy_file;
  // TLS on the gRPC port; off when no certificate is given.
  auth::TlsFiles tls;
  bool tls_enabled() const { return !tls.cert_file.empty(); }
  int max_streams_per_connection;
  int max_streams_per_principal;
  // Pub/Sub's project for the hub's plain names.
  std::string pubsub_project;
  // 0: DefaultMaxConnections of the open-file limit.
  int max_connections;
  int max_metadata_bytes;
  ConnectionLimits connections;
  LogLevel log_level;
  HubOptions hub;
};

// Reads hubd's flags. Every flag --name may also be set by the environment
// variable HUB_NAME (upper case); a flag on the command line wins.
absl::StatusOr<ServerConfig> LoadServerConfig(int argc, char** argv);

}  // namespace hub::services

#endif  // SERVICES_SERVER_CONFIG_H_
