// The billing service: charges each order from its "billing" subscription
// and announces the payment on the "payments" topic. Runs until SIGTERM.
//
// Charges live in billing's own PostgreSQL database and go through the
// inbox (docs/client.md): each order is charged in the same transaction that
// records its message id, so an order redelivered after a crash between
// that commit and the ack is not charged twice.
#include <csignal>
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "client/inbox/inbox.h"
#include "client/publisher.h"
#include "client/subscriber.h"

ABSL_FLAG(std::string, hub, "127.0.0.1:50051", "hub address");
ABSL_FLAG(std::string, database_url, "", "billing's own PostgreSQL (or BILLING_DATABASE_URL)");

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  std::string database_url = absl::GetFlag(FLAGS_database_url);
  if (const char* env = std::getenv("BILLING_DATABASE_URL"); database_url.empty() && env) {
    database_url = env;
  }
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  try {
    pqxx::connection setup(database_url);
    pqxx::work tx(setup);
    tx.exec("CREATE TABLE IF NOT EXISTS charges (order_id text NOT NULL, amount text NOT NULL)");
    tx.commit();
  } catch (const std::exception& e) {
    std::cerr << "billing: " << e.what() << std::endl;
    return 1;
  }
  auto connection = hub::client::Connection::Open({.endpoint = absl::GetFlag(FLAGS_hub)});
  if (!connection.ok()) return 1;
  hub::client::Publisher payments(*connection, "payments");
  auto inbox = hub::client::Inbox::Open(
      database_url, "billing",
      [&](pqxx::work& tx, const hub::client::Message& order) -> absl::Status {
        tx.exec_params("INSERT INTO charges (order_id, amount) VALUES ($1, $2)", order.message_id,
                       order.data);
        // Keyed by the order's message id: if this transaction rolls back
        // and the order comes again, the payment is announced once.
        auto paid =
            payments.Publish({.data = absl::StrCat("paid ", order.data),
                              .idempotency_key = absl::StrCat("payment-", order.message_id)});
        if (absl::StatusOr<hub::client::PublishAck> ack = paid.get(); !ack.ok()) {
          return ack.status();  // rolled back, nacked: the order comes again
        }
        std::cout << "billing: charged " << order.data << std::endl;
        return absl::OkStatus();
      });
  if (!inbox.ok()) {
    std::cerr << "billing: " << inbox.status().message() << std::endl;
    return 1;
  }
  hub::client::Subscriber subscriber(*connection, "billing");
  auto session = subscriber.Subscribe((*inbox)->AsMessageHandler());
  int sig = 0;
  sigwait(&stop, &sig);
  session.Stop();
  inbox->reset();
  pqxx::connection check(database_url);
  pqxx::nontransaction tx(check);
  const pqxx::row counts = tx.exec1("SELECT count(*), count(DISTINCT order_id) FROM charges");
  std::cout << "billing: " << counts[0].as<int64_t>() << " charges for " << counts[1].as<int64_t>()
            << " orders" << std::endl;
  return 0;
}
