#ifndef BENCH_CPU_H_
#define BENCH_CPU_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

// CPU time of the processes a run involves, from /proc, so that systems are
// compared by what each message costs and not only by what two shared cores
// let through (docs/benchmarks.md, "CPU per message").
namespace hub::bench {

// The name under which the load generator (this process: producers,
// consumers and their client libraries) is reported.
inline constexpr char kLoadGenerator[] = "load generator";

// CPU seconds used so far by process `pid` and its descendants, including
// the children they reaped: a PostgreSQL backend that exited during a run is
// counted in the postmaster's reaped time. 0 when there is no such process.
double TreeCpuSeconds(int pid);

class CpuMeter {
 public:
  // The server processes by name ("postgres", "hubd", ...): each one's root
  // pid; 0 leaves it out.
  explicit CpuMeter(std::map<std::string, int> roots);
  // Adds or replaces a root (servers started during the run).
  void SetRoot(const std::string& name, int pid) { roots_[name] = pid; }

  // The CPU seconds each of `processes` and the load generator used while
  // `run` ran, by name.
  std::map<std::string, double> Measure(const std::vector<std::string>& processes,
                                        const std::function<void()>& run) const;

 private:
  std::map<std::string, int> roots_;
};

}  // namespace hub::bench

#endif  // BENCH_CPU_H_
