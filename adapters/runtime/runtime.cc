#include "adapters/runtime/runtime.h"

#include <algorithm>
#include <cstdio>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "common/flag_usage.h"
#include "common/log.h"
#include "common/ops_http_server.h"
#include "common/stop_signals.h"

ABSL_FLAG(std::string, config, "", "the adapter's configuration file (YAML, docs/adapters.md)");

namespace hub::adapters {
namespace {

// Turns the stop signals into `stop`, on a thread of its own. Called before
// any other thread starts (StopSignals says why); the signals live as long
// as the process, like the thread.
void HandleStopSignals(absl::Notification& stop) {
  static const StopSignals signals;
  std::thread([&stop] {
    Log(LogLevel::kInfo, "adapter_stopping", {{"signal", signals.Wait()}});
    stop.Notify();
  }).detach();
}

}  // namespace

client::ConnectionOptions ReadHubSection(ConfigSection section) {
  client::ConnectionOptions options;
  options.endpoint = section.String("endpoint", options.endpoint);
  options.tls = section.Bool("tls", false);
  options.ca_file = section.String("ca_file", "");
  options.cert_file = section.String("cert_file", "");
  options.key_file = section.String("key_file", "");
  options.bearer_token = section.String("token", "");
  if (std::string token = section.FileContents("token_file"); !token.empty()) {
    options.bearer_token = token;
  }
  options.call_timeout = section.Duration("call_timeout", options.call_timeout);
  return options;
}

client::PublisherOptions KeyedSourcePublisherOptions(int64_t batch_records) {
  client::PublisherOptions options;
  options.max_batch_messages = static_cast<int>(std::min<int64_t>(batch_records, 1000));
  options.max_hold_time = absl::Milliseconds(2);
  options.retry_timeout = absl::Seconds(15);
  return options;
}

// How long an adapter waits for the hub at start before it says that the
// hub is not there.
constexpr absl::Duration kFirstReachWait = absl::Seconds(3);

int AdapterMain(int argc, char** argv, const std::string& name, const AdapterFactory& factory) {
  std::string binary = absl::StrCat("hub-", name);
  std::replace(binary.begin(), binary.end(), '_', '-');
  ConfigureFlagUsage(
      binary, "adapters/runtime/runtime.cc",
      absl::StrCat("hub adapter ", name, "; usage: ", binary, " --config FILE (docs/adapters.md)"));
  ParseFlags(argc, argv);
  const std::string path = absl::GetFlag(FLAGS_config);
  auto fail = [&](const absl::Status& status) {
    Log(LogLevel::kError, "adapter_failed", {{"adapter", name}, {"error", status.ToString()}});
    return 1;
  };
  if (path.empty()) return fail(absl::InvalidArgumentError("--config is required"));

  absl::Notification stop;
  HandleStopSignals(stop);

  auto root = ConfigSection::LoadFile(path);
  if (!root.ok()) return fail(root.status());
  client::ConnectionOptions hub_options = ReadHubSection(root->Section("hub"));
  std::string metrics_listen = root->String("metrics_listen", "127.0.0.1:9465");
  LogLevel level = LogLevel::kInfo;
  if (std::string text = root->String("log_level", "info"); !ParseLogLevel(text, &level)) {
    root->Fail("log_level", "must be debug, info, warning or error");
  }
  SetLogLevel(level);
  ConfigSection own = root->Section(name);
  if (!root->Has(name)) own.Fail("", "is required");

  auto connection = client::Connection::Open(hub_options);
  if (!connection.ok()) return fail(connection.status());
  auto registry = std::make_shared<prometheus::Registry>();
  auto& messages = prometheus::BuildCounter()
                       .Name("hub_adapter_messages_total")
                       .Help("Records and messages an adapter handled, by what became of them")
                       .Register(*registry);
  AdapterEnv env{own, hub_options, *connection, *registry, messages, name};
  auto adapter = factory(env);
  if (!adapter.ok()) return fail(adapter.status());
  // After the factory, which reads its section: unknown keys anywhere.
  if (absl::Status status = root->Finish(); !status.ok()) return fail(status);

  OpsHttpServer ops(*registry, [&] { return (*adapter)->Ready(); });
  if (absl::Status status = ops.Start(metrics_listen); !status.ok()) return fail(status);
  // A hub that is not there (a name that does not resolve, say) is said
  // now, not when the first publish gives up; the adapter runs on and
  // reaches the hub once it is there, as under an orchestrator it must.
  if (absl::Status reached = connection->WaitUntilReachable(kFirstReachWait); !reached.ok()) {
    Log(LogLevel::kWarning, "adapter_hub_unreachable",
        {{"adapter", name}, {"error", reached.ToString()}});
  }
  Log(LogLevel::kInfo, "adapter_started",
      {{"adapter", name}, {"hub", hub_options.endpoint}, {"metrics", metrics_listen}});
  absl::Status result = (*adapter)->Run(stop);
  if (!result.ok()) return fail(result);
  Log(LogLevel::kInfo, "adapter_stopped", {{"adapter", name}});
  return 0;
}

}  // namespace hub::adapters
