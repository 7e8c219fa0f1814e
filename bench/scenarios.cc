#include "bench/scenarios.h"

#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"

namespace hub::bench {
namespace {

// Counts what one subscription's consumers received.
struct Received {
  std::atomic<int64_t> count{0};
};

class Errors {
 public:
  void Add(const absl::Status& s) {
    if (s.ok()) return;
    absl::MutexLock lock(&mu_);
    if (first_.empty()) first_ = s.ToString();
  }
  std::string first() {
    absl::MutexLock lock(&mu_);
    return first_;
  }

 private:
  absl::Mutex mu_;
  std::string first_;
};

}  // namespace

Outcome RunLoad(Broker& broker, const Load& load,
                std::vector<std::unique_ptr<Producer>> producers) {
  Outcome out;
  Errors errors;
  LatencyRecorder publish_latency, delivery_latency;
  std::vector<Received> received(load.subscriptions);
  std::atomic<bool> stop_consumers{false}, stop_publishers{false};
  std::atomic<int64_t> published{0};

  std::vector<std::thread> consumers;
  auto start_consumers = [&] {
    for (int sub = 0; sub < load.subscriptions; ++sub) {
      for (int c = 0; c < load.consumers; ++c) {
        consumers.emplace_back([&, sub] {
          std::unique_ptr<Consumer> consumer = broker.NewConsumer(sub);
          if (consumer == nullptr) {
            errors.Add(absl::UnavailableError("cannot open a consumer"));
            return;
          }
          std::vector<int64_t> ages;
          errors.Add(consumer->Run(stop_consumers, [&](absl::string_view payload) {
            ages.push_back(absl::ToInt64Microseconds(Age(payload.data(), payload.size())));
            received[sub].count.fetch_add(1, std::memory_order_relaxed);
          }));
          delivery_latency.Record(ages);
        });
      }
    }
  };
  if (!load.consume_after_publishing) start_consumers();

  const absl::Time start = absl::Now();
  std::vector<std::thread> publishers;
  producers.resize(load.publishers);
  for (int p = 0; p < load.publishers; ++p) {
    publishers.emplace_back([&, p] {
      std::unique_ptr<Producer> producer =
          producers[p] != nullptr ? std::move(producers[p]) : broker.NewProducer();
      if (producer == nullptr) {
        errors.Add(absl::UnavailableError("cannot open a producer"));
        return;
      }
      std::vector<int64_t> latencies;
      while (!stop_publishers.load()) {
        std::vector<std::string> batch;
        batch.reserve(load.batch);
        for (int i = 0; i < load.batch; ++i) batch.push_back(Payload(load.message_bytes));
        const absl::Time t0 = absl::Now();
        const absl::Status s = producer->Publish(batch);
        if (!s.ok()) {
          errors.Add(s);
          break;
        }
        latencies.push_back(absl::ToInt64Microseconds(absl::Now() - t0));
        published.fetch_add(load.batch, std::memory_order_relaxed);
      }
      publish_latency.Record(latencies);
    });
  }
  absl::SleepFor(load.duration);
  stop_publishers = true;
  for (std::thread& t : publishers) t.join();
  const absl::Duration publish_time = absl::Now() - start;
  int64_t consumed_while_publishing = 0;
  for (Received& r : received) consumed_while_publishing += r.count.load();

  out.published = published.load();
  out.publish_rate = out.published / absl::ToDoubleSeconds(publish_time);
  out.consume_rate = consumed_while_publishing / absl::ToDoubleSeconds(publish_time);
  if (load.consumers > 0) {
    const absl::Time drain_start = absl::Now();
    if (load.consume_after_publishing) start_consumers();
    auto all_in = [&] {
      for (Received& r : received) {
        if (r.count.load() < out.published) return false;
      }
      return true;
    };
    while (!all_in() && absl::Now() - drain_start < load.drain_limit && errors.first().empty()) {
      absl::SleepFor(absl::Milliseconds(10));
    }
    out.drained = all_in();
    out.drain_time = absl::Now() - drain_start;
    if (load.consume_after_publishing) {
      int64_t total = 0;
      for (Received& r : received) total += r.count.load();
      out.consume_rate = total / absl::ToDoubleSeconds(out.drain_time);
    }
  }
  stop_consumers = true;
  for (std::thread& t : consumers) t.join();
  for (Received& r : received) out.consumed += r.count.load();
  out.publish_latency = publish_latency.Summarize();
  out.delivery_latency = delivery_latency.Summarize();
  out.error = errors.first();
  return out;
}

Outcome RunFixedRate(Broker& broker, int rate, int publishers, absl::Duration duration,
                     int message_bytes, bool consume) {
  consume = consume && broker.consumes();
  Outcome out;
  Errors errors;
  LatencyRecorder publish_latency, delivery_latency;
  std::atomic<bool> stop{false};
  std::atomic<int64_t> received{0}, published{0};
  std::thread consumer_thread([&] {
    if (!consume) return;  // publish latency only
    std::unique_ptr<Consumer> consumer = broker.NewConsumer(0);
    if (consumer == nullptr) {
      errors.Add(absl::UnavailableError("cannot open a consumer"));
      return;
    }
    std::vector<int64_t> ages;
    errors.Add(consumer->Run(stop, [&](absl::string_view payload) {
      ages.push_back(absl::ToInt64Microseconds(Age(payload.data(), payload.size())));
      ++received;
    }));
    delivery_latency.Record(ages);
  });
  // Let the consumer attach before the clock starts.
  absl::SleepFor(absl::Milliseconds(500));
  const absl::Time start = absl::Now();
  const absl::Duration interval = absl::Seconds(1) * publishers / rate;
  std::vector<std::thread> threads;
  for (int p = 0; p < publishers; ++p) {
    threads.emplace_back([&, p] {
      std::unique_ptr<Producer> producer = broker.NewProducer();
      if (producer == nullptr) {
        errors.Add(absl::UnavailableError("cannot open a producer"));
        return;
      }
      std::vector<int64_t> latencies;
      // Each thread's sends are spread over the interval, and the schedule
      // is absolute: a slow call is followed by a shorter pause, not a
      // later schedule.
      absl::Time next = start + interval * p / publishers;
      while (next < start + duration) {
        absl::SleepFor(next - absl::Now());
        const absl::Time t0 = absl::Now();
        const absl::Status s = producer->Publish({Payload(message_bytes)});
        if (!s.ok()) {
          errors.Add(s);
          break;
        }
        latencies.push_back(absl::ToInt64Microseconds(absl::Now() - t0));
        ++published;
        next += interval;
      }
      publish_latency.Record(latencies);
    });
  }
  for (std::thread& t : threads) t.join();
  out.publish_rate = published.load() / absl::ToDoubleSeconds(absl::Now() - start);
  const absl::Time drain_start = absl::Now();
  while (consume && received.load() < published.load() &&
         absl::Now() - drain_start < absl::Seconds(30)) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  stop = true;
  consumer_thread.join();
  out.published = published.load();
  out.consumed = received.load();
  out.drained = !consume || out.consumed >= out.published;
  out.publish_latency = publish_latency.Summarize();
  out.delivery_latency = delivery_latency.Summarize();
  out.error = errors.first();
  return out;
}

absl::Status Fill(Broker& broker, int64_t count, int message_bytes) {
  constexpr int kBatch = 1000;
  std::atomic<int64_t> left{count};
  Errors errors;
  std::vector<std::thread> threads;
  for (int p = 0; p < 8; ++p) {
    threads.emplace_back([&] {
      std::unique_ptr<Producer> producer = broker.NewProducer();
      if (producer == nullptr) {
        errors.Add(absl::UnavailableError("cannot open a producer"));
        return;
      }
      std::vector<std::string> batch(kBatch, Payload(message_bytes));
      while (left.fetch_sub(kBatch) > 0) {
        const absl::Status s = producer->Publish(batch);
        if (!s.ok()) {
          errors.Add(s);
          return;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  const std::string error = errors.first();
  return error.empty() ? absl::OkStatus() : absl::UnavailableError(error);
}

double PeakRssMiB(int pid, const std::function<void()>& run) {
  std::atomic<bool> done{false};
  std::atomic<int64_t> peak_kib{0};
  std::thread sampler([&] {
    const std::string path = absl::StrCat("/proc/", pid, "/status");
    while (!done.load()) {
      std::ifstream status(path);
      for (std::string line; std::getline(status, line);) {
        if (line.rfind("VmRSS:", 0) != 0) continue;
        std::istringstream fields(line.substr(6));
        int64_t kib = 0;
        fields >> kib;
        if (kib > peak_kib.load()) peak_kib = kib;
      }
      absl::SleepFor(absl::Milliseconds(100));
    }
  });
  run();
  done = true;
  sampler.join();
  return peak_kib.load() / 1024.0;
}

struct HeldTransaction::State {
  explicit State(const std::string& url) : conn(url), tx(conn) {}
  pqxx::connection conn;
  pqxx::work tx;
};

HeldTransaction::HeldTransaction(const std::string& url) : state_(std::make_unique<State>(url)) {
  // An assigned transaction id keeps the horizon where it is now.
  state_->tx.exec("SELECT txid_current()");
}

HeldTransaction::~HeldTransaction() { state_->tx.abort(); }

}  // namespace hub::bench
