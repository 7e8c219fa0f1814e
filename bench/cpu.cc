#include "bench/cpu.h"

#include <dirent.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace hub::bench {
namespace {

struct Stat {
  int ppid = 0;
  int64_t ticks = 0;  // utime + stime + cutime + cstime
};

// /proc/<pid>/stat past the command (which may hold spaces and parentheses):
// fields 3 (state), 4 (ppid) ... 14-17 (utime, stime, cutime, cstime).
bool ReadStat(const std::string& path, Stat& out) {
  std::ifstream file(path);
  std::string line;
  if (!std::getline(file, line)) return false;
  const size_t close = line.rfind(')');
  if (close == std::string::npos) return false;
  std::istringstream fields(line.substr(close + 2));
  std::vector<std::string> f;
  for (std::string field; fields >> field;) f.push_back(field);
  if (f.size() < 15) return false;
  out.ppid = std::atoi(f[1].c_str());
  out.ticks = 0;
  for (int i = 11; i <= 14; ++i) out.ticks += std::atoll(f[i].c_str());
  return true;
}

double TicksToSeconds(int64_t ticks) {
  return static_cast<double>(ticks) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

}  // namespace

double TreeCpuSeconds(int pid) {
  if (pid <= 0) return 0;
  std::map<int, Stat> all;
  if (DIR* proc = opendir("/proc")) {
    while (const dirent* entry = readdir(proc)) {
      int id = 0;
      Stat stat;
      if (absl::SimpleAtoi(entry->d_name, &id) &&
          ReadStat(absl::StrCat("/proc/", id, "/stat"), stat)) {
        all[id] = stat;
      }
    }
    closedir(proc);
  }
  // Descendants by repeated passes: a pid's parent may sort after it.
  std::map<int, int64_t> tree;
  if (auto root = all.find(pid); root != all.end()) tree[pid] = root->second.ticks;
  for (bool grew = !tree.empty(); grew;) {
    grew = false;
    for (const auto& [id, stat] : all) {
      if (tree.count(id) == 0 && tree.count(stat.ppid) != 0) {
        tree[id] = stat.ticks;
        grew = true;
      }
    }
  }
  int64_t ticks = 0;
  for (const auto& [id, t] : tree) ticks += t;
  return TicksToSeconds(ticks);
}

CpuMeter::CpuMeter(std::map<std::string, int> roots) : roots_(std::move(roots)) {}

std::map<std::string, double> CpuMeter::Measure(const std::vector<std::string>& processes,
                                                const std::function<void()>& run) const {
  std::map<std::string, int> measured;
  for (const std::string& name : processes) {
    if (auto it = roots_.find(name); it != roots_.end() && it->second > 0)
      measured[name] = it->second;
  }
  measured[kLoadGenerator] = getpid();
  std::map<std::string, double> before;
  for (const auto& [name, pid] : measured) before[name] = TreeCpuSeconds(pid);
  run();
  std::map<std::string, double> used;
  for (const auto& [name, pid] : measured) used[name] = TreeCpuSeconds(pid) - before[name];
  return used;
}

}  // namespace hub::bench
