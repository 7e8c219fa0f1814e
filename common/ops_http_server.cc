#include "common/ops_http_server.h"

#include <exception>
#include <vector>

#include <CivetServer.h>
#include <prometheus/text_serializer.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace hub {

bool SameSecret(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

class OpsHttpServer::Handler final : public CivetHandler {
 public:
  // Returns the HTTP status and body of a GET.
  using Respond = std::function<std::pair<int, std::string>()>;
  // `token`: the bearer token a request must carry; empty for none.
  Handler(std::string content_type, Respond respond, std::string token = "")
      : content_type_(std::move(content_type)),
        respond_(std::move(respond)),
        token_(std::move(token)) {}

  bool handleGet(CivetServer*, mg_connection* conn) override {
    auto [code, body] =
        Authorized(conn) ? respond_() : std::pair(401, std::string("token required\n"));
    mg_printf(conn,
              "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
              "Connection: close\r\n\r\n",
              code, mg_get_response_code_text(conn, code), content_type_.c_str(), body.size(),
              code == 401 ? "WWW-Authenticate: Bearer\r\n" : "");
    mg_write(conn, body.data(), body.size());
    return true;
  }

 private:
  bool Authorized(mg_connection* conn) const {
    if (token_.empty()) return true;
    const char* header = mg_get_header(conn, "Authorization");
    absl::string_view value = header == nullptr ? "" : header;
    return absl::ConsumePrefix(&value, "Bearer ") && SameSecret(value, token_);
  }

  const std::string content_type_;
  const Respond respond_;
  const std::string token_;
};

std::vector<std::string> HttpRequest::Header(const std::string& name) const {
  std::vector<std::string> values;
  for (const auto& [key, value] : headers) {
    if (absl::EqualsIgnoreCase(key, name)) values.push_back(value);
  }
  return values;
}

class OpsHttpServer::RouteHandler final : public CivetHandler {
 public:
  explicit RouteHandler(std::function<HttpResponse(const HttpRequest&)> handle)
      : handle_(std::move(handle)) {}

  bool handleGet(CivetServer*, mg_connection* conn) override { return Serve(conn, "GET"); }
  bool handlePost(CivetServer*, mg_connection* conn) override { return Serve(conn, "POST"); }

 private:
  static constexpr int64_t kMaxBody = 1 << 20;

  bool Serve(mg_connection* conn, const char* method) {
    const mg_request_info* info = mg_get_request_info(conn);
    HttpRequest request;
    request.method = method;
    request.path = info->local_uri != nullptr ? info->local_uri : "";
    request.query = info->query_string != nullptr ? info->query_string : "";
    for (int i = 0; i < info->num_headers; ++i) {
      request.headers.emplace_back(info->http_headers[i].name, info->http_headers[i].value);
    }
    HttpResponse response;
    if (info->content_length > kMaxBody) {
      response = {413, "text/plain", "request body over 1 MiB\n", {}};
    } else {
      char buffer[8192];
      for (int n; (n = mg_read(conn, buffer, sizeof(buffer))) > 0;) {
        request.body.append(buffer, static_cast<size_t>(n));
        if (static_cast<int64_t>(request.body.size()) > kMaxBody) break;
      }
      response = static_cast<int64_t>(request.body.size()) > kMaxBody
                     ? HttpResponse{413, "text/plain", "request body over 1 MiB\n", {}}
                     : handle_(request);
    }
    std::string head = absl::StrCat("HTTP/1.1 ", response.code, " ",
                                    mg_get_response_code_text(conn, response.code),
                                    "\r\nContent-Type: ", response.content_type,
                                    "\r\nContent-Length: ", response.body.size(), "\r\n");
    for (const auto& [name, value] : response.headers)
      absl::StrAppend(&head, name, ": ", value, "\r\n");
    absl::StrAppend(&head, "Connection: close\r\n\r\n");
    mg_write(conn, head.data(), head.size());
    mg_write(conn, response.body.data(), response.body.size());
    return true;
  }

  const std::function<HttpResponse(const HttpRequest&)> handle_;
};

void OpsHttpServer::Route(std::string prefix,
                          std::function<HttpResponse(const HttpRequest&)> handle) {
  routes_.emplace_back(std::move(prefix), std::make_unique<RouteHandler>(std::move(handle)));
}

OpsHttpServer::OpsHttpServer(prometheus::Registry& registry, std::function<bool()> ready,
                             std::string metrics_token)
    : registry_(registry), ready_(std::move(ready)), metrics_token_(std::move(metrics_token)) {
  metrics_ = std::make_unique<Handler>(
      "text/plain; version=0.0.4; charset=utf-8",
      [this] {
        return std::pair(200, prometheus::TextSerializer().Serialize(registry_.Collect()));
      },
      metrics_token_);
  healthz_ =
      std::make_unique<Handler>("text/plain", [] { return std::pair(200, std::string("ok\n")); });
  readyz_ = std::make_unique<Handler>("text/plain", [this] {
    return ready_() ? std::pair(200, std::string("ready\n"))
                    : std::pair(503, std::string("not ready\n"));
  });
}

OpsHttpServer::~OpsHttpServer() = default;

absl::Status OpsHttpServer::Start(const std::string& listen) {
  // Routes (the console) may wait on the database: more threads then, so
  // that a scrape of /metrics or a probe does not queue behind them.
  std::vector<std::string> options = {"listening_ports", listen, "num_threads",
                                      routes_.empty() ? "2" : "6"};
  try {
    server_ = std::make_unique<CivetServer>(options);
  } catch (const std::exception&) {
    // civetweb says only "null context"; its log has the reason, which is
    // nearly always a port in use.
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", listen,
                     " for metrics: the port is in use or the address is not this host's "
                     "(another hubd? `ss -ltnp` names the process that holds it)"));
  }
  server_->addHandler("/metrics", metrics_.get());
  server_->addHandler("/healthz", healthz_.get());
  server_->addHandler("/readyz", readyz_.get());
  // civetweb gives a handler of "/a" the paths "/a" and "/a/...".
  for (const auto& [prefix, handler] : routes_) {
    server_->addHandler(prefix.substr(0, prefix.size() - 1), handler.get());
  }
  return absl::OkStatus();
}

}  // namespace hub
