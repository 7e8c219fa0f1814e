#ifndef ADAPTERS_FILE_SOURCE_RECORDS_H_
#define ADAPTERS_FILE_SOURCE_RECORDS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

// The file source's two pure parts: cutting bytes into records, and the
// position file that says how far each file was published.
namespace hub::adapters {

struct RecordSpan {
  size_t begin = 0;
  size_t length = 0;  // without the delimiter
};

// Appends the complete records of `chunk` to `records` and returns how many
// bytes they cover (delimiters included). A record ends at `delimiter`, or
// after `max_record_bytes` (a longer one is cut, so that one runaway line
// cannot stall the file); with `take_tail` the bytes after the last
// delimiter are a record too (the file will grow no more). At most
// `max_records` records.
size_t SplitRecords(absl::string_view chunk, absl::string_view delimiter, size_t max_record_bytes,
                    bool take_tail, size_t max_records, std::vector<RecordSpan>* records);

// How far one file was published. `identity` names the file itself, not its
// path (device, inode, birth time), so that a rename keeps it and a new file
// at an old path is new; `generation` counts truncations, so that bytes
// written again at an old offset get new idempotency keys.
struct FilePosition {
  std::string identity;
  int64_t generation = 0;
  int64_t offset = 0;
  std::string path;  // where it was last seen; for people reading the file
};

// A missing file is an empty list.
absl::StatusOr<std::vector<FilePosition>> LoadPositions(const std::string& path);
// Atomic and durable: written beside, fsynced, renamed over, directory
// fsynced; a crash leaves the old list or the new one.
absl::Status SavePositions(const std::string& path, const std::vector<FilePosition>& positions);

}  // namespace hub::adapters

#endif  // ADAPTERS_FILE_SOURCE_RECORDS_H_
