#include "bench/pg_brokers.h"

#include <exception>
#include <vector>

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"

namespace hub::bench {
namespace {

constexpr int kReadBatch = 100;
// pgmq's visibility timeout for a read that is not deleted in time.
constexpr int kVisibilitySeconds = 30;

template <typename Fn>
absl::Status Guard(Fn fn) {
  try {
    fn();
    return absl::OkStatus();
  } catch (const std::exception& e) {
    return absl::UnavailableError(e.what());
  }
}

// pqxx 6.4 has no binary array parameters: a batch's payloads travel as one
// bytea with offsets and lengths, sliced by the statement (the hub's own
// write path does the same).
struct Slices {
  std::string blob;
  std::string offsets;
  std::string lengths;
};

Slices Slice(const std::vector<std::string>& payloads) {
  Slices s;
  std::vector<std::string> offsets, lengths;
  for (const std::string& p : payloads) {
    offsets.push_back(absl::StrCat(s.blob.size() + 1));
    lengths.push_back(absl::StrCat(p.size()));
    s.blob += p;
  }
  s.offsets = absl::StrCat("{", absl::StrJoin(offsets, ","), "}");
  s.lengths = absl::StrCat("{", absl::StrJoin(lengths, ","), "}");
  return s;
}

std::string QueueTable(const std::string& name, int index) {
  return absl::StrCat("q_", name, "_", index);
}

class RawProducer final : public Producer {
 public:
  RawProducer(const std::string& url, const std::string& table, RawPostgres::Rows rows)
      : conn_(url), rows_(rows) {
    conn_.prepare("insert", rows == RawPostgres::Rows::kPerMessage
                                ? absl::StrCat("INSERT INTO ", table,
                                               " (topic_id, position, publish_time, data, "
                                               "attributes, ordering_key, idempotency_key) "
                                               "SELECT 1, nextval('",
                                               table,
                                               "_position'), clock_timestamp(), "
                                               "substring($1::bytea FROM o FOR l), NULL, '', '' "
                                               "FROM unnest($2::int[], $3::int[]) AS q (o, l)")
                                : absl::StrCat("INSERT INTO ", table,
                                               " (topic_id, first_position, publish_time, data) "
                                               "SELECT 1, nextval('",
                                               table, "_position'), clock_timestamp(), $1::bytea"));
  }
  absl::Status Publish(const std::vector<std::string>& payloads) override {
    return Guard([&] {
      const Slices s = Slice(payloads);
      pqxx::work tx(conn_);
      const pqxx::binarystring blob(s.blob.data(), s.blob.size());
      if (rows_ == RawPostgres::Rows::kPerMessage) {
        tx.exec_prepared("insert", blob, s.offsets, s.lengths);
      } else {
        tx.exec_prepared("insert", blob);
      }
      tx.commit();
    });
  }

 private:
  pqxx::connection conn_;
  const RawPostgres::Rows rows_;
};

class QueueProducer final : public Producer {
 public:
  QueueProducer(const std::string& url, const std::string& name, int subscriptions)
      : conn_(url), subscriptions_(subscriptions) {
    for (int i = 0; i < subscriptions; ++i) {
      conn_.prepare(absl::StrCat("send", i),
                    absl::StrCat("INSERT INTO ", QueueTable(name, i),
                                 " (message) SELECT substring($1::bytea FROM o FOR l) "
                                 "FROM unnest($2::int[], $3::int[]) AS q (o, l)"));
    }
  }
  absl::Status Publish(const std::vector<std::string>& payloads) override {
    return Guard([&] {
      const Slices s = Slice(payloads);
      pqxx::work tx(conn_);
      for (int i = 0; i < subscriptions_; ++i) {
        tx.exec_prepared(absl::StrCat("send", i), pqxx::binarystring(s.blob.data(), s.blob.size()),
                         s.offsets, s.lengths);
      }
      tx.commit();
    });
  }

 private:
  pqxx::connection conn_;
  const int subscriptions_;
};

class QueueConsumer final : public Consumer {
 public:
  QueueConsumer(const std::string& url, const std::string& table) : conn_(url) {
    conn_.prepare("read", absl::StrCat("WITH cte AS (SELECT msg_id FROM ", table,
                                       " WHERE vt <= clock_timestamp() ORDER BY msg_id LIMIT $1 "
                                       "FOR UPDATE SKIP LOCKED) "
                                       "UPDATE ",
                                       table, " m SET vt = clock_timestamp() + interval '",
                                       kVisibilitySeconds,
                                       " seconds', read_ct = read_ct + 1 "
                                       "FROM cte WHERE m.msg_id = cte.msg_id "
                                       "RETURNING m.msg_id, m.message"));
    conn_.prepare("delete",
                  absl::StrCat("DELETE FROM ", table, " WHERE msg_id = ANY ($1::bigint[])"));
  }

  absl::Status Run(const std::atomic<bool>& stop,
                   const std::function<void(absl::string_view)>& on_message) override {
    return Guard([&] {
      while (!stop.load()) {
        std::vector<std::string> ids;
        {
          pqxx::nontransaction tx(conn_);
          for (const auto& row : tx.exec_prepared("read", kReadBatch)) {
            ids.push_back(row[0].c_str());
            const pqxx::binarystring data(row[1]);
            on_message(absl::string_view(data.get(), data.size()));
          }
        }
        if (ids.empty()) {
          // pgmq's read_with_poll looks again after a short sleep.
          absl::SleepFor(absl::Milliseconds(5));
          continue;
        }
        pqxx::nontransaction tx(conn_);
        tx.exec_prepared("delete", absl::StrCat("{", absl::StrJoin(ids, ","), "}"));
      }
    });
  }

 private:
  pqxx::connection conn_;
};

}  // namespace

absl::StatusOr<absl::Duration> SettlePostgres(const std::string& url, absl::Duration limit) {
  const absl::Time start = absl::Now();
  absl::Status s = Guard([&] {
    pqxx::connection conn(url);
    for (;;) {
      pqxx::nontransaction tx(conn);
      const int vacuums =
          tx.exec1(
                "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'")[0]
              .as<int>();
      if (vacuums == 0 || absl::Now() - start > limit) break;
      absl::SleepFor(absl::Milliseconds(200));
    }
    pqxx::nontransaction(conn).exec("CHECKPOINT");
  });
  if (!s.ok()) return s;
  return absl::Now() - start;
}

absl::Status DropBaselineTables(const std::string& url) {
  return Guard([&] {
    pqxx::connection conn(url);
    pqxx::work tx(conn);
    for (const auto& row :
         tx.exec("SELECT format('DROP %s IF EXISTS %I.%I', CASE c.relkind WHEN 'S' THEN "
                 "'SEQUENCE' ELSE 'TABLE' END, n.nspname, c.relname) FROM pg_class c "
                 "JOIN pg_namespace n ON n.oid = c.relnamespace "
                 "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'S') "
                 "ORDER BY c.relkind = 'S'")) {
      // IF EXISTS: a table's own sequences go with it.
      tx.exec(row[0].as<std::string>());
    }
    tx.commit();
  });
}

absl::Status RawPostgres::Prepare(const std::string& name, int) {
  table_ = absl::StrCat("m_", name);
  return Guard([&] {
    pqxx::connection conn(url_);
    pqxx::work tx(conn);
    tx.exec(absl::StrCat("DROP TABLE IF EXISTS ", table_));
    tx.exec(absl::StrCat("DROP SEQUENCE IF EXISTS ", table_, "_position"));
    tx.exec(absl::StrCat("CREATE SEQUENCE ", table_, "_position"));
    if (rows_ == Rows::kPerMessage) {
      // The hub's first message row and index (migrations/0001_baseline.sql).
      tx.exec(absl::StrCat(
          "CREATE TABLE ", table_,
          " (topic_id bigint NOT NULL, position bigint NOT NULL, "
          "publish_time timestamptz NOT NULL, data bytea NOT NULL, attributes jsonb, "
          "ordering_key text NOT NULL DEFAULT '', idempotency_key text NOT NULL DEFAULT '')"));
      tx.exec(absl::StrCat("CREATE INDEX ON ", table_, " (topic_id, position)"));
    } else {
      // A batch's payloads as one value, stored as segments.records is
      // (migrations/0012_segments.sql).
      tx.exec(absl::StrCat("CREATE TABLE ", table_,
                           " (topic_id bigint NOT NULL, first_position bigint NOT NULL, "
                           "publish_time timestamptz NOT NULL, data bytea NOT NULL)"));
      tx.exec(absl::StrCat("ALTER TABLE ", table_, " ALTER COLUMN data SET STORAGE EXTERNAL"));
      tx.exec(absl::StrCat("CREATE INDEX ON ", table_, " (topic_id, first_position)"));
    }
    tx.commit();
  });
}

std::unique_ptr<Producer> RawPostgres::NewProducer() {
  return std::make_unique<RawProducer>(url_, table_, rows_);
}

absl::Status SkipLockedQueue::Prepare(const std::string& name, int subscriptions) {
  name_ = name;
  subscriptions_ = subscriptions;
  return Guard([&] {
    pqxx::connection conn(url_);
    pqxx::work tx(conn);
    for (int i = 0; i < subscriptions; ++i) {
      const std::string table = QueueTable(name, i);
      tx.exec(absl::StrCat("DROP TABLE IF EXISTS ", table));
      // pgmq's queue table and its visibility index.
      tx.exec(absl::StrCat("CREATE TABLE ", table,
                           " (msg_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
                           "read_ct int NOT NULL DEFAULT 0, "
                           "enqueued_at timestamptz NOT NULL DEFAULT now(), "
                           "vt timestamptz NOT NULL DEFAULT clock_timestamp(), "
                           "message bytea)"));
      tx.exec(absl::StrCat("CREATE INDEX ON ", table, " (vt)"));
    }
    tx.commit();
  });
}

std::unique_ptr<Producer> SkipLockedQueue::NewProducer() {
  return std::make_unique<QueueProducer>(url_, name_, subscriptions_);
}

std::unique_ptr<Consumer> SkipLockedQueue::NewConsumer(int index) {
  return std::make_unique<QueueConsumer>(url_, QueueTable(name_, index));
}

}  // namespace hub::bench
