#include "hub/pg/pg_probe.h"

#include <string>

namespace hub::pg {
namespace {

const prometheus::Histogram::BucketBoundaries kSeconds = {
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5};

const char* PoolName(bool relaxed) { return relaxed ? "relaxed" : "durable"; }

}  // namespace

PgProbe::PgProbe(prometheus::Registry& registry)
    : errors_(prometheus::BuildCounter()
                  .Name("hub_database_errors_total")
                  .Help("PostgreSQL errors by kind (connection, conflict, ...)")
                  .Register(registry)),
      transactions_(prometheus::BuildHistogram()
                        .Name("hub_database_transaction_duration_seconds")
                        .Help("Time a statement or transaction held its connection")
                        .Register(registry)
                        .Add({}, kSeconds)),
      connections_(prometheus::BuildGauge()
                       .Name("hub_database_pool_connections")
                       .Help("Connections of a pool (durable or relaxed commits) by state")
                       .Register(registry)),
      waiting_(prometheus::BuildGauge()
                   .Name("hub_database_pool_waiting")
                   .Help("Callers waiting for a connection of a pool")
                   .Register(registry)),
      dead_lettered_(prometheus::BuildCounter()
                         .Name("hub_dead_lettered_messages_total")
                         .Help("Messages that left a subscription for its dead-letter topic "
                               "(dropped without one), by reason")
                         .Register(registry)) {
  // Every kind from the start, so that a rate over it exists before the
  // first error (kOther is the last kind).
  for (int k = 0; k <= static_cast<int>(DbErrorKind::kOther); ++k) {
    errors_.Add({{"kind", std::string(DbErrorKindName(static_cast<DbErrorKind>(k)))}});
  }
  for (bool relaxed : {false, true}) Pool(relaxed, 0, 0, 0);
}

void PgProbe::Error(DbErrorKind kind) {
  errors_.Add({{"kind", std::string(DbErrorKindName(kind))}}).Increment();
}

void PgProbe::Transaction(absl::Duration took) {
  transactions_.Observe(absl::ToDoubleSeconds(took));
}

void PgProbe::Pool(bool relaxed, int in_use, int open, int waiting) {
  connections_.Add({{"pool", PoolName(relaxed)}, {"state", "in_use"}}).Set(in_use);
  connections_.Add({{"pool", PoolName(relaxed)}, {"state", "idle"}}).Set(open - in_use);
  waiting_.Add({{"pool", PoolName(relaxed)}}).Set(waiting);
}

void PgProbe::DeadLettered(absl::string_view subscription, absl::string_view reason,
                           int64_t count) {
  dead_lettered_.Add({{"subscription", std::string(subscription)}, {"reason", std::string(reason)}})
      .Increment(static_cast<double>(count));
}

}  // namespace hub::pg
