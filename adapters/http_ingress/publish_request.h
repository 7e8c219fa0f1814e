#ifndef ADAPTERS_HTTP_INGRESS_PUBLISH_REQUEST_H_
#define ADAPTERS_HTTP_INGRESS_PUBLISH_REQUEST_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/message.h"

// The HTTP ingress's request and response formats (docs/adapters.md), apart
// from any server so that they are tested on their own.
namespace hub::adapters {

// The most messages one request may carry: the hub's per-Publish limit.
inline constexpr int kMaxMessagesPerRequest = 1000;

struct HttpPublishRequest {
  std::string topic;
  std::vector<client::Message> messages;
};

// Header names lower-cased, as HTTP compares them.
using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

// `path` is /v1/topics/{topic}:publish. A JSON body (Content-Type
// application/json) is {"messages": [{"data" | "data_base64",
// "attributes", "ordering_key", "idempotency_key"}]}; any other body is one
// message's data, with attributes from X-Hub-Attribute-<name> headers and
// the ordering key from X-Hub-Ordering-Key. An Idempotency-Key header keys
// the message, or message i of several as "<key>:<i>"; a key in the JSON
// wins. INVALID_ARGUMENT (400) or NOT_FOUND (404, an unknown path) when the
// request cannot be read.
absl::StatusOr<HttpPublishRequest> ParsePublishRequest(const std::string& path,
                                                       const HttpHeaders& headers,
                                                       const std::string& body);

// The HTTP status answering a hub status.
int HttpStatusFor(absl::StatusCode code);

// {"error": {"code": "INVALID_ARGUMENT", "message": "..."}}
std::string ErrorBody(const absl::Status& status);
// {"results": [{"message_id": "...", "duplicate": false}]}
std::string ResultsBody(const std::vector<client::PublishAck>& acks);

}  // namespace hub::adapters

#endif  // ADAPTERS_HTTP_INGRESS_PUBLISH_REQUEST_H_
