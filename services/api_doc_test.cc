// docs/api.md against the compiled protos: every RPC, message, field and
// enum value of hub.v1 has its place in the reference, and the reference
// describes no RPC the protos lack, so the two cannot drift apart.
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include <google/protobuf/descriptor.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "hub/v1/publisher.pb.h"
#include "hub/v1/resources.pb.h"
#include "hub/v1/schemas.pb.h"
#include "hub/v1/subscriber.pb.h"

namespace hub::services {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::DescriptorPool;
using google::protobuf::EnumDescriptor;
using google::protobuf::FileDescriptor;

std::string Doc() {
  std::ifstream in(API_DOC_PATH);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The text under the heading "#### `name`", to the next heading.
std::string Section(const std::string& doc, const std::string& name) {
  const std::string heading = absl::StrCat("#### `", name, "`\n");
  const size_t at = doc.find(heading);
  if (at == std::string::npos) return "";
  const size_t end = doc.find("\n#", at + heading.size());
  return doc.substr(at, end == std::string::npos ? std::string::npos : end - at);
}

std::vector<const FileDescriptor*> Files() {
  return {v1::Message::descriptor()->file(), v1::PublishRequest::descriptor()->file(),
          v1::PullRequest::descriptor()->file(), v1::CreateSchemaRequest::descriptor()->file()};
}

TEST(ApiDocTest, EveryRpcHasItsSection) {
  const std::string doc = Doc();
  ASSERT_FALSE(doc.empty()) << API_DOC_PATH;
  int rpcs = 0;
  for (const FileDescriptor* file : Files()) {
    for (int s = 0; s < file->service_count(); ++s) {
      for (int m = 0; m < file->service(s)->method_count(); ++m) {
        const std::string heading = absl::StrCat("### `", file->service(s)->name(), ".",
                                                 file->service(s)->method(m)->name(), "`\n");
        EXPECT_NE(doc.find(heading), std::string::npos) << heading;
        ++rpcs;
      }
    }
  }
  EXPECT_EQ(rpcs, 36);  // 6 of Publisher, 20 of Subscriber, 10 of SchemaService
}

TEST(ApiDocTest, NoSectionDescribesAnRpcTheProtosLack) {
  const std::string doc = Doc();
  const std::regex heading("\n### `([A-Za-z]+)\\.([A-Za-z]+)`");
  int sections = 0;
  for (auto it = std::sregex_iterator(doc.begin(), doc.end(), heading);
       it != std::sregex_iterator(); ++it) {
    const auto* service = DescriptorPool::generated_pool()->FindServiceByName(
        absl::StrCat("hub.v1.", (*it)[1].str()));
    ASSERT_NE(service, nullptr) << (*it)[0];
    EXPECT_NE(service->FindMethodByName((*it)[2].str()), nullptr) << (*it)[0];
    ++sections;
  }
  EXPECT_EQ(sections, 36);
}

TEST(ApiDocTest, EveryMessageFieldAndEnumValueIsDescribed) {
  const std::string doc = Doc();
  for (const FileDescriptor* file : Files()) {
    for (int i = 0; i < file->message_type_count(); ++i) {
      const Descriptor* message = file->message_type(i);
      const std::string section = Section(doc, message->name());
      ASSERT_FALSE(section.empty()) << "no section for " << message->name();
      for (int f = 0; f < message->field_count(); ++f) {
        EXPECT_NE(section.find(absl::StrCat("`", message->field(f)->name(), "`")),
                  std::string::npos)
            << message->name() << "." << message->field(f)->name();
      }
    }
    for (int i = 0; i < file->enum_type_count(); ++i) {
      const EnumDescriptor* type = file->enum_type(i);
      const std::string section = Section(doc, type->name());
      ASSERT_FALSE(section.empty()) << "no section for " << type->name();
      for (int v = 0; v < type->value_count(); ++v) {
        EXPECT_NE(section.find(absl::StrCat("`", type->value(v)->name(), "`")), std::string::npos)
            << type->name() << "." << type->value(v)->name();
      }
    }
  }
}

}  // namespace
}  // namespace hub::services
