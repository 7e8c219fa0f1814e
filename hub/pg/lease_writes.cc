#include "hub/pg/lease_writes.h"

#include <algorithm>

#include "hub/ack_id.h"
#include "hub/pg/pg_values.h"
#include "hub/pg/statements.h"

namespace hub::pg {

LeaseRow LeaseFromRow(const pqxx::row& row) {
  LeaseRow l;
  l.lease_id = row[0].as<int64_t>();
  l.pending = ParseIntArray(row[1].c_str());
  l.attempt = row[2].as<int>();
  l.generation = row[3].as<int>();
  l.ordering_key = row[4].as<std::string>();
  l.last_end = row[5].as<std::string>();
  l.run_end = row[6].as<int64_t>();
  if (row.size() > 7) l.valid = row[7].as<bool>();
  return l;
}

std::vector<int64_t> WriteLeaseChanges(pqxx::transaction_base& tx, int64_t subscription_id,
                                       const LeaseChanges& changes) {
  for (const LeaseRewrite& r : changes.rewrites) {
    Exec(tx, sql::kRewriteLease, subscription_id, r.lease_id, IntArray(r.pending), r.attempt,
         r.generation, Millis(r.hold), Millis(r.due), r.last_end, r.run_end);
  }
  for (const PendingChange& c : changes.set_pending) {
    Exec(tx, sql::kSetPending, subscription_id, c.lease_id, IntArray(c.positions));
  }
  for (const PendingChange& c : changes.append_pending) {
    Exec(tx, sql::kAppendPending, subscription_id, c.lease_id, IntArray(c.positions));
  }
  std::vector<int64_t> inserted;
  for (const LeaseInsert& i : changes.inserts) {
    inserted.push_back(Exec1(tx, sql::kInsertLease, subscription_id, IntArray(i.pending), i.attempt,
                             i.ordering_key, Millis(i.hold), Millis(i.due), i.last_end,
                             i.run_end)[0]
                           .as<int64_t>());
  }
  if (!changes.deletes.empty()) {
    Exec(tx, sql::kDeleteLeases, subscription_id, IntArray(changes.deletes));
  }
  return inserted;
}

std::vector<Delivery> Deliver(Connection& conn, int64_t topic_id, std::vector<Leased> leased,
                              absl::Span<const int64_t> inserted, MessagesAt read) {
  std::sort(leased.begin(), leased.end(),
            [](const Leased& a, const Leased& b) { return a.position < b.position; });
  std::vector<int64_t> missing;
  for (const Leased& l : leased) {
    if (read.count(l.position) == 0) missing.push_back(l.position);
  }
  ReadMessages(conn, topic_id, missing, read);
  std::vector<Delivery> out;
  for (const Leased& l : leased) {
    auto it = read.find(l.position);
    if (it == read.end()) continue;
    const int64_t lease_id = l.insert >= 0 ? inserted[static_cast<size_t>(l.insert)] : l.lease_id;
    out.push_back(Delivery{EncodeAckId(AckId{lease_id, l.generation, l.position}),
                           std::move(it->second), l.attempt});
  }
  return out;
}

}  // namespace hub::pg
