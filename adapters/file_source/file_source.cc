#include "adapters/file_source/file_source.h"

#include <fcntl.h>
#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <future>
#include <set>

#include "absl/strings/str_cat.h"
#include "client/admin_client.h"
#include "common/log.h"
#include "common/status_macros.h"

namespace hub::adapters {
namespace {

constexpr size_t kReadBytes = 4 * 1024 * 1024;
// How often the log says what was published, per file.
constexpr absl::Duration kReportInterval = absl::Seconds(10);

// Device, inode and birth time: stable across renames, new for a new file
// even when the file system reuses the inode of a deleted one (where it
// keeps birth times; elsewhere the birth time reads 0).
std::string IdentityOf(int fd) {
  struct statx stx;
  if (statx(fd, "", AT_EMPTY_PATH, STATX_INO | STATX_BTIME, &stx) != 0) return "";
  int64_t birth_ns = (stx.stx_mask & STATX_BTIME)
                         ? int64_t{stx.stx_btime.tv_sec} * 1000000000 + stx.stx_btime.tv_nsec
                         : 0;
  return absl::StrCat(stx.stx_dev_major, ".", stx.stx_dev_minor, "-", stx.stx_ino, "-", birth_ns);
}

int64_t SizeOf(int fd) {
  struct stat st;
  return fstat(fd, &st) == 0 ? st.st_size : -1;
}

std::vector<std::string> Glob(const std::vector<std::string>& patterns) {
  std::set<std::string> paths;
  for (const std::string& pattern : patterns) {
    glob_t matches;
    if (glob(pattern.c_str(), GLOB_NOSORT, nullptr, &matches) == 0) {
      for (size_t i = 0; i < matches.gl_pathc; ++i) paths.insert(matches.gl_pathv[i]);
    }
    globfree(&matches);
  }
  return {paths.begin(), paths.end()};
}

}  // namespace

absl::StatusOr<FileSourceConfig> FileSourceConfig::Read(ConfigSection& section) {
  FileSourceConfig c;
  c.topic = section.RequiredString("topic");
  c.paths = section.StringList("paths");
  if (c.paths.empty()) section.Fail("paths", "is required (glob patterns)");
  c.position_file = section.RequiredString("position_file");
  c.delimiter = section.String("delimiter", c.delimiter);
  if (c.delimiter.empty()) section.Fail("delimiter", "must not be empty");
  c.attributes = section.StringMap("attributes");
  c.poll_interval = section.Duration("poll_interval", c.poll_interval);
  c.max_record_bytes = section.Int("max_record_bytes", c.max_record_bytes, 1, 1024 * 1024);
  c.max_batch_records = section.Int("max_batch_records", c.max_batch_records, 1, 100000);
  std::string start = section.String("start_at", "beginning");
  if (start != "beginning" && start != "end") section.Fail("start_at", "must be beginning or end");
  c.start_at_end = start == "end";
  c.key_prefix = section.String("key_prefix", "");
  c.create_topic = section.Bool("create_topic", false);
  RETURN_IF_ERROR(section.Finish());
  return c;
}

FileSource::FileSource(FileSourceConfig config, AdapterEnv& env)
    : config_(std::move(config)),
      connection_(env.connection),
      publisher_(env.connection, config_.topic,
                 KeyedSourcePublisherOptions(config_.max_batch_records)),
      published_(env.Outcome("published")),
      duplicates_(env.Outcome("duplicate")),
      dropped_(env.Outcome("dropped")) {}

FileSource::~FileSource() {
  for (auto& [identity, file] : files_) close(file.fd);
}

absl::Status FileSource::EnsureTopic(const absl::Notification& stop) {
  client::AdminClient admin(connection_);
  v1::Topic topic;
  topic.set_name(config_.topic);
  while (!stop.HasBeenNotified()) {
    absl::Status status = admin.CreateTopic(topic).status();
    if (status.ok() || absl::IsAlreadyExists(status)) return absl::OkStatus();
    if (absl::IsInvalidArgument(status) || absl::IsPermissionDenied(status) ||
        absl::IsUnauthenticated(status)) {
      return status;
    }
    Log(LogLevel::kWarning, "file_source_create_topic_failed", {{"error", status.ToString()}});
    stop.WaitForNotificationWithTimeout(absl::Seconds(1));
  }
  return absl::OkStatus();
}

absl::Status FileSource::Run(const absl::Notification& stop) {
  ASSIGN_OR_RETURN(std::vector<FilePosition> saved, LoadPositions(config_.position_file));
  // Written back at once: an adapter that cannot save its positions would
  // publish and, after a restart, send everything again; it refuses to
  // start instead, naming the folder.
  if (absl::Status s = adapters::SavePositions(config_.position_file, saved); !s.ok()) {
    const std::filesystem::path folder =
        std::filesystem::absolute(config_.position_file).parent_path();
    return absl::FailedPreconditionError(absl::StrCat(
        "position_file ", config_.position_file, " cannot be written (", s.message(),
        "): create the folder ", folder.string(),
        " with write access for this user, or set position_file to a path in a writable one"));
  }
  for (FilePosition& position : saved) saved_[position.identity] = std::move(position);
  if (config_.create_topic) RETURN_IF_ERROR(EnsureTopic(stop));
  while (!stop.HasBeenNotified()) {
    if (absl::Status status = Scan(stop);
        !status.ok() && positions_saved_ && !stop.HasBeenNotified()) {
      // The hub is away or refuses; nothing was saved past what it
      // committed, so the next scan simply tries again. (A failed save
      // logged its own event; a stop cancels what waits.)
      Log(LogLevel::kWarning, "file_source_publish_failed", {{"error", status.ToString()}});
    }
    Report(absl::Now(), false);
    stop.WaitForNotificationWithTimeout(config_.poll_interval);
  }
  Report(absl::Now(), true);
  return absl::OkStatus();
}

void FileSource::Report(absl::Time now, bool last) {
  if (!last && now - reported_ < kReportInterval) return;
  reported_ = now;
  for (const auto& [path, counts] : unreported_) {
    Log(LogLevel::kInfo, "file_source_published",
        {{"path", path},
         {"records", absl::StrCat(counts.first)},
         {"duplicates", absl::StrCat(counts.second)}});
  }
  unreported_.clear();
}

absl::Status FileSource::Scan(const absl::Notification& stop) {
  for (auto& [identity, file] : files_) file.matched = false;
  for (const std::string& path : Glob(config_.paths)) {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;  // gone between glob and open
    std::string identity = IdentityOf(fd);
    auto it = files_.find(identity);
    if (it != files_.end()) {
      close(fd);
      it->second.matched = true;
      it->second.position.path = path;
      continue;
    }
    TrackedFile file{.fd = fd, .matched = true};
    if (auto old = saved_.find(identity); old != saved_.end()) {
      file.position = old->second;
    } else {
      file.position.identity = identity;
      file.position.offset = config_.start_at_end ? SizeOf(fd) : 0;
      Log(LogLevel::kInfo, "file_source_file_opened", {{"path", path}, {"identity", identity}});
    }
    file.position.path = path;
    files_.emplace(identity, std::move(file));
  }
  saved_.clear();

  bool forgot = false;
  for (auto it = files_.begin(); it != files_.end();) {
    TrackedFile& file = it->second;
    int64_t size = SizeOf(file.fd);
    if (size < file.position.offset) {
      // Truncated in place (copytruncate): read it again from the start,
      // under keys of a new generation.
      ++file.position.generation;
      file.position.offset = 0;
      Log(LogLevel::kInfo, "file_source_file_truncated", {{"path", file.position.path}});
    }
    // A file that left the patterns (deleted, rotated away) grows no more:
    // its last record needs no delimiter.
    const bool final = !file.matched;
    bool progress = true;
    while (progress && !stop.HasBeenNotified()) {
      ASSIGN_OR_RETURN(progress, PublishNext(file, final, stop));
    }
    if (final && file.position.offset >= SizeOf(file.fd)) {
      Log(LogLevel::kInfo, "file_source_file_done", {{"path", file.position.path}});
      close(file.fd);
      it = files_.erase(it);
      forgot = true;
    } else {
      ++it;
    }
  }
  return forgot ? SavePositions() : absl::OkStatus();
}

absl::StatusOr<bool> FileSource::PublishNext(TrackedFile& file, bool take_tail,
                                             const absl::Notification& stop) {
  FilePosition& position = file.position;
  buffer_.resize(kReadBytes);
  ssize_t got = pread(file.fd, buffer_.data(), buffer_.size(), position.offset);
  if (got < 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot read ", position.path, ": ", std::strerror(errno)));
  }
  buffer_.resize(got);
  std::vector<RecordSpan> records;
  size_t consumed = SplitRecords(buffer_, config_.delimiter, config_.max_record_bytes, take_tail,
                                 config_.max_batch_records, &records);
  if (consumed == 0) return false;

  std::vector<std::future<absl::StatusOr<client::PublishAck>>> acks;
  std::vector<int64_t> offsets;
  for (const RecordSpan& record : records) {
    if (record.length == 0) continue;  // an empty line is no message (docs/api.md)
    int64_t offset = position.offset + static_cast<int64_t>(record.begin);
    client::Message message{.data = buffer_.substr(record.begin, record.length),
                            .attributes = config_.attributes};
    message.attributes["file"] = position.path;
    message.idempotency_key =
        absl::StrCat(config_.key_prefix, position.identity, ":", position.generation, ":", offset);
    acks.push_back(publisher_.Publish(std::move(message)));
    offsets.push_back(offset);
  }
  absl::Status failed;
  for (size_t i = 0; i < acks.size(); ++i) {
    // A stop does not wait out the publisher's retries: what has no answer
    // is sent again after the restart, under the same keys.
    while (acks[i].wait_for(std::chrono::milliseconds(100)) != std::future_status::ready) {
      if (stop.HasBeenNotified()) publisher_.Cancel();
    }
    absl::StatusOr<client::PublishAck> ack = acks[i].get();
    if (ack.ok()) {
      (ack->duplicate ? duplicates_ : published_).Increment();
      auto& [records, duplicates] = unreported_[position.path];
      ++(ack->duplicate ? duplicates : records);
    } else if (absl::IsInvalidArgument(ack.status())) {
      // The hub will never take this record (too large for its limit, not
      // a valid message); retrying forever would stall the whole file.
      dropped_.Increment();
      Log(LogLevel::kError, "file_source_record_dropped",
          {{"path", position.path},
           {"offset", absl::StrCat(offsets[i])},
           {"error", ack.status().ToString()}});
    } else if (failed.ok()) {
      failed = ack.status();
    }
  }
  RETURN_IF_ERROR(failed);
  position.offset += static_cast<int64_t>(consumed);
  RETURN_IF_ERROR(SavePositions());
  return true;
}

absl::Status FileSource::SavePositions() {
  std::vector<FilePosition> positions;
  for (const auto& [identity, file] : files_) positions.push_back(file.position);
  absl::Status saved = adapters::SavePositions(config_.position_file, positions);
  // Not ready while it fails: what was published is sent again after a
  // restart (the hub's dedup window absorbs it, if the restart comes soon).
  positions_saved_ = saved.ok();
  if (!saved.ok()) {
    Log(LogLevel::kError, "file_source_position_save_failed", {{"error", saved.ToString()}});
  }
  return saved;
}

}  // namespace hub::adapters
