// The shipping service, a newcomer: it joins by subscribing to "payments".
// Nothing in orders or billing changed for it. Runs until SIGTERM.
#include <csignal>
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
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
  std::atomic<int> shipped{0};
  hub::client::Subscriber subscriber(*connection, "shipping");
  auto session = subscriber.Subscribe([&](hub::client::Message payment, hub::client::AckHandler h) {
    std::cout << "shipping: shipping after " << payment.data << std::endl;
    ++shipped;
    std::move(h).Ack();
  });
  int sig = 0;
  sigwait(&stop, &sig);
  session.Stop();
  std::cout << "shipping: shipped " << shipped.load() << " orders" << std::endl;
  return 0;
}
