#ifndef ADAPTERS_RUNTIME_RUNTIME_H_
#define ADAPTERS_RUNTIME_RUNTIME_H_

#include <functional>
#include <memory>
#include <string>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "adapters/runtime/config.h"
#include "client/connection.h"
#include "client/options.h"

// What every adapter binary shares (docs/adapters.md): one flag, --config;
// the file's `hub` section (endpoint, token, TLS), `metrics_listen` and
// `log_level`; a connection through the client library; /metrics, /healthz
// and /readyz; and a graceful stop on SIGTERM or SIGINT. An adapter is a
// class with Run; AdapterMain does the rest.
namespace hub::adapters {

// Handed to an adapter's factory.
struct AdapterEnv {
  // The adapter's own section of the file (named like the adapter).
  ConfigSection& config;
  // How to reach the hub, and a connection made from it.
  client::ConnectionOptions hub_options;
  client::Connection connection;
  prometheus::Registry& registry;
  // hub_adapter_messages_total{adapter, outcome}: what became of each
  // record or message the adapter handled (published, duplicate, failed,
  // delivered, retried, rejected, ...).
  prometheus::Family<prometheus::Counter>& messages;
  std::string name;

  // This adapter's series of `messages` for `outcome`; made once, at start,
  // so that counting costs no label lookup.
  prometheus::Counter& Outcome(const std::string& outcome) const {
    return messages.Add({{"adapter", name}, {"outcome", outcome}});
  }
};

class Adapter {
 public:
  virtual ~Adapter() = default;
  // Works until `stop` is notified, then finishes what it holds (publishes
  // already read, deliveries in flight) and returns. An error return ends
  // the process with exit code 1.
  virtual absl::Status Run(const absl::Notification& stop) = 0;
  // /readyz: whether the adapter can do its work now.
  virtual bool Ready() const { return true; }
};

using AdapterFactory = std::function<absl::StatusOr<std::unique_ptr<Adapter>>(AdapterEnv& env)>;

// The whole main of an adapter binary named `name` (also its section).
int AdapterMain(int argc, char** argv, const std::string& name, const AdapterFactory& factory);

// The main of an adapter class: `A::Config::Read(ConfigSection&)` reads its
// section, `A(A::Config, AdapterEnv&)` makes it.
template <typename A>
int AdapterMain(int argc, char** argv, const std::string& name) {
  return AdapterMain(argc, argv, name,
                     [](AdapterEnv& env) -> absl::StatusOr<std::unique_ptr<Adapter>> {
                       absl::StatusOr<typename A::Config> config = A::Config::Read(env.config);
                       if (!config.ok()) return config.status();
                       return std::make_unique<A>(*std::move(config), env);
                     });
}

// Publisher options for a source whose records carry their own idempotency
// keys (a file offset, a row key): no generated keys, batches of up to
// `batch_records`, and retries that ride out a hubd restart but do not hold
// up a stop (SIGTERM, 30 s in Kubernetes) when the hub is gone.
client::PublisherOptions KeyedSourcePublisherOptions(int64_t batch_records);

// The `hub` section as connection options (exposed for tests).
client::ConnectionOptions ReadHubSection(ConfigSection section);

}  // namespace hub::adapters

#endif  // ADAPTERS_RUNTIME_RUNTIME_H_
