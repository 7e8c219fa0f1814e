#ifndef HUB_PG_LEASE_WRITES_H_
#define HUB_PG_LEASE_WRITES_H_

#include <cstdint>
#include <map>
#include <vector>

#include <pqxx/row>
#include <pqxx/transaction_base>

#include "absl/types/span.h"
#include "hub/lease_rules.h"
#include "hub/pg/connection.h"
#include "hub/pg/segment_reads.h"
#include "hub/types.h"

// What the delivery half of PgStore shares: lease rows read and written as
// the rules of hub/lease_rules.h see them, and deliveries made of them.
namespace hub::pg {

// Columns of kLockAvailableLeases, and of kLockLeases with `valid` last.
LeaseRow LeaseFromRow(const pqxx::row& row);

// Writes `changes` of the subscription's rows (dead letters excepted);
// returns the ids of the inserted rows, in the order of changes.inserts.
std::vector<int64_t> WriteLeaseChanges(pqxx::transaction_base& tx, int64_t subscription_id,
                                       const LeaseChanges& changes);

// Makes one delivery per leased position, in position order, skipping
// messages that retention already removed: their messages are taken from
// `read` (what the claim read already) or read from the segments.
// `inserted` are the ids WriteLeaseChanges returned for the same plan.
std::vector<Delivery> Deliver(Connection& conn, int64_t topic_id, std::vector<Leased> leased,
                              absl::Span<const int64_t> inserted, MessagesAt read = {});

}  // namespace hub::pg

#endif  // HUB_PG_LEASE_WRITES_H_
