#ifndef TESTS_SUPPORT_TEST_ENV_H_
#define TESTS_SUPPORT_TEST_ENV_H_

#include <sys/types.h>

#include <atomic>
#include <initializer_list>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/channel.h>
#include <grpcpp/security/credentials.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "hub/v1/publisher.grpc.pb.h"
#include "hub/v1/subscriber.grpc.pb.h"

namespace pqxx {
class transaction_base;
}  // namespace pqxx

// The real parts integration tests run against: a PostgreSQL 15 cluster in
// a temporary folder on a free loopback port, and real hubd processes. Both
// stop by themselves when the test process ends, however it ends.
namespace hub::testing {

int FreePort();

class PostgresServer {
 public:
  // initdb + start; aborts the test binary on failure. `settings` are
  // server options ("-c fsync=off ...").
  explicit PostgresServer(std::string settings = "");
  ~PostgresServer();

  // A streaming standby of `primary` (pg_basebackup -R) on a port of its
  // own, started; aborts the test binary on failure.
  static std::unique_ptr<PostgresServer> StandbyOf(const PostgresServer& primary);
  // pg_ctl promote: the standby becomes a primary (waits until it is).
  void Promote();

  // A new, empty database; returns its URL.
  std::string CreateDatabase();
  std::string Url(const std::string& database) const;
  int port() const { return port_; }

  // pg_ctl stop with `mode` (smart, fast, immediate), and start again on the
  // same port and folder.
  void Stop(const std::string& mode);
  void Start();
  // From the next Start on, the server's clock runs `offset` ("-60s") off
  // the machine's (libfaketime).
  void SetClockOffset(const std::string& offset) { clock_offset_ = offset; }
  // Sends `sig` to the server's own process titled "postgres: <role>"
  // (walwriter, checkpointer, ...); fails the test if there is none.
  void SignalAuxiliary(const std::string& role, int sig);

 private:
  // A folder and a port, nothing started.
  struct Unstarted {};
  PostgresServer(Unstarted, std::string settings);

  std::string root_;
  std::string data_dir_;
  std::string settings_;
  std::string clock_offset_;
  int port_;
  int databases_ = 0;
};

// A pg_auto_failover formation (scripts/pg-auto-failover): a monitor and
// two nodes, node1 the primary and node2 its synchronous secondary, with the
// database `hub`, on free loopback ports; the monitor fails a node over
// within seconds. Stops with the object, or with the test process.
class AutoFailoverFormation {
 public:
  AutoFailoverFormation();  // aborts the test binary on failure
  ~AutoFailoverFormation();

  // Every node, for target_session_attrs=read-write.
  std::string Url() const;
  // The database on one node (node 1 or 2) alone.
  std::string NodeUrl(int node) const;
  // kill -9 of the primary's keeper and postmaster; returns its node.
  int KillPrimary();
  // Waits until `node` is the primary and takes writes.
  void AwaitPrimary(int node);
  // Starts the killed `node` again and waits until it is a secondary.
  void Rejoin(int node);
  // A planned switchover (pg_autoctl perform switchover); returns the new
  // primary's node once both nodes have settled.
  int Switchover();

 private:
  // Runs `pg-auto-failover COMMAND`, which prints a node's port; its node.
  int NodeAfter(const std::string& command);

  std::string root_;
  int ports_[3];  // monitor, node1, node2
};

// The cluster shared by every test of this binary, started on first use.
PostgresServer& SharedPostgres();

// A tmpfs of `size_mb` MiB on a fresh folder, owned by the postgres user (a
// tablespace's place), unmounted with the object. Mounting needs root; a
// test checks mounted() and says why it cannot go on without.
class SmallFilesystem {
 public:
  explicit SmallFilesystem(int size_mb);
  ~SmallFilesystem();
  SmallFilesystem(const SmallFilesystem&) = delete;
  SmallFilesystem& operator=(const SmallFilesystem&) = delete;

  bool mounted() const { return mounted_; }
  // Why it is not mounted.
  const std::string& error() const { return error_; }
  const std::string& path() const { return path_; }
  // Free bytes now.
  int64_t free_bytes() const;
  // Grows (or shrinks) it in place: the operator's larger volume.
  void Resize(int size_mb);

 private:
  std::string path_;
  bool mounted_ = false;
  std::string error_;
};

// PgBouncer (scripts/pgbouncer-start) in transaction pooling mode in front
// of every database of `backend`, with `pool_size` server connections per
// database, on a free loopback port. Stops with the object, or with the
// test process.
class PgBouncer {
 public:
  PgBouncer(const PostgresServer& backend, int pool_size);  // aborts on failure
  ~PgBouncer();

  // `url`, a database of the backend, reached through the pooler.
  std::string Through(const std::string& url) const;
  // The pooler's admin console (SHOW POOLS, SHOW STATS).
  std::string AdminUrl() const;
  // Stops it (its clients' connections break) and starts it again on the
  // same port.
  void Restart();

 private:
  void Start();

  std::string root_;
  int backend_port_;
  int pool_size_;
  int port_;
};

// With HUB_TEST_POOLER=pgbouncer in the environment, every hubd of the
// tests whose database is on SharedPostgres() reaches it through one
// PgBouncer (--database_pooler_url), started on first use with a few server
// connections per database, so that hubd's connections share server
// sessions: how ctest runs the publish, delivery and Pub/Sub suites again
// (tests/CMakeLists.txt).
bool TestsThroughPooler();

class HubProcess {
 public:
  HubProcess(std::string database_url, std::vector<std::string> extra_flags = {});
  ~HubProcess();

  // Starts hubd and waits until it answers; fails the test otherwise. Call
  // it from the test's main thread: hubd dies with the thread that started
  // it (PR_SET_PDEATHSIG).
  void Start();
  void Kill();  // SIGKILL, and reap
  // SIGTERM; returns how long the exit took, or an error if it did not exit
  // within `limit` (it is then killed).
  absl::StatusOr<absl::Duration> Terminate(absl::Duration limit = absl::Seconds(10));
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

  std::string address() const;
  std::shared_ptr<grpc::Channel> Channel() const;
  std::unique_ptr<v1::Publisher::Stub> Publisher() const;
  std::unique_ptr<v1::Subscriber::Stub> Subscriber() const;
  int metrics_port() const { return metrics_port_; }
  // The credentials of Channel() and of the readiness check (TLS).
  void UseCredentials(std::shared_ptr<grpc::ChannelCredentials> credentials) {
    credentials_ = std::move(credentials);
  }
  std::string log_path() const { return log_path_; }
  // hubd starts with this open-file limit (soft and hard); 0: inherited.
  void LimitOpenFiles(int limit) { open_file_limit_ = limit; }

 private:
  std::string database_url_;
  std::vector<std::string> extra_flags_;
  int port_;
  int metrics_port_;
  std::string log_path_;
  std::shared_ptr<grpc::ChannelCredentials> credentials_;
  pid_t pid_ = -1;
  int open_file_limit_ = 0;
};

// A helper program run as its own process (so it can be SIGSTOPped or
// killed), talking lines over its stdin and stdout. Dies with the test.
class ChildProcess {
 public:
  explicit ChildProcess(std::vector<std::string> argv);
  ~ChildProcess();

  // The next line of its stdout without the newline; empty at EOF or after
  // `limit`.
  std::string ReadLine(absl::Duration limit = absl::Seconds(30));
  // Its stdout is closed: it exited (or closed it).
  bool at_eof() const { return eof_; }
  void WriteLine(const std::string& line);
  void Signal(int sig);
  void Kill();
  // Waits for it to exit; its exit code, or -1.
  int Wait();

 private:
  pid_t pid_ = -1;
  int in_ = -1;   // its stdin
  int out_ = -1;  // its stdout
  std::string buffer_;
  bool eof_ = false;
};

// Path of the test helper programs built beside the tests.
std::string TestConsumerPath();
std::string InboxConsumerPath();
std::string HubctlPath();

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
// Runs `command` with /bin/sh and waits for it; stdout and stderr apart.
CommandResult RunCommand(const std::string& command);

// Writes a hubd tokens file at `path`: the token of each principal is
// "t-" and its name ("t-ops" for ops).
void WriteTokensFile(const std::string& path, const std::vector<std::string>& principals);

// A temporary folder holding a tokens file of `principals` (as
// WriteTokensFile makes it) and a policy file, removed when destroyed.
class AccessFiles {
 public:
  AccessFiles(const std::vector<std::string>& principals, const std::string& policy);
  ~AccessFiles();
  AccessFiles(const AccessFiles&) = delete;
  AccessFiles& operator=(const AccessFiles&) = delete;

  const std::string& dir() const { return dir_; }
  // hubd's --tokens_file and --policy_file for them.
  std::vector<std::string> Flags() const;

 private:
  std::string dir_;
};

// GET http://127.0.0.1:port/path; the body, or an empty string (also when
// no answer came within 5 s).
std::string HttpGet(int port, const std::string& path);

// The value on hubd's /metrics of the first line that starts with `series`
// (a name, or a name with the start of its labels: `hub_x{subscription="a"`);
// 0 when there is none (a series at zero may be absent), NaN when the value
// does not parse.
double MetricValue(const HubProcess& hubd, const std::string& series);

// A channel to `address` with no receive size limit; plaintext unless
// `credentials` are given.
std::shared_ptr<grpc::Channel> MakeChannel(
    const std::string& address, std::shared_ptr<grpc::ChannelCredentials> credentials = nullptr);

// Of a running process: its threads, and its resident set in MiB.
int ThreadCount(pid_t pid);
double RssMiB(pid_t pid);

// Samples a process's resident set every 20 ms on its own thread, from
// construction until Stop, which returns the largest sample in MiB.
class PeakRss {
 public:
  explicit PeakRss(pid_t pid);
  ~PeakRss();
  double Stop();

 private:
  const pid_t pid_;
  std::atomic<bool> stopping_{false};
  std::atomic<double> peak_{0};
  std::thread thread_;
};

// Runs a SQL query against `url` and returns the first column of the first
// row as text (empty when there is none).
std::string QueryValue(const std::string& url, const std::string& sql);

// The plan EXPLAIN prints for `statement` in `tx`, one line per row.
std::string Explain(pqxx::transaction_base& tx, const std::string& statement);

// Whether one line of `plan` is an index condition holding every one of
// `parts` (what a plan test asks of the scan it pins).
bool HasIndexCond(const std::string& plan, std::initializer_list<absl::string_view> parts);

// SQL: how many messages the hub stores (those its segments hold).
inline constexpr char kCountStoredMessages[] =
    "SELECT COALESCE(sum(cardinality(sizes)), 0) FROM segments";

}  // namespace hub::testing

#endif  // TESTS_SUPPORT_TEST_ENV_H_
