#ifndef BENCH_REPORT_H_
#define BENCH_REPORT_H_

#include <map>
#include <string>
#include <vector>

#include "bench/scenarios.h"

namespace hub::bench {

// One line of the results table.
struct Result {
  std::string scenario;  // "P1 publish", ...
  std::string system;
  std::string figure;  // what `value` is, e.g. "published msg/s"
  double value = 0;
  Outcome outcome;
  std::string note;
  // CPU seconds each process used during the run, by name (bench/cpu.h);
  // empty when not measured.
  std::map<std::string, double> cpu_seconds;
};

// CPU seconds per million messages published, of the server processes (all
// but the load generator) and of each process.
double ServerCpuPerMillion(const Result& r);
std::string CpuBreakdown(const Result& r);

// A target of issue 5, evaluated on this run's figures.
struct Target {
  std::string name;
  std::string figure;  // e.g. "0.62x (hub 11,200 / raw 18,000 msg/s)"
  bool met = false;
};

// The results, their CPU figures and the targets as Markdown tables.
std::string ResultsMarkdown(const std::vector<Result>& results);
std::string CpuMarkdown(const std::vector<Result>& results);
std::string TargetsMarkdown(const std::vector<Target>& targets);

// Replaces what lies between the begin and end markers of `path` with
// `section`; the rest of the file (the hand-written analysis) stays.
bool WriteGeneratedSection(const std::string& path, const std::string& section);

std::string Thousands(double value);

}  // namespace hub::bench

#endif  // BENCH_REPORT_H_
