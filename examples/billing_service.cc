// The billing service: charges each order from its "billing" subscription
// and announces the payment on the "payments" topic. Runs until SIGTERM.
#include <csignal>
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "client/publisher.h"
#include "client/subscriber.h"

ABSL_FLAG(std::string, hub, "127.0.0.1:50051", "hub address");

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  auto connection = hub::client::Connection::Open({.endpoint = absl::GetFlag(FLAGS_hub)});
  if (!connection.ok()) return 1;
  hub::client::Publisher payments(*connection, "payments");
  std::atomic<int> charged{0};
  hub::client::Subscriber subscriber(*connection, "billing");
  auto session = subscriber.Subscribe([&](hub::client::Message order, hub::client::AckHandler h) {
    std::cout << "billing: charged " << order.data << std::endl;
    // The payment is keyed by the order's message id: a redelivered order
    // announces its payment once.
    auto paid = payments.Publish({.data = absl::StrCat("paid ", order.data),
                                  .idempotency_key = absl::StrCat("payment-", order.message_id)});
    if (!paid.get().ok()) return;  // dropping h nacks: the order comes again
    ++charged;
    std::move(h).Ack();
  });
  int sig = 0;
  sigwait(&stop, &sig);
  session.Stop();
  std::cout << "billing: charged " << charged.load() << " orders" << std::endl;
  return 0;
}
