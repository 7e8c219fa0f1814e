// The README's first program: publishes one message to `orders`, receives
// it through `billing` (create both first, as the README shows), and exits.
// The hub is at HUB_ENDPOINT, or 127.0.0.1:50051.
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <future>
#include <iostream>

#include "client/publisher.h"
#include "client/subscriber.h"

int main() {
  std::cout << std::unitbuf;  // each line reaches a pipe at once
  const char* endpoint = std::getenv("HUB_ENDPOINT");
  auto hub = hub::client::Connection::Open({.endpoint = endpoint ? endpoint : "127.0.0.1:50051"});
  if (!hub.ok()) {
    std::cerr << "cannot connect: " << hub.status() << "\n";
    return 1;
  }
  hub::client::Publisher publisher(*hub, "orders");
  auto ack = publisher.Publish({.data = "order 42"}).get();  // answered after commit
  if (!ack.ok()) {
    std::cerr << "publish failed: " << ack.status() << "\n";
    return 1;
  }
  std::cout << "published " << ack->message_id << "\n";

  hub::client::Subscriber subscriber(*hub, "billing");
  std::promise<void> received;
  std::atomic<bool> first{true};
  auto session = subscriber.Subscribe([&](hub::client::Message m, hub::client::AckHandler h) {
    std::cout << "received " << m.data << "\n";
    std::move(h).Ack();
    if (first.exchange(false)) received.set_value();
  });
  const bool arrived =
      received.get_future().wait_for(std::chrono::seconds(10)) == std::future_status::ready;
  if (!arrived) std::cerr << "nothing arrived on billing within 10 s\n";
  session.Stop();  // waits for the handler, sends the ack
  const absl::Status ended = session.Wait();
  if (!ended.ok()) std::cerr << "subscription failed: " << ended << "\n";
  return ended.ok() && arrived ? 0 : 1;
}
