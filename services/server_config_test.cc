#include "services/server_config.h"

#include <functional>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/testing/status_matchers.h"

namespace hub::services {
namespace {

using ::hub::testing::IsOk;
using ::hub::testing::StatusIs;

// The defaults with a database: what `make run` starts.
ServerConfig Valid() {
  ServerConfig c;
  c.database_url = "postgresql://127.0.0.1/hub";
  return c;
}

TEST(CheckServerConfigTest, TheDefaultsWithADatabasePass) {
  EXPECT_THAT(CheckServerConfig(Valid()), IsOk());
}

// One change each, and the flag the refusal must name ("" when it passes).
TEST(CheckServerConfigTest, EachRefusalNamesItsFlag) {
  struct Case {
    std::string what;
    std::function<void(ServerConfig&)> change;
    std::string names;
  };
  const std::vector<Case> cases = {
      {"no database", [](ServerConfig& c) { c.database_url.clear(); }, "HUB_DATABASE_URL"},
      {"a certificate without its key", [](ServerConfig& c) { c.tls.cert_file = "c.pem"; },
       "--tls_key_file"},
      {"a client CA without TLS", [](ServerConfig& c) { c.tls.client_ca_file = "ca.pem"; },
       "--tls_client_ca_file"},
      {"TLS reloaded too often",
       [](ServerConfig& c) { c.tls.reload_interval = absl::Milliseconds(500); },
       "--tls_reload_interval"},
      {"access files reloaded too often",
       [](ServerConfig& c) { c.access_reload_interval = absl::Milliseconds(500); },
       "--access_reload_interval"},
      {"console rates stepped too finely",
       [](ServerConfig& c) { c.console_rate_step = absl::Milliseconds(500); },
       "--console_rate_step"},
      {"a project id with capitals", [](ServerConfig& c) { c.pubsub_project = "Hub"; },
       "--pubsub_project"},
      {"negative connections", [](ServerConfig& c) { c.max_connections = -1; },
       "--max_connections"},
      {"negative connections per peer", [](ServerConfig& c) { c.max_connections_per_peer = -1; },
       "--max_connections_per_peer"},
      {"no time to authenticate",
       [](ServerConfig& c) { c.connections.unauthenticated_timeout = absl::ZeroDuration(); },
       "--unauthenticated_connection_timeout"},
      {"no claim thread", [](ServerConfig& c) { c.hub.claim_threads = 0; }, "--claim_threads"},
      {"unsent bytes below one response",
       [](ServerConfig& c) { c.hub.max_unsent_stream_bytes = 1024; }, "--max_unsent_stream_bytes"},
      {"tiny metadata", [](ServerConfig& c) { c.max_metadata_bytes = 100; },
       "--max_metadata_bytes"},
      {"all interfaces in plain text", [](ServerConfig& c) { c.listen = "0.0.0.0:50051"; },
       "--allow_insecure"},
      {"all interfaces in plain text, allowed",
       [](ServerConfig& c) {
         c.listen = "0.0.0.0:50051";
         c.allow_insecure = true;
       },
       ""},
      {"all interfaces with TLS",
       [](ServerConfig& c) {
         c.listen = "0.0.0.0:50051";
         c.tls.cert_file = "c.pem";
         c.tls.key_file = "k.pem";
       },
       ""},
      {"no handshake time", [](ServerConfig& c) { c.connections.handshake_timeout = {}; },
       "--handshake_timeout"},
      {"connections that never age", [](ServerConfig& c) { c.connections.max_age = {}; }, ""},
      {"messages over 10 MiB",
       [](ServerConfig& c) { c.hub.limits.max_message_bytes = 10 * 1024 * 1024 + 1; },
       "--max_message_bytes"},
      {"a pool of one", [](ServerConfig& c) { c.db_pool_size = 1; }, "--db_pool_size"},
      {"no poll", [](ServerConfig& c) { c.hub.poll_interval = {}; }, "--poll_interval"},
      {"two transactions per topic",
       [](ServerConfig& c) { c.hub.publish_transactions_per_topic = 2; }, ""},
  };
  for (const Case& t : cases) {
    ServerConfig c = Valid();
    t.change(c);
    if (t.names.empty()) {
      EXPECT_THAT(CheckServerConfig(c), IsOk()) << t.what;
    } else {
      EXPECT_THAT(CheckServerConfig(c),
                  StatusIs(absl::StatusCode::kInvalidArgument, ::testing::HasSubstr(t.names)))
          << t.what;
    }
  }
}

}  // namespace
}  // namespace hub::services
