#include "bench/report.h"

#include <cmath>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/cpu.h"

namespace hub::bench {
namespace {

constexpr char kBegin[] = "<!-- results:begin (bench/run writes this part) -->";
constexpr char kEnd[] = "<!-- results:end -->";

std::string Ms(double ms) { return ms == 0 ? "-" : absl::StrFormat("%.2f", ms); }

}  // namespace

std::string Thousands(double value) {
  std::string digits = absl::StrCat(static_cast<int64_t>(std::llround(value)));
  for (int i = static_cast<int>(digits.size()) - 3; i > 0; i -= 3) digits.insert(i, ",");
  return digits;
}

std::string ResultsMarkdown(const std::vector<Result>& results) {
  std::string out =
      "| scenario | system | figure | value | publish p50 / p99 / p999 ms | "
      "publish-to-deliver p50 / p99 / p999 ms | note |\n"
      "|---|---|---|---:|---|---|---|\n";
  for (const Result& r : results) {
    const Outcome& o = r.outcome;
    const std::string publish =
        o.publish_latency.count == 0
            ? "-"
            : absl::StrCat(Ms(o.publish_latency.p50_ms), " / ", Ms(o.publish_latency.p99_ms), " / ",
                           Ms(o.publish_latency.p999_ms));
    const std::string delivery =
        o.delivery_latency.count == 0
            ? "-"
            : absl::StrCat(Ms(o.delivery_latency.p50_ms), " / ", Ms(o.delivery_latency.p99_ms),
                           " / ", Ms(o.delivery_latency.p999_ms));
    std::string note = r.note;
    if (!o.error.empty()) absl::StrAppend(&note, note.empty() ? "" : "; ", "error: ", o.error);
    absl::StrAppend(&out, "| ", r.scenario, " | ", r.system, " | ", r.figure, " | ",
                    r.value >= 100 ? Thousands(r.value) : absl::StrFormat("%.2f", r.value), " | ",
                    publish, " | ", delivery, " | ", note, " |\n");
  }
  return out;
}

double ServerCpuPerMillion(const Result& r) {
  if (r.outcome.published == 0) return 0;
  double seconds = 0;
  for (const auto& [name, s] : r.cpu_seconds) {
    if (name != kLoadGenerator) seconds += s;
  }
  return seconds * 1e6 / static_cast<double>(r.outcome.published);
}

std::string CpuBreakdown(const Result& r) {
  std::string out;
  if (r.outcome.published == 0) return out;
  for (const auto& [name, s] : r.cpu_seconds) {
    absl::StrAppend(&out, out.empty() ? "" : ", ", name, " ",
                    absl::StrFormat("%.1f", s * 1e6 / static_cast<double>(r.outcome.published)));
  }
  return out;
}

std::string CpuMarkdown(const std::vector<Result>& results) {
  std::string out =
      "| scenario | system | figure | value | CPU s per 1M messages, servers | by process |\n"
      "|---|---|---|---:|---:|---|\n";
  for (const Result& r : results) {
    if (r.cpu_seconds.empty() || r.outcome.published == 0) continue;
    absl::StrAppend(&out, "| ", r.scenario, " | ", r.system, " | ", r.figure, " | ",
                    Thousands(r.value), " | ", absl::StrFormat("%.1f", ServerCpuPerMillion(r)),
                    " | ", CpuBreakdown(r), " |\n");
  }
  return out;
}

std::string TargetsMarkdown(const std::vector<Target>& targets) {
  std::string out = "| target | this run | met |\n|---|---|---|\n";
  for (const Target& t : targets) {
    absl::StrAppend(&out, "| ", t.name, " | ", t.figure, " | ", t.met ? "yes" : "**no**", " |\n");
  }
  return out;
}

bool WriteGeneratedSection(const std::string& path, const std::string& section) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  std::string doc = text.str();
  const size_t begin = doc.find(kBegin);
  const size_t end = doc.find(kEnd);
  const std::string generated = absl::StrCat(kBegin, "\n", section, kEnd);
  if (begin == std::string::npos || end == std::string::npos || end < begin) {
    absl::StrAppend(&doc, doc.empty() ? "" : "\n", generated, "\n");
  } else {
    doc.replace(begin, end + std::string(kEnd).size() - begin, generated);
  }
  std::ofstream out(path);
  out << doc;
  return static_cast<bool>(out);
}

}  // namespace hub::bench
