// The benchmark driver: runs P1..P9 of docs/benchmarks.md against the hub
// and its peers (started by bench/run), prints every figure, the CPU each
// process spent per message and each target's verdict, and writes the
// tables into docs/benchmarks.md.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>

#include <grpcpp/create_channel.h>
#include <pqxx/pqxx>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "bench/cpu.h"
#include "bench/hub_broker.h"
#include "bench/nats_broker.h"
#include "bench/pg_brokers.h"
#include "bench/pubsub_broker.h"
#include "bench/rabbitmq_broker.h"
#include "bench/report.h"
#include "bench/scenarios.h"

ABSL_FLAG(std::string, mode, "quick", "smoke (seconds, for CI), quick (minutes) or full");
ABSL_FLAG(std::string, hub, "127.0.0.1:50051", "hub endpoint");
ABSL_FLAG(std::string, pubsub_project, "hub", "hubd's --pubsub_project");
ABSL_FLAG(std::string, hub_database_url, "", "the hub's database (for the held transaction)");
ABSL_FLAG(int, hubd_pid, 0, "hubd's process id (for its peak RSS and CPU)");
ABSL_FLAG(int, postgres_pid, 0, "the postmaster's process id (for the CPU figures)");
ABSL_FLAG(int, rabbitmq_pid, 0, "the root of RabbitMQ's processes (for the CPU figures)");
ABSL_FLAG(int, nats_pid, 0, "nats-server's process id (for the CPU figures)");
ABSL_FLAG(std::string, p8_servers, "",
          "a command that, given `start`, starts P8's servers (a streaming standby of the "
          "PostgreSQL server, a three-node JetStream) and prints their names, URLs and pids as "
          "\"name value\" lines, and given `stop`, stops them (bench/p8-servers). Empty: P8 is "
          "not run");
ABSL_FLAG(std::string, pg_url, "", "a database for the PostgreSQL baselines");
ABSL_FLAG(std::string, rabbitmq, "", "RabbitMQ host:port; empty: left out");
ABSL_FLAG(std::string, nats, "", "NATS URL; empty: left out");
ABSL_FLAG(std::string, report, "", "Markdown file to write the results into");
ABSL_FLAG(std::string, environment, "", "machine, versions and settings, for the report");
ABSL_FLAG(std::vector<std::string>, systems, {},
          "run only these (rawpg, rawpg_batch, skiplocked, rabbitmq, nats, hub, hub_keyed, hub_eo, "
          "hub_ordered, "
          "hub_pubsub); "
          "default all");
ABSL_FLAG(std::vector<std::string>, scenarios, {}, "run only these (P1 .. P9); default all");

namespace hub::bench {
namespace {

constexpr int kP7Topics = 16;
constexpr int kP9Keys = 100;

struct Plan {
  absl::Duration duration;  // P1, P2, P4 and the backlog part of P5
  absl::Duration latency;   // P3
  int64_t backlog;          // P5
  absl::Duration hold;      // P5: the held transaction
  // Before each measured run, how long to wait for autovacuum to finish
  // before a checkpoint (SettlePostgres); zero: neither, to keep the
  // quick mode short.
  absl::Duration settle;
  bool all_peers_later;   // P3 and P4 with every peer, not only the SKIP LOCKED queue
  bool fan_out;           // P4
  bool backlog_and_hold;  // P5
};

// The plan of a mode; nullopt for a mode there is none of.
std::optional<Plan> PlanFor(const std::string& mode) {
  if (mode == "smoke") {
    return Plan{.duration = absl::Seconds(1),
                .latency = absl::Seconds(2),
                .backlog = 0,
                .hold = absl::ZeroDuration(),
                .settle = absl::ZeroDuration(),
                .all_peers_later = false,
                .fan_out = false,
                .backlog_and_hold = false};
  }
  if (mode == "quick") {
    return Plan{.duration = absl::Seconds(4),
                .latency = absl::Seconds(4),
                .backlog = 200000,
                .hold = absl::Seconds(10),
                .settle = absl::ZeroDuration(),
                .all_peers_later = false,
                .fan_out = true,
                .backlog_and_hold = true};
  }
  if (mode == "full") {
    return Plan{.duration = absl::Seconds(20),
                .latency = absl::Seconds(20),
                .backlog = 2000000,
                .hold = absl::Seconds(60),
                .settle = absl::Seconds(30),
                .all_peers_later = true,
                .fan_out = true,
                .backlog_and_hold = true};
  }
  return std::nullopt;
}

constexpr const char* kSystems[] = {
    "rawpg",       "rawpg_batch", "skiplocked",        "rabbitmq",
    "nats",        "hub",         "hub_keyed",         "hub_eo",
    "hub_ordered", "hub_pubsub",  "hub_schema_binary", "hub_schema_json"};
constexpr const char* kScenarios[] = {"P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8", "P9"};

// The first of `names` that is not in `known`, or empty.
template <size_t N>
std::string UnknownName(const std::vector<std::string>& names, const char* const (&known)[N]) {
  for (const std::string& name : names) {
    if (std::find(std::begin(known), std::end(known), name) == std::end(known)) return name;
  }
  return "";
}

class Runner {
 public:
  void Add(Result r) {
    std::printf("%-34s %-20s %-22s %12s  %s%s\n", r.scenario.c_str(), r.system.c_str(),
                r.figure.c_str(), Thousands(r.value).c_str(), r.note.c_str(),
                r.outcome.error.empty() ? "" : (" error: " + r.outcome.error).c_str());
    if (const std::string cpu = CpuBreakdown(r); !cpu.empty()) {
      std::printf("%-34s CPU s per 1M messages: servers %.1f (%s)\n", "", ServerCpuPerMillion(r),
                  cpu.c_str());
    }
    std::fflush(stdout);
    results.push_back(std::move(r));
  }
  // The row of a scenario for a system, or null when it did not run or
  // failed.
  const Result* Find(const std::string& scenario, const std::string& system) const {
    for (const Result& r : results) {
      if (r.scenario == scenario && r.system == system && r.outcome.error.empty()) return &r;
    }
    return nullptr;
  }
  // Its value, or 0.
  double Value(const std::string& scenario, const std::string& system) const {
    const Result* r = Find(scenario, system);
    return r == nullptr ? 0 : r->value;
  }
  // Its servers' CPU seconds per million messages, or 0.
  double Cpu(const std::string& scenario, const std::string& system) const {
    const Result* r = Find(scenario, system);
    return r == nullptr ? 0 : ServerCpuPerMillion(*r);
  }
  // A target from two figures of this run. One that lacks a figure (its
  // scenario or system was left out) is not judged; a system that failed
  // has its error in the table and fails the run.
  void Ratio(const std::string& name, double mine, double theirs, double bound, bool at_least,
             const std::string& unit) {
    if (mine == 0 || theirs == 0) return;
    const double ratio = mine / theirs;
    targets.push_back(
        {name,
         absl::StrFormat("%.2fx (%s / %s %s)", ratio, Thousands(mine), Thousands(theirs), unit),
         at_least ? ratio >= bound : ratio <= bound});
  }

  std::vector<Result> results;
  std::vector<Target> targets;
};

// A scenario's outcome with the CPU its processes used meanwhile.
struct Measured {
  Outcome outcome;
  std::map<std::string, double> cpu;
};

// Sets a server setting of the PostgreSQL at `url` and reloads it (empty
// `value`: back to its default).
absl::Status SetServerSetting(const std::string& url, const std::string& name,
                              const std::string& value) {
  try {
    pqxx::connection conn(url);
    pqxx::nontransaction tx(conn);
    tx.exec(value.empty() ? absl::StrCat("ALTER SYSTEM RESET ", name)
                          : absl::StrCat("ALTER SYSTEM SET ", name, " = ", tx.quote(value)));
    tx.exec("SELECT pg_reload_conf()");
    return absl::OkStatus();
  } catch (const std::exception& e) {
    return absl::UnavailableError(e.what());
  }
}

// Waits up to 30 s until standby `name` streams as a synchronous standby.
absl::Status AwaitSynchronousStandby(const std::string& url, const std::string& name) {
  for (int i = 0; i < 300; ++i) {
    try {
      pqxx::connection conn(url);
      pqxx::nontransaction tx(conn);
      if (!tx.exec_params("SELECT 1 FROM pg_stat_replication WHERE application_name = $1 AND "
                          "sync_state = 'sync'",
                          name)
               .empty()) {
        return absl::OkStatus();
      }
    } catch (const std::exception& e) {
      return absl::UnavailableError(e.what());
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  return absl::DeadlineExceededError(absl::StrCat("standby ", name, " never became synchronous"));
}

// Runs `command start` and reads the "name value" lines it prints.
std::map<std::string, std::string> StartP8Servers(const std::string& command) {
  std::map<std::string, std::string> out;
  FILE* pipe = popen((command + " start").c_str(), "r");
  if (pipe == nullptr) return out;
  char line[1024];
  while (std::fgets(line, sizeof line, pipe) != nullptr) {
    std::vector<std::string> f = absl::StrSplit(absl::StripAsciiWhitespace(line), ' ');
    if (f.size() == 2) out[f[0]] = f[1];
  }
  if (pclose(pipe) != 0) std::fprintf(stderr, "P8: %s start failed\n", command.c_str());
  return out;
}

std::string DrainNote(const Outcome& o) {
  if (!o.drained) return "NOT drained";
  return absl::StrFormat("published %s, drained %.1f s after", Thousands(o.published),
                         absl::ToDoubleSeconds(o.drain_time));
}

// Exits 2 with the usage for a mode, system or scenario the harness does
// not have: a typo must not run as nothing and pass.
bool UsageIsValid() {
  std::string bad;
  if (!PlanFor(absl::GetFlag(FLAGS_mode))) {
    bad = absl::StrCat("unknown --mode=", absl::GetFlag(FLAGS_mode), " (smoke, quick or full)");
  } else if (std::string s = UnknownName(absl::GetFlag(FLAGS_systems), kSystems); !s.empty()) {
    bad = absl::StrCat("unknown system in --systems: ", s);
  } else if (std::string s = UnknownName(absl::GetFlag(FLAGS_scenarios), kScenarios); !s.empty()) {
    bad = absl::StrCat("unknown scenario in --scenarios: ", s, " (P1 .. P9)");
  }
  if (bad.empty()) return true;
  std::fprintf(stderr, "hub_bench: %s\n%s\n", bad.c_str(),
               std::string(absl::ProgramUsageMessage()).c_str());
  return false;
}

int Main() {
  const Plan plan = *PlanFor(absl::GetFlag(FLAGS_mode));
  absl::StatusOr<client::Connection> hub_connection =
      client::Connection::Open({.endpoint = absl::GetFlag(FLAGS_hub)});
  if (!hub_connection.ok()) {
    std::fprintf(stderr, "hub_bench: %s\n", hub_connection.status().ToString().c_str());
    return 1;
  }
  // Keys name the systems in destination names; the order is the report's.
  std::vector<std::pair<std::string, std::unique_ptr<Broker>>> brokers;
  brokers.emplace_back("rawpg", std::make_unique<RawPostgres>(absl::GetFlag(FLAGS_pg_url),
                                                              RawPostgres::Rows::kPerMessage));
  brokers.emplace_back("rawpg_batch", std::make_unique<RawPostgres>(absl::GetFlag(FLAGS_pg_url),
                                                                    RawPostgres::Rows::kPerBatch));
  brokers.emplace_back("skiplocked",
                       std::make_unique<SkipLockedQueue>(absl::GetFlag(FLAGS_pg_url)));
  if (!absl::GetFlag(FLAGS_rabbitmq).empty()) {
    std::vector<std::string> host_port = absl::StrSplit(absl::GetFlag(FLAGS_rabbitmq), ':');
    int port = 5672;
    if (host_port.size() == 2 && !absl::SimpleAtoi(host_port[1], &port)) port = 5672;
    brokers.emplace_back("rabbitmq", std::make_unique<RabbitMqBroker>(host_port[0], port));
  }
  if (!absl::GetFlag(FLAGS_nats).empty()) {
    brokers.emplace_back("nats", std::make_unique<NatsBroker>(absl::GetFlag(FLAGS_nats)));
  }
  brokers.emplace_back("hub", std::make_unique<HubBroker>(*hub_connection, HubBroker::Variant{}));
  brokers.emplace_back(
      "hub_keyed", std::make_unique<HubBroker>(*hub_connection, HubBroker::Variant{.keyed = true}));
  brokers.emplace_back("hub_eo", std::make_unique<HubBroker>(
                                     *hub_connection, HubBroker::Variant{.exactly_once = true}));
  brokers.emplace_back(
      "hub_ordered",
      std::make_unique<HubBroker>(*hub_connection, HubBroker::Variant{.ordering_keys = kP9Keys}));
  brokers.emplace_back(
      "hub_schema_binary",
      std::make_unique<HubBroker>(*hub_connection, HubBroker::Variant{.schema = v1::BINARY}));
  brokers.emplace_back(
      "hub_schema_json",
      std::make_unique<HubBroker>(*hub_connection, HubBroker::Variant{.schema = v1::JSON}));
  brokers.emplace_back("hub_pubsub", std::make_unique<PubSubBroker>(
                                         grpc::CreateChannel(absl::GetFlag(FLAGS_hub),
                                                             grpc::InsecureChannelCredentials()),
                                         absl::GetFlag(FLAGS_pubsub_project)));
  if (const std::vector<std::string> only = absl::GetFlag(FLAGS_systems); !only.empty()) {
    std::erase_if(brokers, [&](const auto& b) {
      return std::find(only.begin(), only.end(), b.first) == only.end();
    });
  }
  auto find = [&](const std::string& key) -> Broker* {
    for (auto& [k, b] : brokers) {
      if (k == key) return b.get();
    }
    return nullptr;
  };
  CpuMeter meter({{"postgres", absl::GetFlag(FLAGS_postgres_pid)},
                  {"hubd", absl::GetFlag(FLAGS_hubd_pid)},
                  {"rabbitmq", absl::GetFlag(FLAGS_rabbitmq_pid)},
                  {"nats", absl::GetFlag(FLAGS_nats_pid)}});
  // Runs `scenario` on `broker`, measuring the processes it runs on and
  // `also`.
  auto measured = [&](const Broker& broker, const std::function<Outcome()>& scenario,
                      const std::vector<std::string>& also = {}) {
    std::vector<std::string> processes = broker.processes();
    processes.insert(processes.end(), also.begin(), also.end());
    if (const std::string url = absl::GetFlag(FLAGS_pg_url);
        !url.empty() && plan.settle > absl::ZeroDuration()) {
      const absl::StatusOr<absl::Duration> settled = SettlePostgres(url, plan.settle);
      if (!settled.ok()) {
        std::fprintf(stderr, "settling PostgreSQL: %s\n", settled.status().ToString().c_str());
      } else if (*settled > absl::Seconds(1)) {
        std::fprintf(stderr, "%s: PostgreSQL settled in %s\n", broker.name().c_str(),
                     absl::FormatDuration(*settled).c_str());
      }
    }
    Measured m;
    m.cpu = meter.Measure(processes, [&] { m.outcome = scenario(); });
    return m;
  };
  // A system that cannot be prepared (not reachable, say) fails the run
  // once the others have run.
  bool unprepared = false;
  // Destinations are named after their scenario ("p7_hub_3"). No scenario
  // reads another's, so the baselines' tables go when the next scenario
  // prepares: the disk then holds one scenario's baseline rows, not a whole
  // run's (a full run filled 70 GB and P8's base backup of the cluster
  // failed).
  std::string scenario_prepared;
  auto prepare = [&unprepared, &scenario_prepared](Broker& b, const std::string& name,
                                                   int subscriptions) {
    const std::string scenario = name.substr(0, name.find('_'));
    if (scenario != scenario_prepared) {
      scenario_prepared = scenario;
      if (const std::string url = absl::GetFlag(FLAGS_pg_url); !url.empty()) {
        if (const absl::Status dropped = DropBaselineTables(url); !dropped.ok()) {
          std::fprintf(stderr, "dropping the baselines' tables: %s\n", dropped.ToString().c_str());
        }
      }
    }
    const absl::Status s = b.Prepare(name, subscriptions);
    if (!s.ok()) {
      std::fprintf(stderr, "%s: prepare %s: %s\n", b.name().c_str(), name.c_str(),
                   s.ToString().c_str());
      unprepared = true;
    }
    return s.ok();
  };
  const std::vector<std::string> only = absl::GetFlag(FLAGS_scenarios);
  auto wanted = [&](const std::string& scenario) {
    return only.empty() || std::find(only.begin(), only.end(), scenario) != only.end();
  };
  Runner run;
  const bool smoke = absl::GetFlag(FLAGS_mode) == "smoke";
  const std::vector<std::string> later_systems =
      plan.all_peers_later ? std::vector<std::string>{"skiplocked", "rabbitmq", "nats", "hub"}
                           : std::vector<std::string>{"skiplocked", "hub"};

  // P1: 8 publishers, batches of 100 messages of 256 bytes.
  for (auto& [key, broker] : brokers) {
    if (key == "hub_eo" || key == "hub_ordered" || !wanted("P1")) continue;
    if (!prepare(*broker, "p1_" + key, 1)) continue;
    Load load{.duration = plan.duration};
    Measured m = measured(*broker, [&] { return RunLoad(*broker, load); });
    run.Add({"P1 publish", broker->name(), "published msg/s", m.outcome.publish_rate, m.outcome,
             broker->durability(), m.cpu});
  }

  // P2: 4 publishers and 4 consumers of one subscription; P6 is hubd's
  // peak RSS meanwhile.
  const Load p2{.duration = plan.duration, .publishers = 4, .consumers = 4};
  for (auto& [key, broker] : brokers) {
    if (!broker->consumes() || key == "hub_keyed" || key == "hub_ordered" ||
        absl::StartsWith(key, "hub_schema") || !wanted("P2")) {
      continue;
    }
    if (!prepare(*broker, "p2_" + key, 1)) continue;
    Measured m;
    double rss = 0;
    const auto scenario = [&] { m = measured(*broker, [&] { return RunLoad(*broker, p2); }); };
    if (key == "hub" && absl::GetFlag(FLAGS_hubd_pid) > 0) {
      rss = PeakRssMiB(absl::GetFlag(FLAGS_hubd_pid), scenario);
    } else {
      scenario();
    }
    run.Add({"P2 end to end", broker->name(), "consumed msg/s", m.outcome.consume_rate, m.outcome,
             DrainNote(m.outcome), m.cpu});
    if (rss > 0) {
      run.Add({"P6 hubd peak RSS during P2", "hub", "MiB", rss, {}, "VmRSS sampled every 100 ms"});
    }
  }

  // P3: 1,000 single-message publishes per second; raw PostgreSQL gives the
  // latency floor of a durable commit on this machine. Raw PostgreSQL only
  // publishes, so the hub also runs without its consumer: the servers' CPU
  // of a publish alone, set against raw PostgreSQL's.
  std::vector<std::string> p3_systems = later_systems;
  p3_systems.insert(p3_systems.begin(), "rawpg");
  for (const std::string& key : p3_systems) {
    Broker* broker = find(key);
    for (const bool consume : {true, false}) {
      if (!consume && key != "hub") continue;
      if (broker == nullptr || !wanted("P3") ||
          !prepare(*broker, absl::StrCat("p3_", key, consume ? "" : "_publish_only"), 1)) {
        continue;
      }
      Measured m = measured(
          *broker, [&] { return RunFixedRate(*broker, 1000, 8, plan.latency, 256, consume); });
      run.Add({"P3 1,000 msg/s single publishes",
               consume ? broker->name() : broker->name() + ", publish only", "published msg/s",
               m.outcome.publish_rate, m.outcome,
               !consume || !broker->consumes() ? "publish only"
               : m.outcome.drained             ? "all delivered"
                                               : "NOT all delivered",
               m.cpu});
    }
  }

  // P4: fan-out to 1 and 10 subscriptions, one consumer each.
  for (const std::string& key : plan.fan_out ? later_systems : std::vector<std::string>{}) {
    Broker* broker = find(key);
    for (int subs : {1, 10}) {
      if (broker == nullptr || !wanted("P4") ||
          !prepare(*broker, absl::StrCat("p4_", key, "_", subs), subs)) {
        continue;
      }
      // Ten subscriptions drain ten times the messages: the publish phase
      // is kept short (half the scenario time, at most 8 s) and the drain
      // given room. At 4 s in the quick mode the hub's drain of ten
      // subscriptions alone took 40 s and the mode overran its 3 minutes.
      Load load{.duration = std::min(plan.duration / 2, absl::Seconds(8)),
                .consumers = 1,
                .subscriptions = subs,
                .drain_limit = absl::Seconds(240),
                .consume_after_publishing = true};
      Measured m = measured(*broker, [&] { return RunLoad(*broker, load); });
      run.Add({absl::StrCat("P4 fan-out to ", subs), broker->name(), "published msg/s",
               m.outcome.publish_rate, m.outcome,
               absl::StrCat(DrainNote(m.outcome), " by ", subs, " consumers at ",
                            Thousands(m.outcome.consume_rate), " deliveries/s"),
               m.cpu});
    }
  }

  // P5: publishing onto a backlog, and end to end while a transaction is
  // held open.
  std::vector<std::string> p5_systems = !plan.backlog_and_hold ? std::vector<std::string>{}
                                        : plan.all_peers_later
                                            ? std::vector<std::string>{"hub", "skiplocked"}
                                            : std::vector<std::string>{"hub"};
  // The hub with a key per message only on request (--systems naming
  // hub_keyed): it separates what the key index costs on a backlog.
  if (const std::vector<std::string> only = absl::GetFlag(FLAGS_systems);
      plan.backlog_and_hold && std::find(only.begin(), only.end(), "hub_keyed") != only.end()) {
    p5_systems.push_back("hub_keyed");
  }
  for (const std::string& key : p5_systems) {
    Broker* broker = find(key);
    if (broker == nullptr || !wanted("P5") || !prepare(*broker, "p5_" + key, 1)) continue;
    if (absl::Status s = Fill(*broker, plan.backlog, 256); !s.ok()) {
      std::fprintf(stderr, "%s: backlog: %s\n", broker->name().c_str(), s.ToString().c_str());
      continue;
    }
    Measured m =
        measured(*broker, [&] { return RunLoad(*broker, Load{.duration = plan.duration}); });
    run.Add({absl::StrCat("P5 publish onto ", Thousands(plan.backlog), " backlog"), broker->name(),
             "published msg/s", m.outcome.publish_rate, m.outcome, "", m.cpu});

    const std::string url =
        key == "hub" ? absl::GetFlag(FLAGS_hub_database_url) : absl::GetFlag(FLAGS_pg_url);
    if (url.empty() || !prepare(*broker, "p5h_" + key, 1)) continue;
    const Load e2e{.duration = plan.hold, .publishers = 4, .consumers = 4};
    Measured free_run = measured(*broker, [&] { return RunLoad(*broker, e2e); });
    run.Add({"P5 end to end, no transaction held", broker->name(), "consumed msg/s",
             free_run.outcome.consume_rate, free_run.outcome, DrainNote(free_run.outcome),
             free_run.cpu});
    Measured held_run;
    {
      HeldTransaction held(url);
      held_run = measured(*broker, [&] { return RunLoad(*broker, e2e); });
    }
    run.Add({absl::StrCat("P5 end to end, transaction held ", absl::FormatDuration(plan.hold)),
             broker->name(), "consumed msg/s", held_run.outcome.consume_rate, held_run.outcome,
             DrainNote(held_run.outcome), held_run.cpu});
  }

  // P7: 16 topics (raw PostgreSQL: 16 tables), one publisher each, batches
  // of 100.
  const std::vector<std::string> p7_systems =
      plan.all_peers_later
          ? std::vector<std::string>{"rawpg", "skiplocked", "rabbitmq", "nats", "hub", "hub_keyed"}
          : std::vector<std::string>{"rawpg", "hub"};
  for (const std::string& key : p7_systems) {
    Broker* broker = find(key);
    if (broker == nullptr || !wanted("P7")) continue;
    std::vector<std::unique_ptr<Producer>> producers;
    for (int t = 0; t < kP7Topics; ++t) {
      // A broker's producer publishes to the destination prepared last.
      if (!prepare(*broker, absl::StrCat("p7_", key, "_", t), 1)) break;
      producers.push_back(broker->NewProducer());
    }
    if (static_cast<int>(producers.size()) != kP7Topics) continue;
    const Load load{.duration = plan.duration, .publishers = kP7Topics};
    Measured m = measured(*broker, [&] { return RunLoad(*broker, load, std::move(producers)); });
    run.Add({absl::StrCat("P7 ", kP7Topics, " topics"), broker->name(), "published msg/s",
             m.outcome.publish_rate, m.outcome, "one publisher per topic", m.cpu});
  }

  // P8: P1 and P2 with replication that every acknowledgement waits for:
  // PostgreSQL (raw and the hub) through a synchronous standby, JetStream
  // as a three-node cluster with three replicas.
  const auto replicated = [&](Broker& broker, const std::string& key, const std::string& how,
                              const std::vector<std::string>& also) {
    if (!prepare(broker, "p8_" + key, 1)) return;
    Measured m = measured(
        broker, [&] { return RunLoad(broker, Load{.duration = plan.duration}); }, also);
    run.Add({"P8 publish, replicated", broker.name(), "published msg/s", m.outcome.publish_rate,
             m.outcome, how, m.cpu});
    if (!broker.consumes() || !prepare(broker, "p8e_" + key, 1)) return;
    m = measured(
        broker, [&] { return RunLoad(broker, p2); }, also);
    run.Add({"P8 end to end, replicated", broker.name(), "consumed msg/s", m.outcome.consume_rate,
             m.outcome, DrainNote(m.outcome), m.cpu});
  };
  if (const std::string servers = absl::GetFlag(FLAGS_p8_servers);
      wanted("P8") && !servers.empty() && !smoke) {
    const std::map<std::string, std::string> started = StartP8Servers(servers);
    const auto value = [&](const std::string& name) {
      auto it = started.find(name);
      return it == started.end() ? std::string() : it->second;
    };
    int pid = 0;
    if (absl::SimpleAtoi(value("standby_pid"), &pid)) meter.SetRoot("standby", pid);
    if (absl::SimpleAtoi(value("nats_cluster_pid"), &pid)) meter.SetRoot("nats_cluster", pid);
    const std::string url = absl::GetFlag(FLAGS_pg_url);
    const std::string standby = value("standby");
    absl::Status synchronous = standby.empty()
                                   ? absl::UnavailableError("no standby started")
                                   : SetServerSetting(url, "synchronous_standby_names", standby);
    if (synchronous.ok()) synchronous = AwaitSynchronousStandby(url, standby);
    if (!synchronous.ok()) {
      std::fprintf(stderr, "P8: %s\n", synchronous.ToString().c_str());
    } else {
      for (const std::string& key : std::vector<std::string>{"rawpg", "hub"}) {
        if (Broker* broker = find(key)) {
          replicated(*broker, key, "commits wait for the standby's flush", {"standby"});
        }
      }
    }
    if (absl::Status s = SetServerSetting(url, "synchronous_standby_names", ""); !s.ok()) {
      std::fprintf(stderr, "P8: %s\n", s.ToString().c_str());
    }
    if (const std::string nats = value("nats_cluster"); !nats.empty()) {
      NatsBroker cluster(nats, 3);
      replicated(cluster, "nats3", "a majority of 3 replicas before the ack", {});
    } else {
      std::fprintf(stderr, "P8: no JetStream cluster started\n");
    }
    if (std::system((servers + " stop").c_str()) != 0) {
      std::fprintf(stderr, "P8: %s stop failed\n", servers.c_str());
    }
  }

  // P9: P2 on a subscription with ordering, 100 keys. The consume rate while
  // publishing is the figure; the drain is bounded so that a slow ordered
  // path cannot hold up the run.
  if (Broker* broker = find("hub_ordered");
      broker != nullptr && wanted("P9") && !smoke && prepare(*broker, "p9_ordered", 1)) {
    Load load = p2;
    load.drain_limit = std::min(load.drain_limit, plan.duration * 5);
    Measured m = measured(*broker, [&] { return RunLoad(*broker, load); });
    run.Add({"P9 end to end, ordered", broker->name(), "consumed msg/s", m.outcome.consume_rate,
             m.outcome, DrainNote(m.outcome), m.cpu});
  }

  // The targets of issues 5 and 23, from this run's figures.
  const double raw = run.Value("P1 publish", "raw PostgreSQL");
  const double p1 = run.Value("P1 publish", "hub");
  // The targets of issue 35 (segments): docs/benchmarks.md, "Targets".
  run.Ratio("P1 hub >= 1x raw PostgreSQL (one row per message)", p1, raw, 1, true, "msg/s");
  run.Ratio("P1 hub >= 1x NATS JetStream", p1, run.Value("P1 publish", "NATS JetStream"), 1, true,
            "msg/s");
  run.Ratio("P1 hub >= 0.4x raw PostgreSQL, one row per batch", p1,
            run.Value("P1 publish", "raw PostgreSQL, one row per batch"), 0.4, true, "msg/s");
  run.Ratio("P1 hub CPU per message <= 1x raw PostgreSQL's (one row per message)",
            run.Cpu("P1 publish", "hub"), run.Cpu("P1 publish", "raw PostgreSQL"), 1, false,
            "CPU s per 1M messages");
  run.Ratio("P1 hub, a key per message >= 0.6x raw PostgreSQL",
            run.Value("P1 publish", "hub, a key per message"), raw, 0.6, true, "msg/s");
  run.Ratio("P1 hub via google.pubsub.v1 (key attribute per message) >= 0.6x raw PostgreSQL",
            run.Value("P1 publish", "hub via google.pubsub.v1"), raw, 0.6, true, "msg/s");
  // Schemas (docs/schemas.md): every message checked against a Protocol
  // Buffers schema before the write, against the same publishes without.
  // JSON has no target; its figure is in P1's rows.
  run.Ratio("P1 hub, protobuf schema, BINARY >= 0.8x hub without",
            run.Value("P1 publish", "hub, protobuf schema, BINARY"), p1, 0.8, true, "msg/s");
  const double p2_hub = run.Value("P2 end to end", "hub");
  run.Ratio("P2 hub >= 1.5x SKIP LOCKED queue", p2_hub,
            run.Value("P2 end to end", "SKIP LOCKED queue"), 1.5, true, "msg/s");
  run.Ratio("P2 hub >= 2x RabbitMQ", p2_hub, run.Value("P2 end to end", "RabbitMQ"), 2, true,
            "msg/s");
  run.Ratio("P2 hub >= 1x NATS JetStream", p2_hub, run.Value("P2 end to end", "NATS JetStream"), 1,
            true, "msg/s");
  run.Ratio("P2 hub CPU per message <= 1.5x NATS JetStream's", run.Cpu("P2 end to end", "hub"),
            run.Cpu("P2 end to end", "NATS JetStream"), 1.5, false, "CPU s per 1M messages");
  run.Ratio("P2 hub exactly-once >= 0.9x at-least-once",
            run.Value("P2 end to end", "hub exactly-once"), p2_hub, 0.9, true, "msg/s");
  const std::string p3 = "P3 1,000 msg/s single publishes";
  run.Ratio("P3 hub CPU per single publish <= 1.5x raw PostgreSQL's",
            run.Cpu(p3, "hub, publish only"), run.Cpu(p3, "raw PostgreSQL"), 1.5, false,
            "CPU s per 1M messages");
  if (const Result* hub = run.Find(p3, "hub")) {
    if (const Result* raw_p3 = run.Find(p3, "raw PostgreSQL")) {
      run.Ratio("P3 hub publish p99 <= 1.5x raw PostgreSQL's single-commit p99",
                hub->outcome.publish_latency.p99_ms, raw_p3->outcome.publish_latency.p99_ms, 1.5,
                false, "ms");
    }
    if (const Result* nats = run.Find(p3, "NATS JetStream")) {
      if (!hub->outcome.drained) {
        run.targets.push_back({"P3 hub publish-to-deliver p99 <= 1.5x NATS JetStream's",
                               "not every message delivered", false});
      } else {
        run.Ratio("P3 hub publish-to-deliver p99 <= 1.5x NATS JetStream's",
                  hub->outcome.delivery_latency.p99_ms, nats->outcome.delivery_latency.p99_ms, 1.5,
                  false, "ms");
      }
    }
  }
  if (plan.fan_out) {
    bool drained = true;
    for (const Result& r : run.results) {
      if (r.scenario == "P4 fan-out to 10" && r.system == "hub") drained = r.outcome.drained;
    }
    if (drained) {
      run.Ratio("P4 hub 10 subscriptions >= 0.8x of 1, all drained",
                run.Value("P4 fan-out to 10", "hub"), run.Value("P4 fan-out to 1", "hub"), 0.8,
                true, "msg/s");
    } else {
      run.targets.push_back({"P4 hub 10 subscriptions >= 0.8x of 1, all drained",
                             "not every subscription drained", false});
    }
  }
  if (plan.backlog_and_hold) {
    run.Ratio(
        absl::StrCat("P5 hub publish onto ", Thousands(plan.backlog),
                     " backlog >= 0.9x of empty (P1)"),
        run.Value(absl::StrCat("P5 publish onto ", Thousands(plan.backlog), " backlog"), "hub"), p1,
        0.9, true, "msg/s");
    run.Ratio(
        "P5 hub end to end with a held transaction >= 0.8x without",
        run.Value(absl::StrCat("P5 end to end, transaction held ", absl::FormatDuration(plan.hold)),
                  "hub"),
        run.Value("P5 end to end, no transaction held", "hub"), 0.8, true, "msg/s");
  }
  const double rss = run.Value("P6 hubd peak RSS during P2", "hub");
  if (rss > 0)
    run.targets.push_back(
        {"P6 hubd peak RSS <= 256 MiB", absl::StrFormat("%.0f MiB", rss), rss <= 256});
  const std::string p7 = absl::StrCat("P7 ", kP7Topics, " topics");
  run.Ratio(absl::StrCat(p7, ": hub >= 1x raw PostgreSQL"), run.Value(p7, "hub"),
            run.Value(p7, "raw PostgreSQL"), 1, true, "msg/s");
  run.Ratio("P8 hub >= 1x raw PostgreSQL through the same synchronous standby",
            run.Value("P8 publish, replicated", "hub"),
            run.Value("P8 publish, replicated", "raw PostgreSQL"), 1, true, "msg/s");
  run.Ratio("P8 hub >= 1x NATS JetStream with 3 replicas",
            run.Value("P8 publish, replicated", "hub"),
            run.Value("P8 publish, replicated", "NATS JetStream, 3 replicas"), 1, true, "msg/s");
  if (const Broker* ordered = find("hub_ordered"); ordered != nullptr) {
    run.Ratio("P9 hub ordered >= 0.5x unordered (P2)",
              run.Value("P9 end to end, ordered", ordered->name()), p2_hub, 0.5, true, "msg/s");
  }

  // The Pub/Sub path (docs/pubsub.md) against hub.v1's, same load, same
  // run. Its publishes carry a key per message (the Pub/Sub API has no
  // producer batches), so P1 compares it with hub.v1's keyed publishes.
  for (const auto& [scenario, hub_system] :
       {std::pair<const char*, const char*>{"P1 publish", "hub, a key per message"},
        {"P2 end to end", "hub"}}) {
    const double through_pubsub = run.Value(scenario, "hub via google.pubsub.v1");
    if (through_pubsub > 0) {
      run.Ratio(absl::StrCat(scenario, ": google.pubsub.v1 >= 0.9x hub.v1 (", hub_system, ")"),
                through_pubsub, run.Value(scenario, hub_system), 0.9, true, "msg/s");
    }
  }

  const std::string targets = TargetsMarkdown(run.targets);
  std::printf("\n%s", targets.c_str());
  const std::string report = absl::GetFlag(FLAGS_report);
  if (!report.empty() && !smoke) {
    const std::string section = absl::StrCat(
        "Mode `", absl::GetFlag(FLAGS_mode), "`. ", absl::GetFlag(FLAGS_environment),
        "\n\n### Targets\n\n", targets, "\n### Figures\n\n", ResultsMarkdown(run.results),
        "\n### CPU per message\n\n", CpuMarkdown(run.results), "\n");
    if (!WriteGeneratedSection(report, section)) {
      std::fprintf(stderr, "hub_bench: cannot write %s\n", report.c_str());
      return 1;
    }
  }
  // Every call must have succeeded; a verdict of "not met" is a figure,
  // not a failure of the harness.
  for (const Result& r : run.results) {
    if (!r.outcome.error.empty()) return 1;
  }
  if (unprepared || run.results.empty()) {
    std::fprintf(stderr, "hub_bench: %s\n",
                 unprepared ? "a system under test could not be prepared (above)"
                            : "nothing ran: no system and scenario of the selection");
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace hub::bench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "hub_bench --mode=smoke|quick|full [--systems=...] [--scenarios=P1,...]: the benchmark "
      "scenarios of docs/benchmarks.md against the hub and its peers (bench/run starts them)");
  absl::ParseCommandLine(argc, argv);
  if (!hub::bench::UsageIsValid()) return 2;
  return hub::bench::Main();
}
