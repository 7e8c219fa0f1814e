// hub-http-ingress: POST /v1/topics/{topic}:publish onto the hub (docs/adapters.md).
#include "adapters/http_ingress/http_ingress.h"

int main(int argc, char** argv) {
  return hub::adapters::AdapterMain<hub::adapters::HttpIngress>(argc, argv, "http_ingress");
}
