#include "tests/support/test_env.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sys/select.h>

#include <fcntl.h>
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>
#include <pqxx/nontransaction>
#include <pqxx/pqxx>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"

namespace hub::testing {
namespace {

std::string Script(const std::string& name) {
  return absl::StrCat(HUB_SOURCE_DIR, "/scripts/", name);
}

void RunOrDie(const std::string& command) {
  if (std::system(command.c_str()) != 0) {
    std::fprintf(stderr, "command failed: %s\n", command.c_str());
    std::abort();
  }
}

}  // namespace

int FreePort() {
  // The kernel may give a port it just gave again once the probe socket is
  // closed (a hubd once got one port for gRPC and metrics both); a port is
  // handed out once per test process.
  static absl::Mutex mu;
  static absl::flat_hash_set<int>* given = new absl::flat_hash_set<int>;
  absl::MutexLock lock(&mu);
  for (;;) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    socklen_t len = sizeof(addr);
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    const int port = ntohs(addr.sin_port);
    close(fd);
    if (given->insert(port).second) return port;
  }
}

PostgresServer::PostgresServer(std::string settings)
    : PostgresServer(Unstarted{}, std::move(settings)) {
  Start();
}

PostgresServer::PostgresServer(Unstarted, std::string settings)
    : settings_(std::move(settings)), port_(FreePort()) {
  char tmpl[] = "/tmp/hub-test-XXXXXX";
  root_ = mkdtemp(tmpl);
  // The postgres user must reach the data folder inside.
  chmod(root_.c_str(), 0755);
  data_dir_ = root_ + "/pg";
}

std::unique_ptr<PostgresServer> PostgresServer::StandbyOf(const PostgresServer& primary) {
  std::unique_ptr<PostgresServer> standby(new PostgresServer(Unstarted{}, primary.settings_));
  // -R writes standby.signal and the primary's address; pg-start then
  // starts it as it would any cluster.
  RunOrDie(absl::StrCat(Script("pg-standby"), " ", standby->data_dir_, " ", primary.port_));
  standby->Start();
  return standby;
}

void PostgresServer::Promote() {
  RunOrDie(absl::StrCat(Script("pg-standby"), " --promote ", data_dir_));
}

void PostgresServer::Start() {
  RunOrDie(absl::StrCat("PG_EXTRA_OPTIONS='", settings_, "' PG_CLOCK_OFFSET='", clock_offset_, "' ",
                        Script("pg-start"), " ", data_dir_, " ", port_, " ", getpid()));
}

void PostgresServer::Stop(const std::string& mode) {
  RunOrDie(absl::StrCat(Script("pg-stop"), " ", data_dir_, " ", mode));
}

void PostgresServer::SignalAuxiliary(const std::string& role, int sig) {
  // The postmaster's pid is the first line of postmaster.pid; its children
  // carry their role in their command line.
  std::ifstream pid_file(data_dir_ + "/postmaster.pid");
  std::string postmaster;
  std::getline(pid_file, postmaster);
  const std::string title = "postgres: " + role;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string pid = entry.path().filename();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    std::getline(stat, line);
    // pid (comm) state ppid ...; comm may hold spaces, so parse after ')'.
    const size_t close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    std::string state, ppid;
    rest >> state >> ppid;
    if (ppid != postmaster) continue;
    std::ifstream cmdline_file(entry.path() / "cmdline");
    std::string cmdline;
    std::getline(cmdline_file, cmdline, '\0');
    if (absl::StartsWith(cmdline, title)) {
      ASSERT_EQ(kill(std::stoi(pid), sig), 0);
      return;
    }
  }
  FAIL() << "no process " << title << " under postmaster " << postmaster;
}

PostgresServer::~PostgresServer() {
  // Best effort: a test may have stopped it already.
  std::system(
      absl::StrCat(Script("pg-stop"), " ", data_dir_, " immediate >/dev/null 2>&1").c_str());
  std::system(absl::StrCat("rm -rf ", root_).c_str());
}

std::string PostgresServer::Url(const std::string& database) const {
  return absl::StrCat("postgresql://postgres@127.0.0.1:", port_, "/", database);
}

std::string PostgresServer::CreateDatabase() {
  const std::string name = absl::StrCat("hub_test_", getpid(), "_", ++databases_);
  pqxx::connection conn(Url("postgres"));
  pqxx::nontransaction tx(conn);
  tx.exec("CREATE DATABASE " + name);
  return Url(name);
}

AutoFailoverFormation::AutoFailoverFormation() : ports_{FreePort(), FreePort(), FreePort()} {
  char tmpl[] = "/tmp/hub-test-XXXXXX";
  root_ = mkdtemp(tmpl);
  // The postgres user must reach the formation's folder inside.
  chmod(root_.c_str(), 0755);
  RunOrDie(absl::StrCat(Script("pg-auto-failover"), " start ", root_, "/formation ", ports_[0], " ",
                        ports_[1], " ", ports_[2], " ", getpid()));
}

AutoFailoverFormation::~AutoFailoverFormation() {
  std::system(absl::StrCat(Script("pg-auto-failover"), " stop ", root_, "/formation").c_str());
  std::system(absl::StrCat("rm -rf ", root_).c_str());
}

std::string AutoFailoverFormation::Url() const {
  return absl::StrCat("postgresql://postgres@127.0.0.1:", ports_[1], ",127.0.0.1:", ports_[2],
                      "/hub?target_session_attrs=read-write");
}

std::string AutoFailoverFormation::NodeUrl(int node) const {
  return absl::StrCat("postgresql://postgres@127.0.0.1:", ports_[node], "/hub");
}

int AutoFailoverFormation::KillPrimary() { return NodeAfter("kill-primary"); }

int AutoFailoverFormation::Switchover() { return NodeAfter("switchover"); }

int AutoFailoverFormation::NodeAfter(const std::string& command) {
  const CommandResult r =
      RunCommand(absl::StrCat(Script("pg-auto-failover"), " ", command, " ", root_, "/formation"));
  int port = 0;
  if (r.exit_code != 0 || !absl::SimpleAtoi(absl::StripAsciiWhitespace(r.out), &port)) {
    std::fprintf(stderr, "pg-auto-failover %s failed (%d): %s%s\n", command.c_str(), r.exit_code,
                 r.out.c_str(), r.err.c_str());
    std::abort();
  }
  return port == ports_[1] ? 1 : 2;
}

void AutoFailoverFormation::AwaitPrimary(int node) {
  RunOrDie(absl::StrCat(Script("pg-auto-failover"), " await-primary ", root_, "/formation ",
                        ports_[node]));
}

void AutoFailoverFormation::Rejoin(int node) {
  RunOrDie(absl::StrCat(Script("pg-auto-failover"), " rejoin ", root_, "/formation node", node));
}

PostgresServer& SharedPostgres() {
  // Deliberately leaked until exit: destroyed by the atexit below, after
  // every test, even when a test fails.
  static PostgresServer* server = [] {
    auto* s = new PostgresServer();
    std::atexit([] { delete server; });
    return s;
  }();
  return *server;
}

PgBouncer::PgBouncer(const PostgresServer& backend, int pool_size)
    : backend_port_(backend.port()), pool_size_(pool_size), port_(FreePort()) {
  char tmpl[] = "/tmp/hub-test-XXXXXX";
  root_ = mkdtemp(tmpl);
  // The postgres user, which PgBouncer runs as, must reach the folder.
  chmod(root_.c_str(), 0755);
  Start();
}

PgBouncer::~PgBouncer() {
  std::system(absl::StrCat(Script("pgbouncer-start"), " --stop ", root_, "/pgbouncer").c_str());
  std::system(absl::StrCat("rm -rf ", root_).c_str());
}

void PgBouncer::Start() {
  RunOrDie(absl::StrCat(Script("pgbouncer-start"), " ", root_, "/pgbouncer ", port_, " ",
                        backend_port_, " ", pool_size_, " ", getpid()));
}

void PgBouncer::Restart() {
  RunOrDie(absl::StrCat(Script("pgbouncer-start"), " --stop ", root_, "/pgbouncer"));
  Start();
}

std::string PgBouncer::Through(const std::string& url) const {
  return absl::StrReplaceAll(url, {{absl::StrCat("127.0.0.1:", backend_port_, "/"),
                                    absl::StrCat("127.0.0.1:", port_, "/")}});
}

std::string PgBouncer::AdminUrl() const {
  return absl::StrCat("postgresql://postgres@127.0.0.1:", port_, "/pgbouncer");
}

bool TestsThroughPooler() {
  const char* pooler = std::getenv("HUB_TEST_POOLER");
  return pooler != nullptr && std::string(pooler) == "pgbouncer";
}

namespace {

// The pooled URL of `database_url` when the tests run through a pooler and
// the database is on the shared cluster; empty otherwise.
std::string TestPoolerUrl(const std::string& database_url) {
  if (!TestsThroughPooler()) return "";
  static PgBouncer* pooler = [] {
    // Fewer server connections than one hubd's pools hold, so that they
    // share sessions; deliberately leaked, like the cluster behind it.
    auto* p = new PgBouncer(SharedPostgres(), 6);
    std::atexit([] { delete pooler; });
    return p;
  }();
  const std::string pooled = pooler->Through(database_url);
  return pooled == database_url ? "" : pooled;
}

}  // namespace

SmallFilesystem::SmallFilesystem(int size_mb) {
  char tmpl[] = "/tmp/hub-disk-XXXXXX";
  path_ = mkdtemp(tmpl);
  const CommandResult r = RunCommand(
      absl::StrCat("mount -t tmpfs -o size=", size_mb,
                   "m,mode=0700,uid=$(id -u postgres),gid=$(id -g postgres) tmpfs ", path_));
  mounted_ = r.exit_code == 0;
  error_ = r.err;
}

SmallFilesystem::~SmallFilesystem() {
  if (mounted_) umount2(path_.c_str(), MNT_DETACH);
  rmdir(path_.c_str());
}

int64_t SmallFilesystem::free_bytes() const {
  struct statvfs fs;
  if (statvfs(path_.c_str(), &fs) != 0) return -1;
  return static_cast<int64_t>(fs.f_bavail) * static_cast<int64_t>(fs.f_frsize);
}

void SmallFilesystem::Resize(int size_mb) {
  RunOrDie(absl::StrCat("mount -o remount,size=", size_mb, "m ", path_));
}

HubProcess::HubProcess(std::string database_url, std::vector<std::string> extra_flags)
    : database_url_(std::move(database_url)),
      extra_flags_(std::move(extra_flags)),
      port_(FreePort()),
      metrics_port_(FreePort()) {
  log_path_ = absl::StrCat("/tmp/hubd-test-", getpid(), "-", port_, ".log");
}

HubProcess::~HubProcess() {
  if (running()) Kill();
}

std::string HubProcess::address() const { return absl::StrCat("127.0.0.1:", port_); }

void HubProcess::Start() {
  std::vector<std::string> args = {HUBD_PATH, absl::StrCat("--listen=", address()),
                                   absl::StrCat("--metrics_listen=127.0.0.1:", metrics_port_),
                                   "--poll_interval=100ms", "--shutdown_grace=3s"};
  args.insert(args.end(), extra_flags_.begin(), extra_flags_.end());
  const std::string pooler_url = TestPoolerUrl(database_url_);
  const pid_t parent = getpid();
  pid_ = fork();
  if (pid_ == 0) {
    // Dies with the test process, so a crashed test leaves no hubd behind.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    const int log = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(log, 1);
    dup2(log, 2);
    setenv("HUB_DATABASE_URL", database_url_.c_str(), 1);
    if (!pooler_url.empty()) setenv("HUB_DATABASE_POOLER_URL", pooler_url.c_str(), 1);
    if (open_file_limit_ > 0) {
      const rlimit limit{static_cast<rlim_t>(open_file_limit_),
                         static_cast<rlim_t>(open_file_limit_)};
      setrlimit(RLIMIT_NOFILE, &limit);
    }
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  // Ready when a call goes through: hubd listens only after migrations. A
  // fresh channel per try, so no reconnect backoff adds to the wait.
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (absl::Now() < deadline) {
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Milliseconds(500)));
    v1::ListTopicsRequest req;
    v1::ListTopicsResponse resp;
    // An answer means hubd serves (it listens only after its migrations);
    // with access control on, the answer to an anonymous call is a refusal.
    const grpc::Status answer = Publisher()->ListTopics(&ctx, req, &resp);
    if (answer.ok() || answer.error_code() == grpc::StatusCode::UNAUTHENTICATED) return;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      FAIL() << "hubd exited at start; log: " << log_path_;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  FAIL() << "hubd did not become ready; log: " << log_path_;
}

void HubProcess::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

absl::StatusOr<absl::Duration> HubProcess::Terminate(absl::Duration limit) {
  const absl::Time start = absl::Now();
  kill(pid_, SIGTERM);
  while (absl::Now() - start < limit) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        return absl::InternalError(absl::StrCat("hubd exited with status ", status));
      }
      return absl::Now() - start;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  Kill();
  return absl::DeadlineExceededError("hubd did not exit after SIGTERM");
}

int ThreadCount(pid_t pid) {
  int n = 0;
  for ([[maybe_unused]] const auto& task :
       std::filesystem::directory_iterator(absl::StrCat("/proc/", pid, "/task"))) {
    ++n;
  }
  return n;
}

double RssMiB(pid_t pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  for (std::string line; std::getline(status, line);) {
    if (!absl::StartsWith(line, "VmRSS:")) continue;
    int64_t kib = 0;
    if (absl::SimpleAtoi(absl::StripAsciiWhitespace(line.substr(6, line.size() - 9)), &kib)) {
      return kib / 1024.0;
    }
  }
  return 0;
}

PeakRss::PeakRss(pid_t pid)
    : pid_(pid), thread_([this] {
        while (!stopping_) {
          peak_ = std::max(peak_.load(), RssMiB(pid_));
          absl::SleepFor(absl::Milliseconds(20));
        }
      }) {}

PeakRss::~PeakRss() { Stop(); }

double PeakRss::Stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
  return peak_;
}

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address,
                                           std::shared_ptr<grpc::ChannelCredentials> credentials) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);
  args.SetMaxSendMessageSize(-1);
  // Each stub gets its own connection, as separate clients would.
  args.SetInt("grpc.use_local_subchannel_pool", 1);
  return grpc::CreateCustomChannel(
      address, credentials ? credentials : grpc::InsecureChannelCredentials(), args);
}

std::shared_ptr<grpc::Channel> HubProcess::Channel() const {
  return MakeChannel(address(), credentials_);
}

std::unique_ptr<v1::Publisher::Stub> HubProcess::Publisher() const {
  return v1::Publisher::NewStub(Channel());
}

std::unique_ptr<v1::Subscriber::Stub> HubProcess::Subscriber() const {
  return v1::Subscriber::NewStub(Channel());
}

ChildProcess::ChildProcess(std::vector<std::string> argv) {
  int to_child[2], from_child[2];
  if (pipe(to_child) != 0 || pipe(from_child) != 0) std::abort();
  const pid_t parent = getpid();
  pid_ = fork();
  if (pid_ == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    dup2(to_child[0], 0);
    dup2(from_child[1], 1);
    close(to_child[1]);
    close(from_child[0]);
    std::vector<char*> args;
    for (std::string& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(to_child[0]);
  close(from_child[1]);
  in_ = to_child[1];
  out_ = from_child[0];
}

ChildProcess::~ChildProcess() {
  Kill();
  if (in_ >= 0) close(in_);
  if (out_ >= 0) close(out_);
}

std::string ChildProcess::ReadLine(absl::Duration limit) {
  const absl::Time deadline = absl::Now() + limit;
  for (;;) {
    const size_t newline = buffer_.find('\n');
    if (newline != std::string::npos) {
      std::string line = buffer_.substr(0, newline);
      buffer_.erase(0, newline + 1);
      return line;
    }
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return "";
    fd_set fds;
    FD_ZERO(&fds);
    FD_SET(out_, &fds);
    timeval tv{
        0, static_cast<suseconds_t>(std::min<int64_t>(absl::ToInt64Microseconds(left), 200000))};
    if (select(out_ + 1, &fds, nullptr, nullptr, &tv) <= 0) continue;
    char chunk[4096];
    const ssize_t n = read(out_, chunk, sizeof(chunk));
    if (n <= 0) {
      eof_ = true;
      return "";
    }
    buffer_.append(chunk, static_cast<size_t>(n));
  }
}

void ChildProcess::WriteLine(const std::string& line) {
  const std::string text = line + "\n";
  if (write(in_, text.data(), text.size()) < 0) return;
}

void ChildProcess::Signal(int sig) {
  if (pid_ > 0) kill(pid_, sig);
}

void ChildProcess::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

int ChildProcess::Wait() {
  if (pid_ <= 0) return -1;
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string TestConsumerPath() { return TEST_CONSUMER_PATH; }
std::string InboxConsumerPath() { return INBOX_CONSUMER_PATH; }
std::string HubctlPath() { return HUBCTL_PATH; }

void WriteTokensFile(const std::string& path, const std::vector<std::string>& principals) {
  std::ofstream tokens(path);
  for (const std::string& principal : principals) {
    tokens << RunCommand(absl::StrCat("printf %s t-", principal, " | sha256sum")).out.substr(0, 64)
           << " " << principal << "\n";
  }
}

AccessFiles::AccessFiles(const std::vector<std::string>& principals, const std::string& policy) {
  char tmpl[] = "/tmp/hub-access-XXXXXX";
  dir_ = mkdtemp(tmpl);
  WriteTokensFile(dir_ + "/tokens", principals);
  std::ofstream(dir_ + "/policy") << policy;
}

AccessFiles::~AccessFiles() { RunCommand("rm -rf " + dir_); }

std::vector<std::string> AccessFiles::Flags() const {
  return {"--tokens_file=" + dir_ + "/tokens", "--policy_file=" + dir_ + "/policy"};
}

CommandResult RunCommand(const std::string& command) {
  char err_path[] = "/tmp/hub-test-stderr-XXXXXX";
  const int err_fd = mkstemp(err_path);
  close(err_fd);
  CommandResult result;
  FILE* pipe = popen(absl::StrCat(command, " 2>", err_path).c_str(), "r");
  if (pipe == nullptr) return result;
  char chunk[4096];
  size_t n;
  while ((n = fread(chunk, 1, sizeof(chunk), pipe)) > 0) result.out.append(chunk, n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::FILE* err = std::fopen(err_path, "r");
  while (err != nullptr && (n = std::fread(chunk, 1, sizeof(chunk), err)) > 0) {
    result.err.append(chunk, n);
  }
  if (err != nullptr) std::fclose(err);
  unlink(err_path);
  return result;
}

double MetricValue(const HubProcess& hubd, const std::string& series) {
  const std::string text = "\n" + HttpGet(hubd.metrics_port(), "/metrics") + "\n";
  const std::string start = "\n" + series;
  // A bare name ends at a space or a brace: "hub_x" is not "hub_x_total".
  const bool bare_name = series.find('{') == std::string::npos;
  for (size_t at = text.find(start); at != std::string::npos; at = text.find(start, at + 1)) {
    const char next = text[at + start.size()];
    if (bare_name && next != ' ' && next != '{') continue;
    const size_t end = text.find('\n', at + 1);
    const std::string line = text.substr(at + 1, end - at - 1);
    double value = 0;
    if (!absl::SimpleAtod(line.substr(line.rfind(' ') + 1), &value)) return std::nan("");
    return value;
  }
  return 0;
}

std::string HttpGet(int port, const std::string& path) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  // A server that does not answer (one out of file descriptors) is an
  // empty answer after a while, not a test that hangs.
  const timeval timeout{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return "";
  }
  const std::string request =
      // HTTP/1.0: the answer comes whole, never chunked.
      absl::StrCat("GET ", path, " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
  if (write(fd, request.data(), request.size()) < 0) {
    close(fd);
    return "";
  }
  std::string response;
  char chunk[8192];
  ssize_t n;
  while ((n = read(fd, chunk, sizeof(chunk))) > 0) response.append(chunk, static_cast<size_t>(n));
  close(fd);
  const size_t body = response.find("\r\n\r\n");
  return body == std::string::npos ? "" : response.substr(body + 4);
}

std::string QueryValue(const std::string& url, const std::string& sql) {
  pqxx::connection conn(url);
  pqxx::nontransaction tx(conn);
  pqxx::result r = tx.exec(sql);
  if (r.empty() || r[0][0].is_null()) return "";
  return r[0][0].c_str();
}

std::string Explain(pqxx::transaction_base& tx, const std::string& statement) {
  std::string plan;
  for (const auto& row : tx.exec("EXPLAIN " + statement)) plan += row[0].as<std::string>() + "\n";
  return plan;
}

bool HasIndexCond(const std::string& plan, std::initializer_list<absl::string_view> parts) {
  for (absl::string_view line : absl::StrSplit(plan, '\n')) {
    if (absl::StrContains(line, "Index Cond") &&
        std::all_of(parts.begin(), parts.end(),
                    [&](absl::string_view part) { return absl::StrContains(line, part); })) {
      return true;
    }
  }
  return false;
}

}  // namespace hub::testing
