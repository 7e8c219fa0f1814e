// A consumer for the inbox test (tests/e2e/inbox_test.cc): receives a
// subscription through the client library's Inbox, whose handler writes one
// row per message into side_effects of the consumer's own database.
//
//   inbox_consumer HUB_ADDRESS SUBSCRIPTION CONSUMER_DATABASE_URL CRASH_PERCENT SEED
//
// Prints "READY" once subscribed. With CRASH_PERCENT > 0, that share of
// commits is followed by SIGKILL of itself before the acks go out (after
// printing "CRASH AFTER COMMIT"): the case only the inbox can cover.
#include <signal.h>

#include <cstdio>
#include <random>
#include <string>

#include "absl/synchronization/notification.h"
#include "client/connection.h"
#include "client/inbox/inbox.h"
#include "client/subscriber.h"

int main(int argc, char** argv) {
  if (argc != 6) return 64;
  const int crash_percent = std::stoi(argv[4]);
  std::mt19937 random(static_cast<unsigned>(std::stoul(argv[5])));
  hub::client::InboxOptions options;
  options.on_committed = [&](const std::vector<std::string>&) {
    if (static_cast<int>(random() % 100) < crash_percent) {
      std::printf("CRASH AFTER COMMIT\n");
      std::fflush(stdout);
      raise(SIGKILL);
    }
  };
  auto inbox = hub::client::Inbox::Open(
      argv[3], argv[2],
      [](pqxx::work& tx, const hub::client::Message& m) {
        tx.exec_params("INSERT INTO side_effects (message_id, data) VALUES ($1, $2)", m.message_id,
                       m.data);
        return absl::OkStatus();
      },
      options);
  if (!inbox.ok()) {
    std::fprintf(stderr, "%s\n", std::string(inbox.status().message()).c_str());
    return 1;
  }
  hub::client::ConnectionOptions co;
  co.endpoint = argv[1];
  auto connection = hub::client::Connection::Open(co);
  if (!connection.ok()) return 1;
  hub::client::Subscriber subscriber(*connection, argv[2]);
  hub::client::SubscriberSession session = subscriber.Subscribe((*inbox)->AsMessageHandler());
  std::printf("READY\n");
  std::fflush(stdout);
  absl::Notification forever;  // until killed
  forever.WaitForNotification();
}
