// The orders service: takes orders (here, made up) and publishes each to
// the "orders" topic. It knows nothing of who consumes them.
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "client/publisher.h"

ABSL_FLAG(std::string, hub, "127.0.0.1:50051", "hub address");
ABSL_FLAG(int, count, 10, "orders to place");
ABSL_FLAG(int, first, 1, "number of the first order");

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  auto connection = hub::client::Connection::Open({.endpoint = absl::GetFlag(FLAGS_hub)});
  if (!connection.ok()) return 1;
  hub::client::Publisher publisher(*connection, "orders");
  const int first = absl::GetFlag(FLAGS_first);
  for (int n = first; n < first + absl::GetFlag(FLAGS_count); ++n) {
    const std::string customer = absl::StrCat("customer-", n % 3);
    // The order number is the idempotency key: placing it twice stores it once.
    auto ack = publisher
                   .Publish({.data = absl::StrCat("{\"order\":", n, ",\"amount\":", 10 * n, "}"),
                             .attributes = {{"customer", customer}},
                             .ordering_key = customer,
                             .idempotency_key = absl::StrCat("order-", n)})
                   .get();
    if (!ack.ok()) {
      std::cerr << "orders: order " << n << " not placed: " << ack.status() << "\n";
      return 1;
    }
    std::cout << "orders: placed order " << n << " as message " << ack->message_id << std::endl;
  }
  return 0;
}
