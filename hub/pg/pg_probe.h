#ifndef HUB_PG_PG_PROBE_H_
#define HUB_PG_PG_PROBE_H_

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "hub/pg/pg_errors.h"

namespace hub::pg {

// The PostgreSQL store's metrics: errors by kind, how long each unit of work
// held a connection, and the connection pools. PgStore calls these; nothing
// else here knows of Prometheus.
class PgProbe {
 public:
  explicit PgProbe(prometheus::Registry& registry);

  void Error(DbErrorKind kind);
  // One unit of work (a statement or a transaction) on a connection.
  void Transaction(absl::Duration took);
  // A pool's connections: busy, opened in all, callers waiting for one.
  void Pool(bool relaxed, int in_use, int open, int waiting);
  // Messages that left a subscription for its dead-letter topic (or were
  // dropped, without one), committed; `reason` is max_delivery_attempts or
  // rejected.
  void DeadLettered(absl::string_view subscription, absl::string_view reason, int64_t count);

 private:
  prometheus::Family<prometheus::Counter>& errors_;
  prometheus::Histogram& transactions_;
  prometheus::Family<prometheus::Gauge>& connections_;
  prometheus::Family<prometheus::Gauge>& waiting_;
  prometheus::Family<prometheus::Counter>& dead_lettered_;
};

}  // namespace hub::pg

#endif  // HUB_PG_PG_PROBE_H_
