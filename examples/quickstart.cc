#include <iostream>

#include "client/publisher.h"
#include "client/subscriber.h"

int main() {
  auto hub = hub::client::Connection::Open({.endpoint = "127.0.0.1:50051"});
  hub::client::Publisher publisher(*hub, "orders");
  auto ack = publisher.Publish({.data = "order 42"}).get();  // answered after commit
  if (ack.ok()) std::cout << "published " << ack->message_id << "\n";

  hub::client::Subscriber subscriber(*hub, "billing");
  auto session = subscriber.Subscribe([](hub::client::Message m, hub::client::AckHandler h) {
    std::cout << "received " << m.data << "\n";
    std::move(h).Ack();
  });
  return session.Wait().ok() ? 0 : 1;  // runs until Stop() or a lasting error
}
