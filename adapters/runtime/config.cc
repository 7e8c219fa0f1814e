#include "adapters/runtime/config.h"

#include <algorithm>
#include <exception>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace hub::adapters {

absl::StatusOr<ConfigSection> ConfigSection::LoadFile(const std::string& path) {
  try {
    return ConfigSection(YAML::LoadFile(path), "", std::make_shared<Errors>());
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("configuration ", path, ": ", e.what()));
  }
}

absl::StatusOr<ConfigSection> ConfigSection::Parse(const std::string& yaml) {
  try {
    return ConfigSection(YAML::Load(yaml), "", std::make_shared<Errors>());
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("configuration: ", e.what()));
  }
}

ConfigSection::ConfigSection(YAML::Node node, std::string path, std::shared_ptr<Errors> errors)
    : node_(std::move(node)),
      path_(std::move(path)),
      errors_(std::move(errors)),
      read_keys_(std::make_shared<std::vector<std::string>>()),
      children_(std::make_shared<std::vector<ConfigSection>>()) {
  if (node_.IsDefined() && !node_.IsNull() && !node_.IsMap()) {
    Fail("", "must be a mapping of keys to values");
  }
}

std::string ConfigSection::PathOf(const std::string& key) const {
  if (path_.empty()) return key;
  if (key.empty()) return path_;
  return absl::StrCat(path_, ".", key);
}

void ConfigSection::Fail(const std::string& key, const std::string& why) {
  if (errors_->first.ok()) {
    errors_->first = absl::InvalidArgumentError(
        absl::StrCat("configuration: ", PathOf(key).empty() ? "the file" : PathOf(key), " ", why));
  }
}

YAML::Node ConfigSection::Take(const std::string& key) {
  read_keys_->push_back(key);
  if (!node_.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
  return node_[key];
}

bool ConfigSection::Has(const std::string& key) const {
  return node_.IsMap() && node_[key].IsDefined() && !node_[key].IsNull();
}

template <typename T>
T ConfigSection::Scalar(const std::string& key, T fallback) {
  YAML::Node value = Take(key);
  if (!value.IsDefined() || value.IsNull()) return fallback;
  try {
    if (!value.IsScalar()) throw YAML::Exception(YAML::Mark::null_mark(), "");
    return value.as<T>();
  } catch (const std::exception&) {
    Fail(key, "has a value of the wrong type");
    return fallback;
  }
}

std::string ConfigSection::RequiredString(const std::string& key) {
  std::string value = Scalar<std::string>(key, "");
  if (value.empty()) Fail(key, "is required");
  return value;
}

std::string ConfigSection::String(const std::string& key, const std::string& fallback) {
  return Scalar<std::string>(key, fallback);
}

int64_t ConfigSection::Int(const std::string& key, int64_t fallback, int64_t min, int64_t max) {
  int64_t value = Scalar<int64_t>(key, fallback);
  if (value < min || value > max) {
    Fail(key, absl::StrCat("must be between ", min, " and ", max));
    return fallback;
  }
  return value;
}

bool ConfigSection::Bool(const std::string& key, bool fallback) {
  return Scalar<bool>(key, fallback);
}

absl::Duration ConfigSection::Duration(const std::string& key, absl::Duration fallback) {
  std::string text = Scalar<std::string>(key, "");
  if (text.empty()) return fallback;
  absl::Duration value;
  if (!absl::ParseDuration(text, &value) || value <= absl::ZeroDuration()) {
    Fail(key, absl::StrCat("must be a positive duration such as 250ms or 5s, not \"", text, "\""));
    return fallback;
  }
  return value;
}

std::vector<std::string> ConfigSection::StringList(const std::string& key) {
  YAML::Node value = Take(key);
  std::vector<std::string> list;
  if (!value.IsDefined() || value.IsNull()) return list;
  if (value.IsScalar()) return {value.as<std::string>()};
  try {
    if (!value.IsSequence()) throw YAML::Exception(YAML::Mark::null_mark(), "");
    for (const auto& item : value) {
      if (!item.IsScalar()) throw YAML::Exception(YAML::Mark::null_mark(), "");
      list.push_back(item.as<std::string>());
    }
  } catch (const std::exception&) {
    Fail(key, "must be a string or a list of strings");
  }
  return list;
}

std::map<std::string, std::string> ConfigSection::StringMap(const std::string& key) {
  YAML::Node value = Take(key);
  std::map<std::string, std::string> map;
  if (!value.IsDefined() || value.IsNull()) return map;
  try {
    if (!value.IsMap()) throw YAML::Exception(YAML::Mark::null_mark(), "");
    for (const auto& item : value) {
      if (!item.second.IsScalar()) throw YAML::Exception(YAML::Mark::null_mark(), "");
      map[item.first.as<std::string>()] = item.second.as<std::string>();
    }
  } catch (const std::exception&) {
    Fail(key, "must map names to strings");
  }
  return map;
}

std::string ConfigSection::FileContents(const std::string& key) {
  std::string path = String(key, "");
  if (path.empty()) return "";
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) {
    Fail(key, absl::StrCat("names a file that cannot be read: ", path));
    return "";
  }
  return std::string(absl::StripAsciiWhitespace(text.str()));
}

ConfigSection ConfigSection::Section(const std::string& key) {
  ConfigSection child(Take(key), PathOf(key), errors_);
  children_->push_back(child);
  return child;
}

absl::Status ConfigSection::Finish() const {
  if (!errors_->first.ok()) return errors_->first;
  if (node_.IsMap()) {
    for (const auto& item : node_) {
      std::string key = item.first.as<std::string>();
      if (std::find(read_keys_->begin(), read_keys_->end(), key) == read_keys_->end()) {
        return absl::InvalidArgumentError(absl::StrCat("configuration: unknown key ", PathOf(key)));
      }
    }
  }
  for (const ConfigSection& child : *children_) {
    if (absl::Status status = child.Finish(); !status.ok()) return status;
  }
  return absl::OkStatus();
}

}  // namespace hub::adapters
