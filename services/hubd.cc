#include "services/hubd.h"

#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <prometheus/registry.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "common/ops_http_server.h"
#include "common/version.h"
#include "health/v1/health.pb.h"
#include "hub/hub.h"
#include "hub/pg/pg_store.h"
#include "services/auth/access_control.h"
#include "services/call_interceptor.h"
#include "services/console/console.h"
#include "services/health_monitor.h"
#include "services/listener.h"
#include "services/publisher_service.h"
#include "services/pubsub/iam_service.h"
#include "services/pubsub/publisher_service.h"
#include "services/pubsub/schema_service.h"
#include "services/pubsub/subscriber_service.h"
#include "services/schema_service.h"
#include "services/server_config.h"
#include "services/service_probe.h"
#include "services/subscriber_service.h"

namespace hub::services {
namespace {

constexpr int kExitStopped = 0;
constexpr int kExitListenFailed = 1;
constexpr int kExitBadConfiguration = 2;

// How often memory freed since is given back to the system.
constexpr absl::Duration kMemoryReturnInterval = absl::Seconds(10);

// Freed memory goes back to the system (docs/operations.md, "Memory").
// Requests of up to 11 MiB, and gRPC's buffers of thousands of connections,
// come and go: glibc keeps what was freed inside its heaps, and after a
// large free it raises the size at which it maps a block of its own, so
// that later large requests land in the heaps too. A fixed threshold keeps
// every block over 128 KiB its own mapping, returned when freed, and
// malloc_trim returns the free pages of the heaps.
void ConfigureAllocator() { mallopt(M_MMAP_THRESHOLD, 128 * 1024); }
void ReturnFreeMemory() { malloc_trim(0); }

// Headroom over the largest publish for the rest of the request's framing.
constexpr int kMaxReceiveBytes = static_cast<int>(Limits::kMaxPublishRequestBytes + kMiB);

void LogError(absl::string_view event, const absl::Status& status) {
  Log(LogLevel::kError, event, {{"error", std::string(status.message())}});
}

// Migrates (or checks that maintenance can run), retrying each second: under
// an orchestrator hubd may start before its database. False when a stop
// signal came first.
bool WaitForDatabase(pg::PgStore& store, const ServerConfig& config, const StopSignals& signals) {
  for (;;) {
    const absl::Status s =
        config.migrate || config.migrate_only ? store.Migrate() : store.Maintain().status();
    if (s.ok()) return true;
    LogError("database_not_ready", s);
    if (signals.WaitFor(absl::Seconds(1))) return false;
  }
}

// What serving the gRPC port takes beyond the engine: its credentials and
// who may do what.
struct Security {
  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
  std::shared_ptr<auth::ClientCertificates> client_certificates;
  std::unique_ptr<auth::AccessControl> access;
};

absl::StatusOr<Security> LoadSecurity(const ServerConfig& config) {
  Security security;
  if (config.tls_enabled()) {
    absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> tls =
        auth::MakeServerCredentials(config.tls);
    if (!tls.ok()) return tls.status();
    security.credentials = *tls;
  }
  if (!config.tls.client_ca_file.empty()) {
    auto loaded =
        auth::ClientCertificates::Load(config.tls.client_ca_file, config.tls.reload_interval);
    if (!loaded.ok()) return loaded.status();
    security.client_certificates = *loaded;
  }
  absl::StatusOr<std::unique_ptr<auth::AccessControl>> access = auth::AccessControl::Load(
      {config.tokens_file, config.policy_file}, security.client_certificates);
  if (!access.ok()) return access.status();
  security.access = *std::move(access);
  return security;
}

// Reads the tokens and policy files again, when they changed or, on
// SIGHUP, in any case; says what came of it.
void ReloadAccess(auth::AccessControl& access, ServiceProbe& probe, bool hangup) {
  const absl::StatusOr<bool> reloaded = access.Reload(/*force=*/hangup);
  if (!reloaded.ok()) {
    probe.AccessReloadRefused();
    Log(LogLevel::kWarning, "access_reload_refused",
        {{"error", std::string(reloaded.status().message())},
         {"generation", absl::StrCat(access.generation())}});
  } else if (*reloaded) {
    probe.AccessGeneration(access.generation());
    Log(LogLevel::kInfo, "access_reloaded",
        {{"generation", absl::StrCat(access.generation())},
         {"cause", hangup ? "SIGHUP" : "file changed"}});
  }
}

// Until a stop signal (its name): gives freed memory back now and then,
// and reads the tokens and policy files again every
// access_reload_interval and on SIGHUP.
std::string ServeUntilStopped(const ServerConfig& config, const StopSignals& signals,
                              auth::AccessControl& access, ServiceProbe& probe) {
  const bool access_files = !config.tokens_file.empty() || !config.policy_file.empty();
  absl::Time next_trim = absl::Now() + kMemoryReturnInterval;
  // Without access files there is nothing to look at, and no look is due
  // (one left in the past would make every wait zero: a spinning thread).
  absl::Time next_look =
      access_files ? absl::Now() + config.access_reload_interval : absl::InfiniteFuture();
  int64_t hangups = signals.hangups();
  for (;;) {
    const absl::Duration wait =
        std::max(absl::ZeroDuration(), std::min(next_trim, next_look) - absl::Now());
    if (std::optional<std::string> signal = signals.WaitFor(wait)) return *signal;
    const absl::Time now = absl::Now();
    const bool hangup = signals.hangups() != hangups;
    hangups = signals.hangups();
    if (access_files && (hangup || now >= next_look)) {
      ReloadAccess(access, probe, hangup);
      next_look = now + config.access_reload_interval;
    }
    if (now >= next_trim) {
      ReturnFreeMemory();
      next_trim = now + kMemoryReturnInterval;
    }
  }
}

int Millis(absl::Duration d) {
  return static_cast<int>(std::min<int64_t>(absl::ToInt64Milliseconds(d), INT32_MAX));
}

void AddConnectionLimits(const ConnectionLimits& limits, grpc::ServerBuilder& builder) {
  builder.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS,
                             Millis(limits.handshake_timeout));
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS, Millis(limits.max_idle));
  if (limits.max_age > absl::ZeroDuration()) {
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS, Millis(limits.max_age));
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS, Millis(limits.max_age_grace));
  }
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, Millis(limits.keepalive_time));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, Millis(limits.keepalive_timeout));
  // Pings of a connection with no call are what detect a vanished peer.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                             Millis(limits.min_client_ping_interval));
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 2);
}

// The gRPC server, fed by `listener`.
std::unique_ptr<grpc::Server> BuildServer(const ServerConfig& config, const Security& security,
                                          const std::vector<grpc::Service*>& services,
                                          ServiceProbe& probe, Listener& listener) {
  // gRPC's health service is not built from protobuf descriptors; naming
  // one of its messages links them in, so that reflection, which lists the
  // service, can describe it too.
  [[maybe_unused]] const auto* health = grpc::health::v1::HealthCheckRequest::descriptor();
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  auto acceptor = builder.experimental().AddExternalConnectionAcceptor(
      grpc::ServerBuilder::experimental_type::ExternalConnectionType::FROM_FD,
      security.credentials);
  builder.SetMaxReceiveMessageSize(kMaxReceiveBytes);
  // Bounds on what one connection may make hubd hold before any handler
  // runs: open streams, and header bytes.
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, config.max_streams_per_connection);
  builder.AddChannelArgument(GRPC_ARG_MAX_METADATA_SIZE, config.max_metadata_bytes);
  AddConnectionLimits(config.connections, builder);
  for (grpc::Service* service : services) builder.RegisterService(service);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(
      std::make_unique<CallInterceptorFactory>(probe, *security.access, listener));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server != nullptr) listener.Start(std::move(acceptor));
  return server;
}

// Serves until a stop signal, then: not ready first, so balancers stop
// sending; then the engine stops handing out messages and commits what it
// has; then the server drains.
int Serve(const ServerConfig& config, const Security& security, pg::PgStore& store,
          prometheus::Registry& registry, const StopSignals& signals, int64_t open_files) {
  HubProbe probe(registry);
  ServiceProbe service_probe(registry, kVersion);
  security.access->OnQuotaRefused(
      [&service_probe](const std::string& principal, auth::QuotaKind kind) {
        service_probe.QuotaRefused(principal, auth::QuotaName(kind));
      });
  Hub engine(store, config.hub, probe);
  PublisherService publisher(engine, *security.access);
  StreamQuota streams(config.max_streams_per_principal);
  SubscriberService subscriber(engine, *security.access, streams);
  const pubsub::Names pubsub_names(config.pubsub_project);
  pubsub::PublisherService pubsub_publisher(engine, *security.access, pubsub_names);
  pubsub::SubscriberService pubsub_subscriber(engine, *security.access, pubsub_names, streams);
  pubsub::SchemaService pubsub_schemas(engine, *security.access, pubsub_names);
  pubsub::IamService pubsub_iam(engine, *security.access, pubsub_names);
  // Bindings stored through the IAM calls count only beside a policy.
  if (security.access->has_policy()) {
    engine.access_policies().Follow(
        [&bindings = security.access->stored_bindings()](
            const std::vector<AccessPolicy>& policies) { bindings.Replace(policies); });
  }
  SchemaService schemas(engine, *security.access);
  ListenerLimits port_limits;
  port_limits.max_connections =
      config.max_connections != 0 ? config.max_connections : DefaultMaxConnections(open_files);
  port_limits.max_connections_per_peer = config.max_connections_per_peer != 0
                                             ? config.max_connections_per_peer
                                             : std::max(1, port_limits.max_connections / 4);
  port_limits.unauthenticated_timeout = config.connections.unauthenticated_timeout;
  const int max_connections = port_limits.max_connections;
  absl::StatusOr<std::unique_ptr<Listener>> listener =
      Listener::Bind(config.listen, port_limits, service_probe);
  if (!listener.ok()) {
    Log(LogLevel::kError, "listen_failed",
        {{"address", config.listen}, {"error", std::string(listener.status().message())}});
    return kExitListenFailed;
  }
  std::unique_ptr<grpc::Server> server =
      BuildServer(config, security,
                  {&publisher, &subscriber, &schemas, &pubsub_publisher, &pubsub_subscriber,
                   &pubsub_schemas, &pubsub_iam},
                  service_probe, **listener);
  if (server == nullptr) {
    Log(LogLevel::kError, "listen_failed", {{"address", config.listen}});
    return kExitListenFailed;
  }
  grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService();
  health->SetServingStatus(false);
  HealthMonitor monitor([&store] { return store.Ping(); },
                        [health, &service_probe](bool serving) {
                          health->SetServingStatus(serving);
                          service_probe.DatabaseUp(serving);
                        },
                        absl::Seconds(1));
  // Before the ops port, which serves it until it stops.
  std::optional<Console> console;
  // Ready: the database answers and the port takes connections.
  Listener& port = **listener;
  OpsHttpServer ops(
      registry, [&monitor, &port] { return monitor.serving() && port.accepting(); },
      config.metrics_token);
  if (config.console) {
    const char* replica = getenv("PGAPPNAME");
    console.emplace(engine, *security.access, registry, replica != nullptr ? replica : "",
                    config.console_rate_step);
    ops.Route("/console/",
              [&console](const HttpRequest& request) { return console->Handle(request); });
    console->Start();
  }
  if (absl::Status s = ops.Start(config.metrics_listen); !s.ok()) {
    Log(LogLevel::kError, "listen_failed",
        {{"address", config.metrics_listen}, {"error", std::string(s.message())}});
    return kExitListenFailed;
  }
  Log(LogLevel::kInfo, "started",
      {{"listen", config.listen},
       {"metrics_listen", config.metrics_listen},
       {"console", config.console ? "on" : "off"},
       {"version", kVersion},
       {"open_file_limit", absl::StrCat(open_files)},
       {"max_connections", absl::StrCat(max_connections)},
       {"max_connections_per_peer", absl::StrCat(port_limits.max_connections_per_peer)},
       {"tls", !config.tls_enabled()          ? "off"
               : security.client_certificates ? "mutual"
                                              : "on"}});
  service_probe.AccessGeneration(security.access->generation());
  const std::string signal = ServeUntilStopped(config, signals, *security.access, service_probe);
  Log(LogLevel::kInfo, "stopping", {{"signal", signal}});
  monitor.Stop();
  port.Stop();
  engine.Shutdown();
  server->Shutdown(absl::ToChronoTime(absl::Now() + config.shutdown_grace));
  Log(LogLevel::kInfo, "stopped");
  return kExitStopped;
}

}  // namespace

// Every connection holds a file descriptor: the soft limit goes up to the
// hard one (the connection cap follows from it), and the start log says
// what it is.
int64_t RaiseOpenFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return -1;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
    getrlimit(RLIMIT_NOFILE, &limit);
  }
  return static_cast<int64_t>(limit.rlim_cur);
}

// Every database connection of this process says whose it is, so that
// the replicas of one database see each other in pg_stat_activity (the
// console's hub page). Set before any thread starts; a PGAPPNAME or an
// application_name in the URL that the operator chose wins.
void NameDatabaseConnections() {
  char host[256] = "";
  gethostname(host, sizeof(host) - 1);
  setenv("PGAPPNAME", absl::StrCat("hubd ", host, " ", getpid()).c_str(), /*overwrite=*/0);
}

int RunHubd(int argc, char** argv, const StopSignals& signals) {
  absl::StatusOr<ServerConfig> config = LoadServerConfig(argc, argv);
  if (!config.ok()) {
    LogError("bad_configuration", config.status());
    return kExitBadConfiguration;
  }
  SetLogLevel(config->log_level);
  NameDatabaseConnections();
  ConfigureAllocator();
  const int64_t open_files = RaiseOpenFileLimit();
  prometheus::Registry registry;
  pg::PgProbe pg_probe(registry);
  pg::PgStore store(pg::PgStoreOptions{.database_url = config->database_url,
                                       .pooler_url = config->database_pooler_url,
                                       .pool_size = config->db_pool_size},
                    pg_probe);
  if (!WaitForDatabase(store, *config, signals)) return kExitStopped;
  if (config->migrate_only) {
    Log(LogLevel::kInfo, "migrated");
    return kExitStopped;
  }
  absl::StatusOr<Security> security = LoadSecurity(*config);
  if (!security.ok()) {
    LogError("bad_configuration", security.status());
    return kExitBadConfiguration;
  }
  return Serve(*config, *security, store, registry, signals, open_files);
}

}  // namespace hub::services
