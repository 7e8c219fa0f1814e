#include "hub/pg/segment_codec.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace hub::pg {
namespace {

// Field tags: field number << 3 | wire type 2 (length-delimited).
constexpr char kRecordTag = (1 << 3) | 2;
constexpr char kDataTag = (1 << 3) | 2;
constexpr char kAttributeTag = (2 << 3) | 2;
constexpr char kOrderingKeyTag = (3 << 3) | 2;
constexpr char kIdempotencyKeyTag = (4 << 3) | 2;
constexpr char kDelayTag = (5 << 3) | 0;  // varint
constexpr char kEntryKeyTag = (1 << 3) | 2;
constexpr char kEntryValueTag = (2 << 3) | 2;

size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

void PutVarint(uint64_t v, std::string& out) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

size_t FieldSize(size_t length) { return 1 + VarintSize(length) + length; }

void PutField(char tag, absl::string_view value, std::string& out) {
  out += tag;
  PutVarint(value.size(), out);
  out.append(value.data(), value.size());
}

// proto3 leaves empty scalar fields out.
size_t OptionalFieldSize(absl::string_view value) {
  return value.empty() ? 0 : FieldSize(value.size());
}

void PutOptionalField(char tag, absl::string_view value, std::string& out) {
  if (!value.empty()) PutField(tag, value, out);
}

size_t EntrySize(const std::string& key, const std::string& value) {
  return FieldSize(key.size()) + FieldSize(value.size());
}

// Reads protobuf fields from a byte range; every read checks its bounds.
class Reader {
 public:
  explicit Reader(absl::string_view bytes) : rest_(bytes) {}

  bool done() const { return rest_.empty(); }

  bool Varint(uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (rest_.empty()) return false;
      const uint8_t byte = static_cast<uint8_t>(rest_[0]);
      rest_.remove_prefix(1);
      v |= uint64_t{byte & 0x7fu} << shift;
      if (byte < 0x80) return true;
    }
    return false;
  }

  // The next field: its number, wire type and, for a length-delimited one,
  // its bytes, for a varint its value. Other wire types are skipped over.
  bool Field(uint64_t& number, int& wire_type, absl::string_view& value, uint64_t& varint) {
    uint64_t tag;
    if (!Varint(tag)) return false;
    number = tag >> 3;
    wire_type = static_cast<int>(tag & 7);
    value = {};
    varint = 0;
    uint64_t n;
    switch (wire_type) {
      case 0:
        return Varint(varint);
      case 1:
        return Skip(8);
      case 5:
        return Skip(4);
      case 2:
        if (!Varint(n) || n > rest_.size()) return false;
        value = rest_.substr(0, n);
        rest_.remove_prefix(n);
        return true;
      default:
        return false;
    }
  }

 private:
  bool Skip(size_t n) {
    if (n > rest_.size()) return false;
    rest_.remove_prefix(n);
    return true;
  }

  absl::string_view rest_;
};

bool DecodeEntry(absl::string_view bytes, Labels& attributes) {
  Reader reader(bytes);
  std::string key, value;
  while (!reader.done()) {
    uint64_t number, varint;
    int wire_type;
    absl::string_view field;
    if (!reader.Field(number, wire_type, field, varint)) return false;
    if (wire_type != 2) continue;
    if (number == 1) key.assign(field.data(), field.size());
    if (number == 2) value.assign(field.data(), field.size());
  }
  attributes[std::move(key)] = std::move(value);
  return true;
}

bool DecodeRecord(absl::string_view bytes, Message& m) {
  Reader reader(bytes);
  while (!reader.done()) {
    uint64_t number, varint;
    int wire_type;
    absl::string_view field;
    if (!reader.Field(number, wire_type, field, varint)) return false;
    if (number == 5 && wire_type == 0) {
      m.delivery_delay = absl::Microseconds(static_cast<int64_t>(varint));
      continue;
    }
    if (wire_type != 2) continue;  // a field of a later version
    switch (number) {
      case 1:
        m.data.assign(field.data(), field.size());
        break;
      case 2:
        if (!DecodeEntry(field, m.attributes)) return false;
        break;
      case 3:
        m.ordering_key.assign(field.data(), field.size());
        break;
      case 4:
        m.idempotency_key.assign(field.data(), field.size());
        break;
      default:
        break;
    }
  }
  return true;
}

}  // namespace

void AppendRecord(const Message& message, std::string& out) {
  const uint64_t delay_micros =
      static_cast<uint64_t>(absl::ToInt64Microseconds(message.delivery_delay));
  size_t size = OptionalFieldSize(message.data) + OptionalFieldSize(message.ordering_key) +
                OptionalFieldSize(message.idempotency_key) +
                (delay_micros == 0 ? 0 : 1 + VarintSize(delay_micros));
  for (const auto& [key, value] : message.attributes) size += FieldSize(EntrySize(key, value));
  out.reserve(out.size() + FieldSize(size));
  out += kRecordTag;
  PutVarint(size, out);
  PutOptionalField(kDataTag, message.data, out);
  for (const auto& [key, value] : message.attributes) {
    out += kAttributeTag;
    PutVarint(EntrySize(key, value), out);
    PutField(kEntryKeyTag, key, out);
    PutField(kEntryValueTag, value, out);
  }
  PutOptionalField(kOrderingKeyTag, message.ordering_key, out);
  PutOptionalField(kIdempotencyKeyTag, message.idempotency_key, out);
  if (delay_micros != 0) {
    out += kDelayTag;
    PutVarint(delay_micros, out);
  }
}

absl::Status DecodeRecords(absl::string_view records, int64_t first, int64_t from, int64_t to,
                           absl::FunctionRef<void(int64_t, Message&&)> visit) {
  Reader reader(records);
  for (int64_t position = first; position < to && !reader.done(); ++position) {
    uint64_t number, varint;
    int wire_type;
    absl::string_view record;
    if (!reader.Field(number, wire_type, record, varint) || number != 1 || wire_type != 2) {
      return absl::InternalError(
          absl::StrCat("the segment at position ", first, " is not a hub.pg.Segment"));
    }
    if (position < from) continue;
    Message m;
    if (!DecodeRecord(record, m)) {
      return absl::InternalError(
          absl::StrCat("the record at position ", position, " is not a hub.pg.Record"));
    }
    visit(position, std::move(m));
  }
  return absl::OkStatus();
}

}  // namespace hub::pg
