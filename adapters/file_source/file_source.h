#ifndef ADAPTERS_FILE_SOURCE_FILE_SOURCE_H_
#define ADAPTERS_FILE_SOURCE_FILE_SOURCE_H_

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "adapters/file_source/records.h"
#include "adapters/runtime/runtime.h"
#include "client/publisher.h"

namespace hub::adapters {

struct FileSourceConfig {
  std::string topic;
  // Glob patterns. Include the names rotation gives (app.log*) so that a
  // rotated file is read to its end after a restart too.
  std::vector<std::string> paths;
  std::string position_file;
  std::string delimiter = "\n";
  // Added to every message, with `file` (the path it was read from).
  std::map<std::string, std::string> attributes;
  absl::Duration poll_interval = absl::Milliseconds(250);
  int64_t max_record_bytes = 256 * 1024;
  // Records per publish-then-save step.
  int64_t max_batch_records = 1000;
  // Where to start in a file never seen before.
  bool start_at_end = false;
  std::string key_prefix;
  // Create the topic at start when it does not exist (defaults of docs/api.md).
  bool create_topic = false;

  static absl::StatusOr<FileSourceConfig> Read(ConfigSection& section);
};

// Tails the files matching `paths` and publishes their records, one message
// each. The idempotency key of a record is its file's identity, the file's
// truncation generation and the record's offset, and the position file is
// saved only after the hub committed the records before it: a crash at any
// point re-publishes at most the unsaved records under the same keys, which
// the hub's dedup window turns into nothing.
class FileSource final : public Adapter {
 public:
  using Config = FileSourceConfig;
  FileSource(FileSourceConfig config, AdapterEnv& env);
  ~FileSource() override;

  absl::Status Run(const absl::Notification& stop) override;
  // Not while the position file cannot be written.
  bool Ready() const override { return positions_saved_; }

 private:
  struct TrackedFile {
    int fd = -1;
    FilePosition position;
    bool matched = false;  // by a pattern in the latest scan
  };

  // Globs, opens files not seen before, publishes what is new in each and
  // forgets files that left the patterns and were read to the end.
  absl::Status Scan(const absl::Notification& stop);
  // One publish-then-save step; whether it made progress.
  absl::StatusOr<bool> PublishNext(TrackedFile& file, bool take_tail,
                                   const absl::Notification& stop);
  absl::Status SavePositions();
  // Until it exists, or an error waiting cannot fix.
  absl::Status EnsureTopic(const absl::Notification& stop);
  // Logs what was published per file since the last report (every
  // kReportInterval, and at the end), so the log says what the adapter did.
  void Report(absl::Time now, bool last);

  const FileSourceConfig config_;
  const client::Connection connection_;
  client::Publisher publisher_;
  prometheus::Counter& published_;
  prometheus::Counter& duplicates_;
  prometheus::Counter& dropped_;
  // By identity.
  std::map<std::string, TrackedFile> files_;
  // Loaded at start, consulted by the first scan only: files gone while the
  // adapter was down are forgotten.
  std::map<std::string, FilePosition> saved_;
  std::string buffer_;
  // Records published and found duplicate since the last report, by path.
  std::map<std::string, std::pair<int64_t, int64_t>> unreported_;
  absl::Time reported_ = absl::Now();
  std::atomic<bool> positions_saved_{true};
};

}  // namespace hub::adapters

#endif  // ADAPTERS_FILE_SOURCE_FILE_SOURCE_H_
