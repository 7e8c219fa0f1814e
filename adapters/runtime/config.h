#ifndef ADAPTERS_RUNTIME_CONFIG_H_
#define ADAPTERS_RUNTIME_CONFIG_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

// An adapter's configuration file (YAML, docs/adapters.md), read strictly:
// a missing required key, a value of the wrong type and a key nobody reads
// (a typo) are all errors, reported with the key's full path, so that an
// adapter never runs on a configuration it misunderstood.
namespace hub::adapters {

class ConfigSection {
 public:
  // Reads `path`; the root section.
  static absl::StatusOr<ConfigSection> LoadFile(const std::string& path);
  static absl::StatusOr<ConfigSection> Parse(const std::string& yaml);

  // Getters remember the first error and return the default (or an empty
  // value) after one; Finish reports it.
  std::string RequiredString(const std::string& key);
  std::string String(const std::string& key, const std::string& fallback);
  int64_t Int(const std::string& key, int64_t fallback, int64_t min, int64_t max);
  bool Bool(const std::string& key, bool fallback);
  // "250ms", "5s", "1m" (absl::ParseDuration).
  absl::Duration Duration(const std::string& key, absl::Duration fallback);
  std::vector<std::string> StringList(const std::string& key);
  std::map<std::string, std::string> StringMap(const std::string& key);
  // The contents of the file `key` names, whitespace trimmed (a token, a
  // database URL: secrets stay out of the configuration); empty when the
  // key is absent, an error when the file cannot be read.
  std::string FileContents(const std::string& key);
  // A nested section; absent, an empty one (whose getters see defaults).
  ConfigSection Section(const std::string& key);
  bool Has(const std::string& key) const;

  // A value outside what the adapter accepts, found after reading it.
  void Fail(const std::string& key, const std::string& why);

  // The first error of this section and every section taken from it, or an
  // unknown key; call once, after reading everything.
  absl::Status Finish() const;

 private:
  struct Errors {
    absl::Status first;
  };
  ConfigSection(YAML::Node node, std::string path, std::shared_ptr<Errors> errors);

  // The node of `key`, marked as read; an undefined node when absent.
  YAML::Node Take(const std::string& key);
  std::string PathOf(const std::string& key) const;
  template <typename T>
  T Scalar(const std::string& key, T fallback);

  YAML::Node node_;
  std::string path_;
  std::shared_ptr<Errors> errors_;
  std::shared_ptr<std::vector<std::string>> read_keys_;
  std::shared_ptr<std::vector<ConfigSection>> children_;
};

}  // namespace hub::adapters

#endif  // ADAPTERS_RUNTIME_CONFIG_H_
