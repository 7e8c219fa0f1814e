// PgStore's settling: acks, rejects, nacks, extensions, Transact and Seek.
// The verdicts and row changes are the rules of hub/lease_rules.h.
#include <set>

#include <pqxx/nontransaction>
#include <pqxx/result>
#include <pqxx/transaction>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "hub/dead_letter.h"
#include "hub/pg/lease_writes.h"
#include "hub/pg/pg_store.h"
#include "hub/pg/pg_values.h"
#include "hub/pg/statements.h"

namespace hub::pg {
namespace {

std::vector<int64_t> LeaseIdsOf(absl::Span<const AckId> ids) {
  std::set<int64_t> unique;
  for (const AckId& id : ids) unique.insert(id.lease_id);
  return std::vector<int64_t>(unique.begin(), unique.end());
}

}  // namespace

absl::Status PgStore::Acknowledge(absl::Span<const AckRef> acks) {
  if (acks.empty()) return absl::OkStatus();
  std::vector<int64_t> subs, leases, positions;
  for (const AckRef& a : acks) {
    subs.push_back(a.subscription_id);
    leases.push_back(a.id.lease_id);
    positions.push_back(a.id.position);
  }
  return Run(
      [&](Connection& conn) {
        pqxx::nontransaction tx(conn);
        Exec(tx, sql::kAcknowledge, IntArray(subs), IntArray(leases), IntArray(positions));
        return absl::OkStatus();
      },
      Commit::kRelaxed);
}

SettlePlan PgStore::SettleInTransaction(pqxx::work& tx, const SubscriptionRecord& sub,
                                        absl::Span<const AckId> ids) {
  std::map<int64_t, LeaseRow> rows;
  for (const auto& row : Exec(tx, sql::kLockLeases, sub.id, IntArray(LeaseIdsOf(ids)))) {
    LeaseRow l = LeaseFromRow(row);
    rows.emplace(l.lease_id, std::move(l));
  }
  SettlePlan plan = PlanSettle(sub.config.delivery_guarantee, rows, ids);
  WriteLeaseChanges(tx, sub.id, plan.changes);
  return plan;
}

absl::StatusOr<int64_t> PgStore::SendToDeadLetterTopic(Connection& conn,
                                                       const SubscriptionRecord& sub,
                                                       const std::vector<DeadLetter>& letters) {
  const std::string& topic = sub.config.dead_letter_policy.topic;
  if (letters.empty() || topic.empty()) return 0;
  std::vector<int64_t> positions;
  for (const DeadLetter& l : letters) positions.push_back(l.position);
  MessagesAt messages;
  ReadMessages(conn, sub.topic_id, positions, messages);
  PublishItem item{topic, {}, {}, 0, {}};
  std::vector<int64_t> sent;  // positions, in the order of item.messages
  std::vector<int32_t> attempts;
  std::vector<std::string> reasons;
  for (const DeadLetter& l : letters) {
    auto it = messages.find(l.position);
    if (it == messages.end()) continue;
    item.messages.push_back(DeadLetterMessage(it->second, sub.config.name, l.attempts, l.reason));
    sent.push_back(l.position);
    attempts.push_back(l.attempts);
    reasons.push_back(l.reason);
  }
  if (item.messages.empty()) return 0;
  PublishItem* items[] = {&item};
  WriteMessages(conn, items);
  if (!item.status.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "dead_letter_topic ", topic, " of subscription ", sub.config.name,
        " does not exist; nothing was sent to it (create the topic, or change the policy)"));
  }
  std::vector<int64_t> letter_positions;
  for (const PublishResult& r : item.results) letter_positions.push_back(std::stoll(r.message_id));
  // In the transaction open on `conn`, with the letters.
  const std::string params[] = {absl::StrCat(sub.id), absl::StrCat(item.topic_id),
                                IntArray(sent),       IntArray(letter_positions),
                                IntArray(attempts),   TextArray(reasons)};
  ExecBinary(conn, sql::kRecordDeadLetters,
             {Param::Text(params[0]), Param::Text(params[1]), Param::Text(params[2]),
              Param::Text(params[3]), Param::Text(params[4]), Param::Text(params[5])});
  return item.topic_id;
}

absl::StatusOr<std::vector<AckStatus>> PgStore::Settle(const SubscriptionRecord& sub,
                                                       absl::Span<const AckId> ids, SettleKind kind,
                                                       absl::string_view reason) {
  std::vector<AckStatus> statuses;
  int64_t rejected = 0;
  int64_t dead_letter_topic = 0;
  RETURN_IF_ERROR(Run([&](Connection& conn) {
    pqxx::work tx(conn);
    SettlePlan plan = SettleInTransaction(tx, sub, ids);
    statuses = std::move(plan.statuses);
    rejected = 0;
    dead_letter_topic = 0;
    if (kind == SettleKind::kReject) {
      for (DeadLetter& l : plan.settled) {
        l.reason = reason.empty() ? std::string(kEndRejected) : std::string(reason);
      }
      // Without its dead-letter topic a reject would drop the message: it is
      // refused, and the verdicts roll back with the transaction.
      ASSIGN_OR_RETURN(dead_letter_topic, SendToDeadLetterTopic(conn, sub, plan.settled));
      rejected = static_cast<int64_t>(plan.settled.size());
    }
    tx.commit();
    return absl::OkStatus();
  }));
  if (dead_letter_topic != 0) announcer_.Committed({dead_letter_topic});
  if (rejected > 0) probe_.DeadLettered(sub.config.name, "rejected", rejected);
  return statuses;
}

absl::StatusOr<TransactResult> PgStore::Transact(const SubscriptionRecord& sub,
                                                 absl::Span<const AckId> ids,
                                                 absl::Span<PublishItem* const> publishes) {
  TransactResult result;
  RETURN_IF_ERROR(Run([&](Connection& conn) -> absl::Status {
    pqxx::work tx(conn);
    result.ack_statuses = SettleInTransaction(tx, sub, ids).statuses;
    if (sub.config.delivery_guarantee == DeliveryGuarantee::kExactlyOnce) {
      for (AckStatus s : result.ack_statuses) {
        if (s != AckStatus::kOk) {
          return absl::AbortedError("an ack id is expired or invalid; nothing was applied");
        }
      }
    }
    WriteMessages(conn, publishes);
    for (const PublishItem* item : publishes) RETURN_IF_ERROR(item->status);
    tx.commit();
    return absl::OkStatus();
  }));
  AnnounceStored(publishes);
  return result;
}

absl::Status PgStore::Seek(const SubscriptionRecord& sub, absl::Time time) {
  return Run([&](Connection& conn) {
    pqxx::work tx(conn);
    if (Exec(tx, sql::kLockCursor, sub.id).empty()) {
      return absl::NotFoundError(absl::StrCat("subscription ", sub.config.name, " not found"));
    }
    const int64_t position =
        Exec1(tx, sql::kFirstPositionSince, sub.topic_id, absl::ToUnixMicros(time))[0]
            .as<int64_t>();
    // Everything in flight is either before the time (acknowledged now) or
    // at or after it (delivered again from the cursor).
    Exec(tx, sql::kDeleteAllLeases, sub.id);
    Exec(tx, sql::kSetCursor, sub.id, position);
    tx.commit();
    return absl::OkStatus();
  });
}

absl::Status PgStore::SeekToSnapshot(const SubscriptionRecord& sub, absl::string_view snapshot) {
  return Run([&](Connection& conn) {
    pqxx::work tx(conn);
    if (Exec(tx, sql::kLockCursor, sub.id).empty()) {
      return absl::NotFoundError(absl::StrCat("subscription ", sub.config.name, " not found"));
    }
    const pqxx::result found = Exec(tx, sql::kGetSnapshot, std::string(snapshot));
    if (found.empty())
      return absl::NotFoundError(absl::StrCat("snapshot ", snapshot, " not found"));
    if (found[0][5].as<int64_t>() != sub.topic_id) {
      return absl::FailedPreconditionError(
          absl::StrCat("snapshot ", snapshot, " is of topic ", found[0][1].as<std::string>(),
                       ", not of the subscription's topic ", sub.config.topic));
    }
    Exec(tx, sql::kDeleteAllLeases, sub.id);
    Exec(tx, sql::kSetCursor, sub.id, found[0][6].as<int64_t>());
    Exec(tx, sql::kRestoreSnapshotLeases, sub.id, found[0][4].as<int64_t>());
    tx.commit();
    FoundDue(sub.id, true);  // the restored rows are due now
    return absl::OkStatus();
  });
}

absl::Status PgStore::Nack(const SubscriptionRecord& sub, absl::Span<const AckId> ids) {
  const std::vector<int64_t> lease_ids = LeaseIdsOf(ids);
  return Run(
      [&](Connection& conn) {
        pqxx::work tx(conn);
        std::vector<LeaseRow> rows;
        for (const auto& row : Exec(tx, sql::kLockLeases, sub.id, IntArray(lease_ids))) {
          rows.push_back(LeaseFromRow(row));
        }
        WriteLeaseChanges(tx, sub.id, PlanNack(sub, rows, ids));
        tx.commit();
        FoundDue(sub.id, true);  // the next claim looks
        return absl::OkStatus();
      },
      Commit::kRelaxed);  // a nack lost in a crash: the lease runs out instead
}

absl::Status PgStore::ExtendLeases(const SubscriptionRecord& sub, absl::Span<const AckId> ids,
                                   absl::Duration deadline) {
  std::vector<int64_t> lease_ids;
  std::vector<int32_t> generations;
  std::vector<int64_t> positions;
  for (const AckId& id : ids) {
    lease_ids.push_back(id.lease_id);
    generations.push_back(id.generation);
    positions.push_back(id.position);
  }
  return Run(
      [&](Connection& conn) {
        pqxx::nontransaction tx(conn);
        Exec(tx, sql::kExtendLeases, sub.id, IntArray(lease_ids), IntArray(generations),
             Millis(deadline), Millis(sub.config.retry_policy.minimum_backoff),
             Millis(sub.config.retry_policy.maximum_backoff), IntArray(positions));
        return absl::OkStatus();
      },
      Commit::kRelaxed);
}

}  // namespace hub::pg
