#include "hub/pg/publish_announcer.h"

#include <exception>
#include <utility>
#include <vector>

#include <pqxx/connection>
#include <pqxx/nontransaction>
#include <pqxx/notification>

#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "hub/pg/connection.h"
#include "hub/pg/pg_values.h"
#include "hub/pg/statements.h"

namespace hub::pg {
namespace {

// The channel sql::kAnnounce notifies.
constexpr char kChannel[] = "hub_publish";

class PublishReceiver final : public pqxx::notification_receiver {
 public:
  PublishReceiver(pqxx::connection_base& conn, const std::function<void(int64_t)>& on_publish,
                  const std::atomic<int>& own_pid)
      : pqxx::notification_receiver(conn, kChannel), on_publish_(on_publish), own_pid_(own_pid) {}

  void operator()(const std::string& payload, int backend_pid) override {
    if (backend_pid == own_pid_.load()) return;
    int64_t topic_id = 0;
    if (absl::SimpleAtoi(payload, &topic_id)) on_publish_(topic_id);
  }

 private:
  const std::function<void(int64_t)>& on_publish_;
  const std::atomic<int>& own_pid_;
};

}  // namespace

PublishAnnouncer::PublishAnnouncer(std::string database_url)
    : database_url_(std::move(database_url)) {}

PublishAnnouncer::~PublishAnnouncer() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (listener_.joinable()) listener_.join();
  if (announcer_.joinable()) announcer_.join();
}

void PublishAnnouncer::Watch(std::function<void(int64_t)> on_publish) {
  on_publish_ = std::move(on_publish);
  listener_ = std::thread([this] { ListenLoop(); });
  announcer_ = std::thread([this] { AnnounceLoop(); });
}

void PublishAnnouncer::Committed(absl::Span<const int64_t> topic_ids) {
  if (topic_ids.empty() || !on_publish_) return;
  for (int64_t topic_id : topic_ids) on_publish_(topic_id);
  absl::MutexLock lock(&mu_);
  pending_.insert(topic_ids.begin(), topic_ids.end());
}

bool PublishAnnouncer::PauseBeforeReconnecting() {
  for (int i = 0; i < 10 && !stopping_; ++i) absl::SleepFor(absl::Milliseconds(100));
  return !stopping_;
}

void PublishAnnouncer::ListenLoop() {
  do {
    try {
      pqxx::connection conn(database_url_);
      PublishReceiver receiver(conn, on_publish_, announcer_pid_);
      while (!stopping_) conn.await_notification(0, 200000);
    } catch (const std::exception&) {
      // Reconnects below; waiters poll meanwhile.
    }
  } while (PauseBeforeReconnecting());
}

void PublishAnnouncer::AnnounceLoop() {
  const auto announcing = [this] { return stopping_.load() || !pending_.empty(); };
  do {
    try {
      Connection conn(database_url_);
      conn.prepare(sql::kAnnounce.name, sql::kAnnounce.text);
      {
        pqxx::nontransaction session(conn);
        // The statement commits no change; the setting only keeps any
        // future one from waiting for a flush.
        session.exec(sql::kRelaxedCommit);
      }
      announcer_pid_ = conn.backendpid();
      while (true) {
        std::vector<int64_t> topics;
        {
          absl::MutexLock lock(&mu_);
          mu_.AwaitWithTimeout(absl::Condition(&announcing), absl::Milliseconds(200));
          if (stopping_) return;
          topics.assign(pending_.begin(), pending_.end());
          pending_.clear();
        }
        if (topics.empty()) continue;
        pqxx::nontransaction tx(conn);
        Exec(tx, sql::kAnnounce, IntArray(topics));
      }
    } catch (const std::exception&) {
      // What was taken is lost; the other replicas' polls cover it.
    }
    announcer_pid_ = 0;
  } while (PauseBeforeReconnecting());
}

}  // namespace hub::pg
