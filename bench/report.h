#ifndef BENCH_REPORT_H_
#define BENCH_REPORT_H_

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
};

// A target of issue 5, evaluated on this run's figures.
struct Target {
  std::string name;
  std::string figure;  // e.g. "0.62x (hub 11,200 / raw 18,000 msg/s)"
  bool met = false;
};

// The results and targets as Markdown tables.
std::string ResultsMarkdown(const std::vector<Result>& results);
std::string TargetsMarkdown(const std::vector<Target>& targets);

// Replaces what lies between the begin and end markers of `path` with
// `section`; the rest of the file (the hand-written analysis) stays.
bool WriteGeneratedSection(const std::string& path, const std::string& section);

std::string Thousands(double value);

}  // namespace hub::bench

#endif  // BENCH_REPORT_H_
