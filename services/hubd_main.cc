// hubd: wires the store, the engine and the gRPC services together. All
// behaviour lives in the libraries; see docs/design.md.
#include <csignal>
#include <memory>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "absl/time/clock.h"
#include "hub/hub.h"
#include "hub/log.h"
#include "hub/pg/pg_store.h"
#include "services/auth/access_control.h"
#include "services/call_interceptor.h"
#include "services/health_monitor.h"
#include "services/ops_http_server.h"
#include "services/publisher_service.h"
#include "services/server_config.h"
#include "services/subscriber_service.h"

namespace {

// Headroom over the largest publish for the rest of the request's framing.
constexpr int kMaxReceiveBytes =
    static_cast<int>(hub::Limits::kMaxPublishRequestBytes + hub::kMiB);

int WaitForSignal(const sigset_t& signals) {
  int sig = 0;
  sigwait(&signals, &sig);
  return sig;
}

}  // namespace

int main(int argc, char** argv) {
  using hub::Log;
  using hub::LogLevel;
  // Block the stop signals in every thread; main waits for them below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  absl::StatusOr<hub::services::ServerConfig> config =
      hub::services::LoadServerConfig(argc, argv);
  if (!config.ok()) {
    Log(LogLevel::kError, "bad_configuration",
        {{"error", std::string(config.status().message())}});
    return 2;
  }
  hub::SetLogLevel(config->log_level);

  prometheus::Registry registry;
  hub::pg::PgProbe pg_probe(registry);
  hub::pg::PgStore store(hub::pg::PgStoreOptions{config->database_url, config->db_pool_size},
                         pg_probe);
  // Waits for the database: under an orchestrator hubd may start first.
  for (;;) {
    const absl::Status s = config->migrate || config->migrate_only ? store.Migrate()
                                                                    : store.Maintain().status();
    if (s.ok()) break;
    Log(LogLevel::kError, "database_not_ready",
        {{"error", std::string(s.message())}});
    timespec wait{1, 0};
    if (sigtimedwait(&signals, nullptr, &wait) > 0) return 0;
  }

  if (config->migrate_only) {
    Log(LogLevel::kInfo, "migrated");
    return 0;
  }
  hub::HubProbe probe(registry);
  hub::services::ServiceProbe service_probe(registry, PROJECT_VERSION);
  hub::Hub engine(store, config->hub, probe);
  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
  std::shared_ptr<hub::services::auth::ClientCertificates> client_certificates;
  absl::Status tls_status;
  if (config->tls_enabled()) {
    auto tls = hub::services::auth::MakeServerCredentials(config->tls);
    tls_status = tls.status();
    if (tls.ok()) credentials = *tls;
  }
  if (tls_status.ok() && !config->tls.client_ca_file.empty()) {
    auto loaded = hub::services::auth::ClientCertificates::Load(config->tls.client_ca_file,
                                                                config->tls.reload_interval);
    tls_status = loaded.status();
    if (loaded.ok()) client_certificates = *loaded;
  }
  absl::StatusOr<hub::services::auth::AccessControl> access =
      tls_status.ok() ? hub::services::auth::LoadAccessControl(
                            config->tokens_file, config->policy_file, client_certificates)
                      : absl::StatusOr<hub::services::auth::AccessControl>(tls_status);
  if (!access.ok()) {
    Log(LogLevel::kError, "bad_configuration", {{"error", std::string(access.status().message())}});
    return 2;
  }
  hub::services::PublisherService publisher(engine, *access);
  hub::services::SubscriberService subscriber(engine, *access);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(config->listen, credentials, &port);
  builder.SetMaxReceiveMessageSize(kMaxReceiveBytes);
  // Bounds on what one connection may make hubd hold before any handler
  // runs: open streams, and header bytes.
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, config->max_streams_per_connection);
  builder.AddChannelArgument(GRPC_ARG_MAX_METADATA_SIZE, config->max_metadata_bytes);
  builder.RegisterService(&publisher);
  builder.RegisterService(&subscriber);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(std::make_unique<hub::services::CallInterceptorFactory>(service_probe));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    Log(LogLevel::kError, "listen_failed", {{"address", config->listen}});
    return 1;
  }
  grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService();
  health->SetServingStatus(false);

  hub::services::HealthMonitor monitor(
      [&store] { return store.Ping(); },
      [health, &service_probe](bool serving) {
        health->SetServingStatus(serving);
        service_probe.DatabaseUp(serving);
      },
      absl::Seconds(1));
  hub::services::OpsHttpServer ops(registry, [&monitor] { return monitor.serving(); });
  if (absl::Status s = ops.Start(config->metrics_listen); !s.ok()) {
    Log(LogLevel::kError, "listen_failed",
        {{"address", config->metrics_listen}, {"error", std::string(s.message())}});
    return 1;
  }
  Log(LogLevel::kInfo, "started",
      {{"listen", config->listen},
       {"metrics_listen", config->metrics_listen},
       {"tls", !config->tls_enabled() ? "off" : client_certificates ? "mutual" : "on"}});

  const int sig = WaitForSignal(signals);
  Log(LogLevel::kInfo, "stopping", {{"signal", std::to_string(sig)}});
  // Not ready first, so balancers stop sending; then the engine stops
  // handing out messages and commits what it has; then the server drains.
  monitor.Stop();
  engine.Shutdown();
  server->Shutdown(absl::ToChronoTime(absl::Now() + config->shutdown_grace));
  Log(LogLevel::kInfo, "stopped");
  return 0;
}
