#include "adapters/file_source/records.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace hub::adapters {
namespace {

constexpr absl::string_view kHeader = "# hub file_source positions v1";

absl::Status ErrnoError(absl::string_view what, const std::string& path) {
  return absl::UnavailableError(absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

absl::Status SyncFile(int fd, const std::string& path) {
  if (fsync(fd) != 0) return ErrnoError("cannot fsync", path);
  return absl::OkStatus();
}

}  // namespace

size_t SplitRecords(absl::string_view chunk, absl::string_view delimiter, size_t max_record_bytes,
                    bool take_tail, size_t max_records, std::vector<RecordSpan>* records) {
  size_t consumed = 0;
  size_t taken = 0;
  while (consumed < chunk.size() && taken < max_records) {
    absl::string_view rest = chunk.substr(consumed);
    size_t end = rest.substr(0, max_record_bytes + delimiter.size()).find(delimiter);
    if (end != absl::string_view::npos && end <= max_record_bytes) {
      records->push_back({consumed, end});
      consumed += end + delimiter.size();
    } else if (rest.size() >= max_record_bytes + delimiter.size() || take_tail) {
      size_t length = std::min(rest.size(), max_record_bytes);
      records->push_back({consumed, length});
      consumed += length;
    } else {
      break;  // an incomplete record: wait for the rest
    }
    ++taken;
  }
  return consumed;
}

absl::StatusOr<std::vector<FilePosition>> LoadPositions(const std::string& path) {
  std::vector<FilePosition> positions;
  std::ifstream in(path);
  if (!in) {
    if (errno == ENOENT) return positions;
    return ErrnoError("cannot read position file", path);
  }
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> fields = absl::StrSplit(line, absl::MaxSplits('\t', 3));
    FilePosition position;
    if (fields.size() != 4 || !absl::SimpleAtoi(fields[1], &position.generation) ||
        !absl::SimpleAtoi(fields[2], &position.offset) || position.offset < 0) {
      return absl::DataLossError(
          absl::StrCat("position file ", path, " line ", number, " is damaged; fix or remove it"));
    }
    position.identity = fields[0];
    position.path = fields[3];
    positions.push_back(std::move(position));
  }
  return positions;
}

absl::Status SavePositions(const std::string& path, const std::vector<FilePosition>& positions) {
  std::string text = absl::StrCat(kHeader, "\n");
  for (const FilePosition& p : positions) {
    absl::StrAppend(&text, p.identity, "\t", p.generation, "\t", p.offset, "\t", p.path, "\n");
  }
  const std::string temporary = path + ".tmp";
  int fd = open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError("cannot write position file", temporary);
  ssize_t written = write(fd, text.data(), text.size());
  absl::Status status = written == static_cast<ssize_t>(text.size())
                            ? SyncFile(fd, temporary)
                            : ErrnoError("cannot write position file", temporary);
  close(fd);
  if (!status.ok()) return status;
  if (rename(temporary.c_str(), path.c_str()) != 0) {
    return ErrnoError("cannot rename position file to", path);
  }
  std::string directory = path.substr(0, path.find_last_of('/') + 1);
  int dir = open(directory.empty() ? "." : directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return ErrnoError("cannot open directory of", path);
  status = SyncFile(dir, path);
  close(dir);
  return status;
}

}  // namespace hub::adapters
