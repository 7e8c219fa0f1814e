// PgStore's inspection: a message's state on every subscription, browsing
// a topic or a subscription, and redriving dead letters. Nothing here takes
// a lease or counts an attempt.
#include <algorithm>
#include <limits>
#include <map>
#include <set>

#include <pqxx/nontransaction>
#include <pqxx/transaction>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "hub/filter.h"
#include "hub/pg/pg_store.h"
#include "hub/pg/pg_values.h"
#include "hub/pg/segment_reads.h"
#include "hub/pg/statements.h"
#include "hub/validation.h"

namespace hub::pg {
namespace {

// Positions one page of waiting messages scans at most past the cursor: a
// filter that matches little cannot make a page read the whole backlog.
constexpr int64_t kMaxWaitingScan = Limits::kMaxBrowseScan;
// Dead letters a redrive reads at a time.
constexpr int kRedriveChunk = 10000;

// One read-only snapshot: a message and every subscription's state as of
// one moment.
using Snapshot = pqxx::transaction<pqxx::repeatable_read, pqxx::read_only>;

absl::Time FromMicros(int64_t micros) { return absl::FromUnixMicros(micros); }

HeldLease LeaseOf(const pqxx::row& row, int column) {
  return HeldLease{row[column].as<int>(), FromMicros(row[column + 1].as<int64_t>()),
                   FromMicros(row[column + 2].as<int64_t>())};
}

// Columns 2.. of kDeadLettersAt and kDeadLettersOf.
DeadLetterRecord DeadLetterOf(const pqxx::row& row) {
  return DeadLetterRecord{row[2].as<std::string>(), absl::StrCat(row[3].as<int64_t>()),
                          row[4].as<std::string>(), row[5].as<int>(),
                          FromMicros(row[6].as<int64_t>())};
}

// A message retention removed: known by its id only.
Message Removed(int64_t position) {
  Message m;
  m.message_id = absl::StrCat(position);
  return m;
}

}  // namespace

absl::StatusOr<StoredMessage> PgStore::GetMessage(absl::string_view topic, int64_t position) {
  StoredMessage found;
  RETURN_IF_ERROR(Run([&](Connection& conn) {
    found = StoredMessage{};
    Snapshot tx(conn);
    const pqxx::result head = Exec(tx, sql::kTopicHead, std::string(topic));
    if (head.empty()) return absl::NotFoundError(absl::StrCat("topic ", topic, " not found"));
    const int64_t topic_id = head[0][0].as<int64_t>();
    MessagesAt messages;
    ReadMessages(conn, topic_id, {position}, messages);
    if (messages.empty()) {
      return absl::NotFoundError(absl::StrCat("message ", position, " of topic ", topic,
                                              " is not stored (retention removed it, or it was "
                                              "never published)"));
    }
    found.message = std::move(messages.begin()->second);
    std::map<int64_t, MessageOnSubscription> subs;
    for (const auto& row : Exec(tx, sql::kListSubscriptions, std::string(topic), std::string(),
                                std::numeric_limits<int>::max(), true, std::string())) {
      SubscriptionRecord rec = SubscriptionFromRow(row);
      subs[rec.id].sub = std::move(rec);
    }
    std::vector<int64_t> ids;
    for (const auto& [id, s] : subs) ids.push_back(id);
    const std::string id_array = IntArray(ids);
    for (const auto& row : Exec(tx, sql::kCursorsOf, id_array)) {
      subs[row[0].as<int64_t>()].cursor = row[1].as<int64_t>();
    }
    for (const auto& row : Exec(tx, sql::kLeasesHolding, id_array, position)) {
      subs[row[0].as<int64_t>()].lease = LeaseOf(row, 1);
    }
    for (const auto& row : Exec(tx, sql::kDeadLettersAt, id_array, position)) {
      subs[row[0].as<int64_t>()].dead_letter = DeadLetterOf(row);
    }
    // Name order, as listed.
    for (auto& [id, s] : subs) found.subscriptions.push_back(std::move(s));
    std::sort(found.subscriptions.begin(), found.subscriptions.end(),
              [](const MessageOnSubscription& a, const MessageOnSubscription& b) {
                return a.sub.config.name < b.sub.config.name;
              });
    tx.commit();
    return absl::OkStatus();
  }));
  return found;
}

absl::StatusOr<Store::TopicWindow> PgStore::ReadTopic(absl::string_view topic, int64_t from,
                                                      int64_t span) {
  TopicWindow window;
  RETURN_IF_ERROR(Run([&](Connection& conn) {
    window = TopicWindow{};
    Snapshot tx(conn);
    const pqxx::result head = Exec(tx, sql::kTopicHead, std::string(topic));
    if (head.empty()) return absl::NotFoundError(absl::StrCat("topic ", topic, " not found"));
    const int64_t topic_id = head[0][0].as<int64_t>();
    window.head = head[0][1].as<int64_t>();
    // Below the oldest stored message, the window starts at it.
    const int64_t oldest =
        Exec1(tx, sql::kFirstPositionSince, topic_id, absl::ToUnixMicros(absl::UnixEpoch()))[0]
            .as<int64_t>();
    from = std::max(from, oldest);
    window.end = std::min(window.head, from + span);
    MessagesAt messages;
    ReadRange(conn, topic_id, from, window.end, messages);
    for (auto& [position, m] : messages) window.messages.push_back(std::move(m));
    tx.commit();
    return absl::OkStatus();
  }));
  return window;
}

absl::StatusOr<int64_t> PgStore::PositionAt(absl::string_view topic, absl::Time time) {
  int64_t position = 0;
  RETURN_IF_ERROR(Run([&](Connection& conn) {
    pqxx::nontransaction tx(conn);
    const pqxx::result head = Exec(tx, sql::kTopicHead, std::string(topic));
    if (head.empty()) return absl::NotFoundError(absl::StrCat("topic ", topic, " not found"));
    position =
        Exec1(tx, sql::kFirstPositionSince, head[0][0].as<int64_t>(), absl::ToUnixMicros(time))[0]
            .as<int64_t>();
    return absl::OkStatus();
  }));
  return position;
}

absl::StatusOr<Store::InspectPage> PgStore::InspectSubscription(const SubscriptionRecord& sub,
                                                                MessageState state, int64_t after,
                                                                int limit) {
  InspectPage page;
  RETURN_IF_ERROR(Run([&](Connection& conn) {
    page = InspectPage{};
    Snapshot tx(conn);
    const pqxx::result cursor = Exec(tx, sql::kCursorsOf, IntArray(std::vector<int64_t>{sub.id}));
    if (cursor.empty()) {
      return absl::NotFoundError(absl::StrCat("subscription ", sub.config.name, " not found"));
    }
    // By position: what a lease holds, or a dead letter.
    std::map<int64_t, InspectedMessage> picked;
    if (state == MessageState::kDeadLettered) {
      for (const auto& row : Exec(tx, sql::kDeadLettersOf, sub.id, after, limit + 1)) {
        picked[row[1].as<int64_t>()].dead_letter = DeadLetterOf(row);
      }
    } else {
      // In flight: rows whose lease runs. Waiting: rows due again (their
      // lease ran out or was given back), then the backlog past the cursor.
      for (const auto& row : Exec(tx, sql::kLeasesOf, sub.id, state == MessageState::kInFlight)) {
        for (const int64_t p : ParseIntArray(row[0].c_str())) {
          if (p > after) picked[p].lease = LeaseOf(row, 1);
        }
      }
    }
    if (static_cast<int>(picked.size()) > limit) {
      while (static_cast<int>(picked.size()) > limit) picked.erase(std::prev(picked.end()));
      page.next_after = picked.rbegin()->first;
    }
    std::vector<int64_t> positions;
    for (const auto& [p, m] : picked) positions.push_back(p);
    MessagesAt messages;
    ReadMessages(conn, sub.topic_id, positions, messages);
    if (state == MessageState::kWaiting && static_cast<int>(picked.size()) < limit) {
      // Leased positions lie behind the cursor; the backlog is at and after
      // it, up to the topic's head.
      const int64_t from = std::max(cursor[0][1].as<int64_t>(), after + 1);
      const pqxx::result head = Exec(tx, sql::kTopicHead, sub.config.topic);
      const int64_t head_position = head.empty() ? from : head[0][1].as<int64_t>();
      const int64_t to = std::min(head_position, from + kMaxWaitingScan);
      if (to < head_position) page.next_after = to - 1;
      MessagesAt backlog;
      ReadRange(conn, sub.topic_id, from, to, backlog);
      for (auto& [p, m] : backlog) {
        if (!sub.filter->Matches(m.attributes)) continue;
        picked[p];
        messages.emplace(p, std::move(m));
        if (static_cast<int>(picked.size()) == limit) {
          if (p + 1 < head_position) page.next_after = p;
          break;
        }
      }
    }
    for (auto& [p, inspected] : picked) {
      auto it = messages.find(p);
      inspected.message = it != messages.end() ? std::move(it->second) : Removed(p);
      page.messages.push_back(std::move(inspected));
    }
    tx.commit();
    return absl::OkStatus();
  }));
  return page;
}

absl::StatusOr<RedriveResult> PgStore::Redrive(const SubscriptionRecord& sub,
                                               const RedriveSelection& selection, int limit) {
  RedriveResult result;
  RETURN_IF_ERROR(Run([&](Connection& conn) {
    result = RedriveResult{};
    pqxx::work tx(conn);
    const std::optional<std::string> named =
        selection.all || selection.filter
            ? std::nullopt
            : std::optional<std::string>(IntArray(selection.positions));
    // Oldest first, a chunk at a time, until `limit` are taken: a filter
    // that matches few looks at every dead letter of the subscription.
    std::vector<int64_t> taken;
    int64_t after = -1;
    for (;;) {
      std::vector<int64_t> chunk;
      for (const auto& row : Exec(tx, sql::kLockDeadLetters, sub.id, named, kRedriveChunk, after)) {
        chunk.push_back(row[0].as<int64_t>());
      }
      if (chunk.empty()) break;
      after = chunk.back();
      MessagesAt messages;
      ReadMessages(conn, sub.topic_id, chunk, messages);
      for (auto& [position, m] : messages) {
        if (selection.filter && !selection.filter->Matches(m.attributes)) continue;
        if (static_cast<int>(taken.size()) == limit) {
          result.more = true;
          break;
        }
        taken.push_back(position);
      }
      if (result.more || chunk.size() < static_cast<size_t>(kRedriveChunk)) break;
    }
    if (taken.empty()) return absl::OkStatus();
    const std::string taken_array = IntArray(taken);
    Exec(tx, sql::kDeleteDeadLetters, sub.id, taken_array);
    Exec(tx, sql::kInsertDueLease, sub.id, taken_array, std::string());
    tx.commit();
    for (const int64_t p : taken) result.message_ids.push_back(absl::StrCat(p));
    FoundDue(sub.id, true);  // the new row is due now
    return absl::OkStatus();
  }));
  return result;
}

}  // namespace hub::pg
