#include "common/ops_http_server.h"

#include <exception>
#include <vector>

#include <CivetServer.h>
#include <prometheus/text_serializer.h>

#include "absl/strings/str_cat.h"

namespace hub {

class OpsHttpServer::Handler final : public CivetHandler {
 public:
  // Returns the HTTP status and body of a GET.
  using Respond = std::function<std::pair<int, std::string>()>;
  Handler(std::string content_type, Respond respond)
      : content_type_(std::move(content_type)), respond_(std::move(respond)) {}

  bool handleGet(CivetServer*, mg_connection* conn) override {
    auto [code, body] = respond_();
    mg_printf(conn,
              "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
              "Connection: close\r\n\r\n",
              code, code == 200 ? "OK" : "Service Unavailable", content_type_.c_str(), body.size());
    mg_write(conn, body.data(), body.size());
    return true;
  }

 private:
  const std::string content_type_;
  const Respond respond_;
};

OpsHttpServer::OpsHttpServer(prometheus::Registry& registry, std::function<bool()> ready)
    : registry_(registry), ready_(std::move(ready)) {
  metrics_ = std::make_unique<Handler>("text/plain; version=0.0.4; charset=utf-8", [this] {
    return std::pair(200, prometheus::TextSerializer().Serialize(registry_.Collect()));
  });
  healthz_ =
      std::make_unique<Handler>("text/plain", [] { return std::pair(200, std::string("ok\n")); });
  readyz_ = std::make_unique<Handler>("text/plain", [this] {
    return ready_() ? std::pair(200, std::string("ready\n"))
                    : std::pair(503, std::string("not ready\n"));
  });
}

OpsHttpServer::~OpsHttpServer() = default;

absl::Status OpsHttpServer::Start(const std::string& listen) {
  std::vector<std::string> options = {"listening_ports", listen, "num_threads", "2"};
  try {
    server_ = std::make_unique<CivetServer>(options);
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", listen, " for metrics: ", e.what()));
  }
  server_->addHandler("/metrics", metrics_.get());
  server_->addHandler("/healthz", healthz_.get());
  server_->addHandler("/readyz", readyz_.get());
  return absl::OkStatus();
}

}  // namespace hub
