#include "adapters/http_ingress/publish_request.h"

#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace hub::adapters {
namespace {

constexpr absl::string_view kPathPrefix = "/v1/topics/";
constexpr absl::string_view kPathSuffix = ":publish";
constexpr absl::string_view kAttributeHeader = "x-hub-attribute-";

const std::string* FindHeader(const HttpHeaders& headers, absl::string_view name) {
  for (const auto& [key, value] : headers) {
    if (key == name) return &value;
  }
  return nullptr;
}

absl::Status Invalid(absl::string_view why) { return absl::InvalidArgumentError(why); }

absl::StatusOr<client::Message> MessageFromJson(const nlohmann::json& item, size_t index) {
  std::string where = absl::StrCat("messages[", index, "]");
  if (!item.is_object()) return Invalid(absl::StrCat(where, " must be an object"));
  client::Message message;
  for (const auto& [field, value] : item.items()) {
    if (field == "data" || field == "data_base64" || field == "ordering_key" ||
        field == "idempotency_key") {
      if (!value.is_string()) return Invalid(absl::StrCat(where, ".", field, " must be a string"));
      const std::string& text = value.get_ref<const std::string&>();
      if (field == "data") {
        message.data = text;
      } else if (field == "data_base64") {
        if (!absl::Base64Unescape(text, &message.data)) {
          return Invalid(absl::StrCat(where, ".data_base64 is not base64"));
        }
      } else if (field == "ordering_key") {
        message.ordering_key = text;
      } else {
        message.idempotency_key = text;
      }
    } else if (field == "attributes") {
      if (!value.is_object()) return Invalid(absl::StrCat(where, ".attributes must be an object"));
      for (const auto& [name, attribute] : value.items()) {
        if (!attribute.is_string()) {
          return Invalid(absl::StrCat(where, ".attributes.", name, " must be a string"));
        }
        message.attributes[name] = attribute.get<std::string>();
      }
    } else {
      return Invalid(absl::StrCat(where, " has an unknown field \"", field, "\""));
    }
  }
  if (item.contains("data") && item.contains("data_base64")) {
    return Invalid(absl::StrCat(where, " has both data and data_base64"));
  }
  return message;
}

absl::StatusOr<std::vector<client::Message>> MessagesFromJson(const std::string& body) {
  nlohmann::json document = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded()) return Invalid("the body is not valid JSON");
  if (!document.is_object() || !document.contains("messages") || !document["messages"].is_array() ||
      document.size() != 1) {
    return Invalid("the body must be {\"messages\": [...]}");
  }
  const nlohmann::json& items = document["messages"];
  if (items.empty()) return Invalid("messages must not be empty");
  if (items.size() > kMaxMessagesPerRequest) {
    return Invalid(absl::StrCat("at most ", kMaxMessagesPerRequest, " messages per request"));
  }
  std::vector<client::Message> messages;
  for (size_t i = 0; i < items.size(); ++i) {
    absl::StatusOr<client::Message> message = MessageFromJson(items[i], i);
    if (!message.ok()) return message.status();
    messages.push_back(*std::move(message));
  }
  return messages;
}

client::Message MessageFromRaw(const HttpHeaders& headers, const std::string& body) {
  client::Message message{.data = body};
  for (const auto& [name, value] : headers) {
    if (absl::StartsWith(name, kAttributeHeader) && name.size() > kAttributeHeader.size()) {
      message.attributes[name.substr(kAttributeHeader.size())] = value;
    }
  }
  if (const std::string* key = FindHeader(headers, "x-hub-ordering-key")) {
    message.ordering_key = *key;
  }
  return message;
}

}  // namespace

absl::StatusOr<HttpPublishRequest> ParsePublishRequest(const std::string& path,
                                                       const HttpHeaders& headers,
                                                       const std::string& body) {
  absl::string_view rest = path;
  if (!absl::ConsumePrefix(&rest, kPathPrefix) || !absl::ConsumeSuffix(&rest, kPathSuffix) ||
      rest.empty() || absl::StrContains(rest, "/")) {
    return absl::NotFoundError("the only path is POST /v1/topics/{topic}:publish");
  }
  HttpPublishRequest request{.topic = std::string(rest)};
  const std::string* content_type = FindHeader(headers, "content-type");
  if (content_type != nullptr &&
      absl::StartsWith(absl::AsciiStrToLower(*content_type), "application/json")) {
    absl::StatusOr<std::vector<client::Message>> messages = MessagesFromJson(body);
    if (!messages.ok()) return messages.status();
    request.messages = *std::move(messages);
  } else {
    request.messages.push_back(MessageFromRaw(headers, body));
  }
  if (const std::string* key = FindHeader(headers, "idempotency-key"); key && !key->empty()) {
    for (size_t i = 0; i < request.messages.size(); ++i) {
      std::string& own = request.messages[i].idempotency_key;
      if (own.empty()) own = request.messages.size() == 1 ? *key : absl::StrCat(*key, ":", i);
    }
  }
  return request;
}

int HttpStatusFor(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kFailedPrecondition:
      return 409;
    // The hub pushed back or is away: the client should come again.
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kAborted:
      return 503;
    case absl::StatusCode::kDeadlineExceeded:
      return 504;
    default:
      return 500;
  }
}

std::string ErrorBody(const absl::Status& status) {
  nlohmann::json body = {{"error",
                          {{"code", absl::StatusCodeToString(status.code())},
                           {"message", std::string(status.message())}}}};
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string ResultsBody(const std::vector<client::PublishAck>& acks) {
  nlohmann::json results = nlohmann::json::array();
  for (const client::PublishAck& ack : acks) {
    results.push_back({{"message_id", ack.message_id}, {"duplicate", ack.duplicate}});
  }
  return nlohmann::json{{"results", results}}.dump() + "\n";
}

}  // namespace hub::adapters
