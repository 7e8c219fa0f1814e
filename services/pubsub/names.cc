#include "services/pubsub/names.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"
#include "hub/validation.h"

namespace hub::services::pubsub {
namespace {

absl::Status Invalid(absl::string_view message) { return absl::InvalidArgumentError(message); }

// The singular of a collection, for messages.
absl::string_view Kind(absl::string_view collection) {
  return collection.substr(0, collection.size() - 1);
}

}  // namespace

absl::StatusOr<NameScope> Names::Project(absl::string_view resource) const {
  std::vector<absl::string_view> parts = absl::StrSplit(resource, '/');
  if (parts.size() != 2 || parts[0] != "projects" || !IsProjectId(parts[1])) {
    return Invalid(
        absl::StrCat("project must be projects/{project}, the project id lowercase "
                     "letters, digits and hyphens; got ",
                     Quoted(resource)));
  }
  return NameScope::In(parts[1] == home_ ? "" : std::string(parts[1]));
}

absl::StatusOr<std::string> Names::ToHub(absl::string_view resource,
                                         absl::string_view collection) const {
  const absl::string_view kind = Kind(collection);
  // By size first: nothing longer can name anything.
  const size_t longest = absl::string_view("projects/").size() + Limits::kMaxProjectIdLength + 1 +
                         collection.size() + 1 + Limits::kMaxNameLength;
  if (resource.size() > longest) {
    return Invalid(
        absl::StrCat(kind, " name is ", resource.size(), " bytes; the limit is ", longest));
  }
  std::vector<absl::string_view> parts = absl::StrSplit(resource, '/');
  if (parts.size() != 4 || parts[0] != "projects" || parts[2] != collection) {
    return Invalid(absl::StrCat(kind, " must be projects/{project}/", collection, "/{", kind,
                                "}; got ", Quoted(resource)));
  }
  const absl::string_view project = parts[1];
  const absl::string_view id = parts[3];
  if (!IsProjectId(project)) {
    return Invalid(absl::StrCat("project id ", Quoted(project),
                                " must be lowercase letters, digits and hyphens, a letter "
                                "first, at most 30"));
  }
  RETURN_IF_ERROR(ValidateResourceId(kind, id));
  if (project == home_) {
    if (absl::StrContains(id, '~')) {
      return Invalid(absl::StrCat(kind, " id ", Quoted(id),
                                  " holds '~', which in the hub's home project ", home_,
                                  " would name another project's ", kind));
    }
    return std::string(id);
  }
  std::string name = absl::StrCat(project, "~", id);
  if (name.size() > static_cast<size_t>(Limits::kMaxNameLength)) {
    return Invalid(absl::StrCat(kind, " id ", Quoted(id), " is ", id.size(),
                                " characters; in project ", project, " the limit is ",
                                Limits::kMaxNameLength - project.size() - 1));
  }
  return name;
}

std::string Names::FromHub(absl::string_view name, absl::string_view collection) const {
  return PubSubResourceName(home_, name, collection);
}

}  // namespace hub::services::pubsub
