// hub-pg-outbox: publishes a legacy application's outbox table
// (docs/adapters.md).
#include "adapters/pg_outbox/pg_outbox.h"

int main(int argc, char** argv) {
  return hub::adapters::AdapterMain<hub::adapters::PgOutbox>(argc, argv, "pg_outbox");
}
