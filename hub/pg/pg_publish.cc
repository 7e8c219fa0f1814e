// PgStore's publishing: a call's messages packed into segments and stored
// by one statement (migrations/0012_segments.sql; docs/design.md,
// "Publish", "Segments" and "Producers").
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "hub/pg/connection.h"
#include "hub/pg/pg_store.h"
#include "hub/pg/pg_values.h"
#include "hub/pg/segment_codec.h"
#include "hub/pg/statements.h"
#include "hub/validation.h"

namespace hub::pg {
namespace {

// A message of the call: its item and its index there.
struct Slot {
  size_t item;
  size_t index;
};

// What a message of the call still needs.
enum class Fate {
  // To be stored (or found to be a duplicate) by the next statement.
  kPending,
  // Its result is set.
  kDone,
  // Its key was used earlier in the same call: it is a duplicate of that
  // message, answered once that one is (never sent).
  kRepeat,
};

// The arguments of one kPublish and where each part came from.
struct Request {
  ArrayLiteral topics, lengths, counts, sizes;
  ArrayLiteral key_segments, key_indexes, keys;
  ArrayLiteral batch_segments, batch_indexes, producers, sequences, batch_counts;
  std::string records;
  std::vector<std::vector<Slot>> segments;
  std::vector<Slot> keyed;
  std::vector<size_t> batches;  // the item of each batch
};

class PublishCall {
 public:
  explicit PublishCall(absl::Span<PublishItem* const> items) : items_(items) {
    fates_.resize(items.size());
    for (size_t i = 0; i < items.size(); ++i) {
      PublishItem& item = *items[i];
      item.status = absl::OkStatus();
      item.topic_id = 0;
      item.results.assign(item.messages.size(), PublishResult{});
      fates_[i].assign(item.messages.size(), Fate::kPending);
    }
    FindRepeats();
  }

  // Runs kPublish until a run stores what is left: a run that finds keys or
  // batches committed before stores nothing and answers them, and the next
  // one leaves them out.
  void Run(Connection& conn) {
    // Each run that stores nothing answers at least one message or batch.
    size_t runs_left = 2;
    for (const PublishItem* item : items_) runs_left += item->messages.size();
    for (;;) {
      Request request = Build();
      if (request.segments.empty()) break;
      if (runs_left-- == 0) throw std::logic_error("publish found the same duplicates again");
      const std::string topics = std::move(request.topics).Finish(),
                        lengths = std::move(request.lengths).Finish(),
                        counts = std::move(request.counts).Finish(),
                        sizes = std::move(request.sizes).Finish(),
                        key_segments = std::move(request.key_segments).Finish(),
                        key_indexes = std::move(request.key_indexes).Finish(),
                        keys = std::move(request.keys).Finish(),
                        batch_segments = std::move(request.batch_segments).Finish(),
                        batch_indexes = std::move(request.batch_indexes).Finish(),
                        producers = std::move(request.producers).Finish(),
                        sequences = std::move(request.sequences).Finish(),
                        batch_counts = std::move(request.batch_counts).Finish();
      const BinaryResult rows =
          ExecBinary(conn, sql::kPublish,
                     {Param::Text(topics), Param::Binary(request.records), Param::Text(lengths),
                      Param::Text(counts), Param::Text(sizes), Param::Text(key_segments),
                      Param::Text(key_indexes), Param::Text(keys), Param::Text(batch_segments),
                      Param::Text(batch_indexes), Param::Text(producers), Param::Text(sequences),
                      Param::Text(batch_counts)});
      if (Stored(rows, request)) break;
    }
    AnswerRepeats();
  }

 private:
  Message& MessageAt(Slot s) { return items_[s.item]->messages[s.index]; }
  PublishResult& ResultAt(Slot s) { return items_[s.item]->results[s.index]; }
  bool Open(size_t item) const { return items_[item]->status.ok() && !copy_of_.count(item); }

  // Keys and producer batches used twice within the call: the second use
  // is a duplicate of the first, which needs no database to tell.
  void FindRepeats() {
    absl::flat_hash_map<std::pair<absl::string_view, absl::string_view>, Slot> first_key;
    std::map<std::pair<absl::string_view, absl::string_view>, std::vector<size_t>> batches;
    for (size_t i = 0; i < items_.size(); ++i) {
      const PublishItem& item = *items_[i];
      if (!item.batch.producer.empty()) {
        std::vector<size_t>& same = batches[{item.topic, item.batch.producer}];
        for (size_t other : same) {
          const PublishItem& o = *items_[other];
          if (o.batch.first_sequence == item.batch.first_sequence &&
              o.messages.size() == item.messages.size()) {
            copy_of_[i] = other;
          } else if (Overlap(o, item)) {
            Refuse(i, "overlaps another batch of the producer in flight");
          }
        }
        if (!copy_of_.count(i)) same.push_back(i);
      }
      if (!Open(i)) continue;
      for (size_t j = 0; j < item.messages.size(); ++j) {
        const std::string& key = item.messages[j].idempotency_key;
        if (key.empty()) continue;
        auto [it, inserted] = first_key.try_emplace({item.topic, key}, Slot{i, j});
        if (!inserted) {
          fates_[i][j] = Fate::kRepeat;
          repeats_.emplace_back(Slot{i, j}, it->second);
        }
      }
    }
  }

  static bool Overlap(const PublishItem& a, const PublishItem& b) {
    const int64_t a_end = a.batch.first_sequence + static_cast<int64_t>(a.messages.size());
    const int64_t b_end = b.batch.first_sequence + static_cast<int64_t>(b.messages.size());
    return a.batch.first_sequence < b_end && b.batch.first_sequence < a_end;
  }

  void Refuse(size_t item, absl::string_view why) {
    PublishItem& i = *items_[item];
    i.status = absl::FailedPreconditionError(absl::StrCat(
        "producer ", Quoted(i.batch.producer), " batch of sequence numbers ",
        i.batch.first_sequence, "..",
        i.batch.first_sequence + static_cast<int64_t>(i.messages.size()) - 1, " ", why));
    i.results.clear();
  }

  // The pending messages, by topic in order of first appearance and then in
  // call order, cut into segments of at most kMaxSegmentMessages.
  Request Build() {
    Request r;
    std::vector<absl::string_view> order;
    std::map<absl::string_view, std::vector<Slot>> by_topic;
    for (size_t i = 0; i < items_.size(); ++i) {
      if (!Open(i)) continue;
      for (size_t j = 0; j < fates_[i].size(); ++j) {
        if (fates_[i][j] != Fate::kPending) continue;
        auto [it, inserted] = by_topic.try_emplace(items_[i]->topic);
        if (inserted) order.push_back(items_[i]->topic);
        it->second.push_back(Slot{i, j});
      }
    }
    std::map<size_t, std::pair<size_t, size_t>> batch_starts;  // item -> (segment, index)
    for (absl::string_view topic : order) {
      const std::vector<Slot>& slots = by_topic[topic];
      for (size_t from = 0; from < slots.size(); from += kMaxSegmentMessages) {
        const size_t to = std::min(slots.size(), from + kMaxSegmentMessages);
        const size_t segment = r.segments.size() + 1;
        const size_t before = r.records.size();
        for (size_t k = from; k < to; ++k) {
          const Slot s = slots[k];
          const Message& m = MessageAt(s);
          AppendRecord(m, r.records);
          r.sizes.AddInt(static_cast<int64_t>(m.data.size()));
          if (!m.idempotency_key.empty()) {
            r.key_segments.AddInt(static_cast<int64_t>(segment));
            r.key_indexes.AddInt(static_cast<int64_t>(k - from));
            r.keys.AddText(m.idempotency_key);
            r.keyed.push_back(s);
          }
          if (!items_[s.item]->batch.producer.empty()) {
            batch_starts.try_emplace(s.item, segment, k - from);
          }
        }
        r.topics.AddText(topic);
        r.lengths.AddInt(static_cast<int64_t>(r.records.size() - before));
        r.counts.AddInt(static_cast<int64_t>(to - from));
        r.segments.emplace_back(slots.begin() + static_cast<ptrdiff_t>(from),
                                slots.begin() + static_cast<ptrdiff_t>(to));
      }
    }
    for (const auto& [item, start] : batch_starts) {
      const PublishItem& i = *items_[item];
      r.batch_segments.AddInt(static_cast<int64_t>(start.first));
      r.batch_indexes.AddInt(static_cast<int64_t>(start.second));
      r.producers.AddText(i.batch.producer);
      r.sequences.AddInt(i.batch.first_sequence);
      r.batch_counts.AddInt(static_cast<int64_t>(i.messages.size()));
      r.batches.push_back(item);
    }
    return r;
  }

  // Applies one run's rows; true when the run stored the request.
  bool Stored(const BinaryResult& rows, const Request& r) {
    // Per segment stored: its topic and first position.
    std::vector<std::optional<std::pair<int64_t, int64_t>>> stored(r.segments.size());
    std::vector<std::pair<size_t, std::optional<int64_t>>> batches;  // item, original
    std::vector<size_t> refused;  // overlapping a committed batch
    bool found = false;
    for (int row = 0; row < rows.size(); ++row) {
      const absl::string_view kind = rows.Bytes(row, 0);
      const size_t ordinal = static_cast<size_t>(rows.Int32(row, 1)) - 1;
      const int64_t topic_id = rows.Int64(row, 2);
      if (kind == "s") {
        stored.at(ordinal) = std::pair(topic_id, rows.Int64(row, 3));
        continue;
      }
      found = true;
      if (kind == "k") {
        const Slot s = r.keyed.at(ordinal);
        items_[s.item]->topic_id = topic_id;
        ResultAt(s) = PublishResult{absl::StrCat(rows.Int64(row, 3)), true};
        fates_[s.item][s.index] = Fate::kDone;
        continue;
      }
      const size_t item = r.batches.at(ordinal);
      items_[item]->topic_id = topic_id;
      if (rows.Bytes(row, 4) == "duplicate") {
        batches.emplace_back(item, rows.Int64(row, 3));
      } else {
        refused.push_back(item);
      }
    }
    if (!found) {
      for (size_t g = 0; g < r.segments.size(); ++g) {
        for (size_t k = 0; k < r.segments[g].size(); ++k) {
          const Slot s = r.segments[g][k];
          if (!stored[g]) {
            items_[s.item]->status =
                absl::NotFoundError(absl::StrCat("topic ", items_[s.item]->topic, " not found"));
            continue;
          }
          items_[s.item]->topic_id = stored[g]->first;
          ResultAt(s) =
              PublishResult{absl::StrCat(stored[g]->second + static_cast<int64_t>(k)), false};
          fates_[s.item][s.index] = Fate::kDone;
        }
      }
      for (PublishItem* item : items_) {
        if (!item->status.ok()) item->results.clear();
      }
      return true;
    }
    // Keys first: a batch found again answers its keyed messages by them.
    for (const auto& [item, original] : batches) AnswerBatch(item, *original);
    for (const size_t item : refused) {
      Refuse(item, "overlaps another batch the producer committed");
    }
    return false;
  }

  // A producer batch committed before at `original`: its messages were
  // stored at original, original + 1, ... in order, but for those whose
  // keys were used before it, which kept their own positions.
  void AnswerBatch(size_t item, int64_t original) {
    int64_t next = original;
    for (size_t j = 0; j < fates_[item].size(); ++j) {
      PublishResult& result = items_[item]->results[j];
      switch (fates_[item][j]) {
        case Fate::kRepeat:
          continue;
        case Fate::kDone:
          // A key found: its position is the batch's next one when the
          // batch stored it.
          if (result.message_id == absl::StrCat(next)) ++next;
          continue;
        case Fate::kPending:
          result = PublishResult{absl::StrCat(next++), true};
          fates_[item][j] = Fate::kDone;
          continue;
      }
    }
  }

  void AnswerRepeats() {
    for (const auto& [repeat, first] : repeats_) {
      PublishItem& item = *items_[repeat.item];
      if (!item.status.ok() || item.results.empty()) continue;
      const PublishItem& of = *items_[first.item];
      if (!of.status.ok()) {
        item.status = of.status;
        item.results.clear();
        continue;
      }
      item.results[repeat.index] = PublishResult{of.results[first.index].message_id, true};
    }
    for (const auto& [copy, of] : copy_of_) {
      PublishItem& item = *items_[copy];
      item.status = items_[of]->status;
      item.topic_id = items_[of]->topic_id;
      item.results = items_[of]->results;
      for (PublishResult& result : item.results) result.duplicate = true;
    }
  }

  absl::Span<PublishItem* const> items_;
  std::vector<std::vector<Fate>> fates_;
  std::vector<std::pair<Slot, Slot>> repeats_;  // a repeat, and the first use
  std::map<size_t, size_t> copy_of_;            // an item, and the same batch before it
};

}  // namespace

void PgStore::WriteMessages(Connection& conn, absl::Span<PublishItem* const> items) {
  PublishCall(items).Run(conn);
}

}  // namespace hub::pg
