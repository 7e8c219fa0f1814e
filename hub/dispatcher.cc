#include "hub/dispatcher.h"

#include <algorithm>

#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "hub/validation.h"

namespace hub {
namespace {

// Whether a claim may have left messages behind: it took all it was allowed
// to, by count, or stopped for bytes (more than half of them taken).
bool CameBackFull(const std::vector<Delivery>& deliveries, const Room& room) {
  if (static_cast<int>(deliveries.size()) >= room.messages) return true;
  int64_t bytes = 0;
  for (const Delivery& d : deliveries) bytes += MessageBytes(d.message);
  return bytes * 2 > room.bytes;
}

}  // namespace

Dispatcher::Dispatcher(Store& store, HubProbe& probe, WakeUpBoard& wake_ups, GiveBack give_back,
                       DispatcherOptions options)
    : store_(store),
      probe_(probe),
      wake_ups_(wake_ups),
      give_back_(std::move(give_back)),
      options_(options) {
  wake_ups_.Listen([this](int64_t topic_id) { TopicChanged(topic_id); });
  for (int i = 0; i < options_.threads; ++i) threads_.emplace_back([this] { Work(); });
}

Dispatcher::~Dispatcher() {
  Stop();
  wake_ups_.Listen(nullptr);
}

void Dispatcher::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      stopping_ = true;
      std::vector<uint64_t> live;
      for (const auto& [waiter, id] : ids_) live.push_back(id);
      for (uint64_t id : live) EndWaiter(id, absl::UnavailableError("the hub is shutting down"));
    }
  }
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
}

absl::Status Dispatcher::Add(absl::string_view subscription, Waiter* waiter, Waiting mode,
                             absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return absl::UnavailableError("the hub is shutting down");
  const std::string name(subscription);
  const uint64_t id = next_id_++;
  Subscription& sub = subs_[name];
  // A claim running now may have read before this waiter came.
  const uint64_t seen = sub.claims + (sub.claiming ? 1 : 0);
  entries_.emplace(id, Entry{waiter, name, mode, deadline, seen});
  ids_[waiter] = id;
  if (mode == Waiting::kOnce) {
    sub.pulls.push_back(id);
    deadlines_.insert({deadline, id});
  } else {
    sub.streams.push_back(id);
  }
  MarkDue(name);
  return absl::OkStatus();
}

bool Dispatcher::Remove(Waiter* waiter) {
  absl::MutexLock lock(&mu_);
  auto it = ids_.find(waiter);
  if (it == ids_.end()) return false;
  const uint64_t id = it->second;
  Detach(id, entries_.at(id));
  // A stream's Take may run on another thread; it must be over before the
  // waiter can go. (On this thread it is the Take itself that removes.)
  AwaitCall(id);
  ForgetIfUnused(id);
  return true;
}

void Dispatcher::AwaitCall(uint64_t id) {
  const Entry& entry = entries_.at(id);
  if (!entry.calling || entry.caller == std::this_thread::get_id()) return;
  // By id: the thread whose call ends may forget the entry before this one
  // wakes.
  auto over = [this, id]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto e = entries_.find(id);
    return e == entries_.end() || !e->second.calling;
  };
  mu_.Await(absl::Condition(&over));
}

void Dispatcher::Ready(Waiter* waiter) {
  absl::MutexLock lock(&mu_);
  auto it = ids_.find(waiter);
  if (it != ids_.end()) MarkDue(entries_.at(it->second).subscription);
}

std::vector<std::string> Dispatcher::Waited() {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> names;
  for (const auto& [name, sub] : subs_) {
    if (!sub.pulls.empty() || !sub.streams.empty()) names.push_back(name);
  }
  return names;
}

absl::StatusOr<SubscriptionRecord> Dispatcher::Current(absl::string_view subscription) {
  const std::string name(subscription);
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = absl::Now();
    auto it = subs_.find(name);
    if (it != subs_.end() && it->second.record &&
        now - it->second.refreshed < options_.poll_interval) {
      return *it->second.record;
    }
    auto other = others_.find(name);
    if (other != others_.end() && now - other->second.second < options_.poll_interval) {
      return other->second.first;
    }
  }
  absl::StatusOr<SubscriptionRecord> record = store_.GetSubscription(name);
  if (!record.ok()) {
    absl::MutexLock lock(&mu_);
    others_.erase(name);
    return record.status();
  }
  RETURN_IF_ERROR(ValidateAttached(*record));
  absl::MutexLock lock(&mu_);
  if (subs_.contains(name)) {
    Remember(name, *record);
  } else {
    others_[name] = {*record, absl::Now()};
  }
  return record;
}

void Dispatcher::ForgetRecords() {
  absl::MutexLock lock(&mu_);
  others_.clear();
  for (auto& [name, sub] : subs_) sub.refreshed = absl::InfinitePast();
}

void Dispatcher::TopicChanged(int64_t topic_id) {
  absl::MutexLock lock(&mu_);
  auto it = by_topic_.find(topic_id);
  if (it == by_topic_.end()) return;
  for (const std::string& name : it->second) MarkDue(name);
}

void Dispatcher::MarkDue(const std::string& name) {
  Subscription& sub = subs_.at(name);
  if (sub.claiming) {
    // What woke it may have committed after the running claim read.
    sub.woken = true;
    return;
  }
  if (!sub.queued) {
    sub.queued = true;
    due_.push_back(name);
  }
}

void Dispatcher::SchedulePoll(const std::string& name, absl::Time at) {
  Subscription& sub = subs_.at(name);
  if (sub.poll_at && *sub.poll_at <= at) return;
  if (sub.poll_at) polls_.erase({*sub.poll_at, name});
  sub.poll_at = at;
  polls_.insert({at, name});
}

bool Dispatcher::HasWork() const { return stopping_ || !due_.empty(); }

absl::Time Dispatcher::NextTimer() const {
  absl::Time next = absl::InfiniteFuture();
  if (!polls_.empty()) next = polls_.begin()->first;
  if (!deadlines_.empty()) next = std::min(next, deadlines_.begin()->first);
  return next;
}

void Dispatcher::FireTimers(absl::Time now) {
  while (!polls_.empty() && polls_.begin()->first <= now) {
    const std::string name = polls_.begin()->second;
    polls_.erase(polls_.begin());
    auto it = subs_.find(name);
    if (it == subs_.end()) continue;
    it->second.poll_at.reset();
    MarkDue(name);
  }
  std::vector<std::string> overdue;
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    overdue.push_back(entries_.at(deadlines_.begin()->second).subscription);
    deadlines_.erase(deadlines_.begin());
  }
  for (const std::string& name : overdue) ExpirePulls(name, now);
}

void Dispatcher::ExpirePulls(const std::string& name, absl::Time now) {
  auto it = subs_.find(name);
  if (it == subs_.end()) return;
  std::vector<uint64_t> expired;
  bool waiting = false;
  for (uint64_t id : it->second.pulls) {
    const Entry& e = entries_.at(id);
    if (e.deadline > now) continue;
    if (it->second.claims > e.claims_seen && !e.claiming) {
      expired.push_back(id);
    } else {
      waiting = true;  // its one claim is still to come
    }
  }
  if (waiting) MarkDue(name);
  for (uint64_t id : expired) EndWaiter(id, absl::OkStatus());
}

void Dispatcher::Work() {
  absl::MutexLock lock(&mu_);
  for (;;) {
    mu_.AwaitWithDeadline(absl::Condition(this, &Dispatcher::HasWork), NextTimer());
    if (stopping_) return;
    FireTimers(absl::Now());
    if (due_.empty()) continue;
    const std::string name = std::move(due_.front());
    due_.pop_front();
    auto it = subs_.find(name);
    if (it == subs_.end()) continue;  // its waiters left
    it->second.queued = false;
    if (it->second.claiming) {
      it->second.woken = true;
      continue;
    }
    ClaimFor(name);
  }
}

std::optional<Dispatcher::Pick> Dispatcher::PickWaiter(Subscription& sub) {
  if (!sub.pulls.empty()) {
    const uint64_t id = sub.pulls.front();
    return Pick{id, entries_.at(id).waiter->Wants()};
  }
  const size_t n = sub.streams.size();
  for (size_t i = 0; i < n; ++i) {
    const size_t at = (sub.next_stream + i) % n;
    const uint64_t id = sub.streams[at];
    const Entry& e = entries_.at(id);
    if (e.calling) {
      // One call at a time: the room it would report does not yet count
      // what its running Take hands it. The Take ending claims again.
      sub.passed_busy = true;
      continue;
    }
    Room room = e.waiter->Wants();
    if (room.messages > 0) {
      sub.next_stream = at + 1;
      return Pick{id, room};
    }
  }
  return std::nullopt;
}

void Dispatcher::ClaimFor(const std::string& name) {
  Subscription& sub = subs_.at(name);
  if (sub.pulls.empty() && sub.streams.empty()) return;
  const absl::Time now = absl::Now();
  const bool stale = !sub.record || now - sub.refreshed >= options_.poll_interval;
  const std::optional<Pick> pick = PickWaiter(sub);
  if (!pick && !stale) {
    // Every waiter is full; Ready, a wake-up or the poll brings it back.
    SchedulePoll(name, now + options_.poll_interval);
    return;
  }
  sub.claiming = true;
  sub.woken = false;
  if (pick) entries_.at(pick->id).claiming = true;
  const std::optional<SubscriptionRecord> known = sub.record;

  mu_.Unlock();
  absl::StatusOr<SubscriptionRecord> record = stale ? store_.GetSubscription(name) : *known;
  if (record.ok()) {
    // Detached meanwhile: its waiters hear so, as of a deleted one.
    if (absl::Status attached = ValidateAttached(*record); !attached.ok()) record = attached;
  }
  absl::StatusOr<std::vector<Delivery>> claimed = std::vector<Delivery>();
  if (record.ok() && pick) {
    const absl::Duration ack_deadline = pick->room.ack_deadline > absl::ZeroDuration()
                                            ? pick->room.ack_deadline
                                            : absl::Seconds(record->config.ack_deadline_seconds);
    claimed = store_.Claim(*record, pick->room.messages, pick->room.bytes, ack_deadline);
    if (claimed.ok()) probe_.Delivered(name, *claimed);
  }
  mu_.Lock();

  Subscription& after = subs_.at(name);
  after.claiming = false;
  ++after.claims;
  bool again = after.woken;
  if (pick) {
    Entry& e = entries_.at(pick->id);
    e.claiming = false;
    const bool got = record.ok() && claimed.ok() && !claimed->empty();
    if (!e.live) {
      // It left while its claim ran: the messages go back for others.
      if (got) {
        mu_.Unlock();
        give_back_(*record, *claimed);
        mu_.Lock();
      }
      ForgetIfUnused(pick->id);
    } else if (got) {
      again = again || CameBackFull(*claimed, pick->room);
      if (e.mode == Waiting::kOnce) Detach(pick->id, e);  // answered once
      e.calling = true;
      e.caller = std::this_thread::get_id();
      Waiter* waiter = e.waiter;
      mu_.Unlock();
      waiter->Take(*record, *std::move(claimed));
      mu_.Lock();
      e.calling = false;  // the call held the entry
      ForgetIfUnused(pick->id);
      auto it = subs_.find(name);
      if (it != subs_.end() && it->second.passed_busy) {
        it->second.passed_busy = false;
        again = true;
      }
    }
  }
  if (!record.ok()) {
    // Deleted, or the store failed: every waiter of it hears so.
    EndAll(name, record.status());
    return;
  }
  if (pick && !claimed.ok()) EndWaiter(pick->id, claimed.status());
  if (!subs_.contains(name)) return;
  if (stale) Remember(name, *record);
  ExpirePulls(name, absl::Now());
  if (!subs_.contains(name)) return;
  if (again) {
    MarkDue(name);
  } else {
    SchedulePoll(name, absl::Now() + options_.poll_interval);
  }
}

void Dispatcher::Remember(const std::string& name, SubscriptionRecord record) {
  Subscription& sub = subs_.at(name);
  by_topic_[record.topic_id].insert(name);
  sub.record = std::move(record);
  sub.refreshed = absl::Now();
}

void Dispatcher::Detach(uint64_t id, Entry& entry) {
  if (!entry.live) return;
  entry.live = false;
  ids_.erase(entry.waiter);
  auto it = subs_.find(entry.subscription);
  if (it == subs_.end()) return;
  Subscription& sub = it->second;
  if (entry.mode == Waiting::kOnce) {
    sub.pulls.erase(std::remove(sub.pulls.begin(), sub.pulls.end(), id), sub.pulls.end());
    deadlines_.erase({entry.deadline, id});
  } else {
    sub.streams.erase(std::remove(sub.streams.begin(), sub.streams.end(), id), sub.streams.end());
  }
}

void Dispatcher::ForgetIfUnused(uint64_t id) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  const Entry& e = it->second;
  if (e.live || e.claiming || e.calling || e.ending) return;
  const std::string name = it->second.subscription;
  entries_.erase(it);
  ForgetIfIdle(name);
}

void Dispatcher::ForgetIfIdle(const std::string& name) {
  auto it = subs_.find(name);
  if (it == subs_.end()) return;
  const Subscription& sub = it->second;
  if (sub.claiming || !sub.pulls.empty() || !sub.streams.empty()) return;
  if (sub.record) {
    auto topic = by_topic_.find(sub.record->topic_id);
    if (topic != by_topic_.end()) {
      topic->second.erase(name);
      if (topic->second.empty()) by_topic_.erase(topic);
    }
  }
  if (sub.poll_at) polls_.erase({*sub.poll_at, name});
  // A name left in due_ is skipped when it comes up.
  subs_.erase(it);
}

void Dispatcher::EndWaiter(uint64_t id, const absl::Status& status) {
  auto it = entries_.find(id);
  if (it == entries_.end() || !it->second.live) return;
  Entry& entry = it->second;
  Detach(id, entry);
  // One call at a time: a stream's Take may run on another thread.
  entry.ending = true;
  AwaitCall(id);
  entry.ending = false;
  entry.calling = true;
  entry.caller = std::this_thread::get_id();
  Waiter* waiter = entry.waiter;
  mu_.Unlock();
  waiter->End(status);
  mu_.Lock();
  entry.calling = false;
  ForgetIfUnused(id);
}

void Dispatcher::EndAll(const std::string& name, const absl::Status& status) {
  auto it = subs_.find(name);
  if (it == subs_.end()) return;
  std::vector<uint64_t> ids(it->second.pulls.begin(), it->second.pulls.end());
  ids.insert(ids.end(), it->second.streams.begin(), it->second.streams.end());
  for (uint64_t id : ids) EndWaiter(id, status);
}

}  // namespace hub
