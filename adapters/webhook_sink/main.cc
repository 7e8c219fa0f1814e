// hub-webhook-sink: a subscription delivered as HTTP POSTs (docs/adapters.md).
#include "adapters/webhook_sink/webhook_sink.h"

int main(int argc, char** argv) {
  return hub::adapters::AdapterMain<hub::adapters::WebhookSink>(argc, argv, "webhook_sink");
}
