#include "services/console/console.h"

#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <map>
#include <optional>
#include <utility>
#include <vector>

#include <google/protobuf/util/json_util.h>
#include <nlohmann/json.hpp>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/version.h"
#include "services/access_needs.h"
#include "services/console/assets.h"
#include "services/convert.h"
#include "services/status_mapping.h"

namespace hub::services {
namespace {

using json = nlohmann::json;

constexpr absl::string_view kApi = "/console/api/";
constexpr char kCsrfHeader[] = "X-Hub-Csrf";
// Rate points drawn: 15 minutes at the default step of 10 s.
constexpr int kRateSteps = 90;
// A page of the estate reads each topic's subscriptions and their figures:
// smaller pages than the RPCs allow.
constexpr int kDefaultEstatePage = 25;
constexpr int kMaxEstatePage = 100;
// Subscriptions shown per topic on the estate and topic pages; the rest are
// counted as more (a topic page lists them all through paging).
constexpr int kSubscriptionsShown = 50;

std::string RandomKey() {
  unsigned char key[32];
  RAND_bytes(key, sizeof(key));
  return std::string(reinterpret_cast<const char*>(key), sizeof(key));
}

json ProtoJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  std::string text;
  if (!google::protobuf::util::MessageToJsonString(message, &text, options).ok()) return nullptr;
  return json::parse(text, nullptr, /*allow_exceptions=*/false);
}

// JSON text of `value`; bytes that are not UTF-8 (a caller's text repeated
// in an error) become U+FFFD rather than an exception.
std::string Text(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string PercentDecode(absl::string_view in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    int hex = 0;
    if (in[i] == '%' && i + 2 < in.size() && absl::SimpleHexAtoi(in.substr(i + 1, 2), &hex)) {
      out.push_back(static_cast<char>(hex));
      i += 2;
    } else {
      out.push_back(in[i] == '+' ? ' ' : in[i]);
    }
  }
  return out;
}

std::map<std::string, std::string> ParseQuery(absl::string_view query) {
  std::map<std::string, std::string> params;
  for (absl::string_view pair : absl::StrSplit(query, '&', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(pair, absl::MaxSplits('=', 1));
    params[PercentDecode(kv.first)] = PercentDecode(kv.second);
  }
  return params;
}

int HttpCode(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return 200;
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::OUT_OF_RANGE:
      return 400;
    case grpc::StatusCode::UNAUTHENTICATED:
      return 401;
    case grpc::StatusCode::PERMISSION_DENIED:
      return 403;
    case grpc::StatusCode::NOT_FOUND:
      return 404;
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::ABORTED:
      return 409;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return 429;
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return 503;
    default:
      return 500;
  }
}

json RateJson(const std::vector<double>& rates) { return json(rates); }

// The values of every series of the family `name` in `collected`, with
// their labels.
json SeriesOf(const std::vector<prometheus::MetricFamily>& collected, const std::string& name) {
  json series = json::array();
  for (const prometheus::MetricFamily& family : collected) {
    if (family.name != name) continue;
    for (const prometheus::ClientMetric& metric : family.metric) {
      json labels = json::object();
      for (const prometheus::ClientMetric::Label& l : metric.label) labels[l.name] = l.value;
      series.push_back({{"labels", labels}, {"value", metric.gauge.value}});
    }
  }
  return series;
}

double SumOf(const json& series) {
  double sum = 0;
  for (const json& s : series) sum += s["value"].get<double>();
  return sum;
}

}  // namespace

Console::Console(Hub& hub, const auth::AccessControl& access, prometheus::Registry& registry,
                 std::string replica, absl::Duration rate_step)
    : hub_(hub),
      access_(access),
      registry_(registry),
      replica_(std::move(replica)),
      csrf_key_(RandomKey()),
      rates_(registry, rate_step, kRateSteps) {}

// One API call: who makes it, what it asks, and the answer of each route.
class Console::Call {
 public:
  Call(Console& console, const HttpRequest& request)
      : c_(console),
        request_(request),
        authorization_(request.Header("Authorization")),
        query_(ParseQuery(request.query)) {
    for (const std::string& value : authorization_) credentials_.authorization.push_back(value);
  }

  HttpResponse Run() {
    struct Route {
      const char* method;
      const char* path;
      grpc::Status (Call::*answer)();
    };
    static constexpr Route kRoutes[] = {
        {"GET", "session", &Call::Session},
        {"GET", "estate", &Call::Estate},
        {"GET", "topic", &Call::Topic},
        {"GET", "topic/messages", &Call::TopicMessages},
        {"GET", "subscription", &Call::Subscription},
        {"GET", "subscription/messages", &Call::SubscriptionMessages},
        {"GET", "message", &Call::Message},
        {"GET", "hub", &Call::HubInfo},
        {"POST", "seek", &Call::Seek},
        {"POST", "redrive", &Call::Redrive},
    };
    absl::string_view path = request_.path;
    absl::ConsumePrefix(&path, kApi);
    const Route* route = nullptr;
    bool other_method = false;
    for (const Route& r : kRoutes) {
      if (path != r.path) continue;
      if (request_.method == r.method) route = &r;
      other_method = true;
    }
    grpc::Status status;
    if (route == nullptr) {
      status = other_method ? grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                                           absl::StrCat(path, " takes another method"))
                            : grpc::Status(grpc::StatusCode::NOT_FOUND,
                                           absl::StrCat("no console call ", path));
      return Reply(status, other_method ? 405 : 404);
    }
    // Who calls, before anything of the request is read.
    status = c_.access_.Check(credentials_, {});
    if (status.ok() && request_.method == "POST") status = ReadChange();
    if (status.ok()) status = (this->*(route->answer))();
    return Reply(status, HttpCode(status.error_code()));
  }

 private:
  HttpResponse Reply(const grpc::Status& status, int code) {
    HttpResponse response;
    response.code = code;
    response.headers = {{"Cache-Control", "no-store"}, {"X-Content-Type-Options", "nosniff"}};
    if (status.ok()) {
      response.body = Text(answer_);
    } else {
      response.body = Text(
          json{{"code", GrpcCodeName(status.error_code())}, {"error", status.error_message()}});
      if (code == 401) response.headers.emplace_back("WWW-Authenticate", "Bearer");
    }
    return response;
  }

  // A change: JSON (which a cross-site form cannot send without the
  // browser asking first) that carries this caller's CSRF token.
  grpc::Status ReadChange() {
    const std::vector<std::string> csrf = request_.Header(kCsrfHeader);
    if (csrf.size() != 1 || !SameSecret(csrf.front(), CsrfToken())) {
      return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                          "the CSRF token is missing or not this session's; reload the page");
    }
    const std::vector<std::string> type = request_.Header("Content-Type");
    if (type.size() != 1 || !absl::StartsWith(type.front(), "application/json")) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "a change is sent as JSON");
    }
    body_ = json::parse(request_.body, nullptr, /*allow_exceptions=*/false);
    if (!body_.is_object()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "the body is not a JSON object");
    }
    return grpc::Status::OK;
  }

  // The caller's CSRF token: its credential signed with this process's
  // key, so that no other page can know it and each credential has its own.
  std::string CsrfToken() const {
    const std::string signed_text =
        absl::StrCat("csrf\n", authorization_.empty() ? "" : authorization_.front());
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    HMAC(EVP_sha256(), c_.csrf_key_.data(), static_cast<int>(c_.csrf_key_.size()),
         reinterpret_cast<const unsigned char*>(signed_text.data()), signed_text.size(), mac,
         &length);
    return absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(mac), length));
  }

  std::string Param(const std::string& name) const {
    auto it = query_.find(name);
    return it == query_.end() ? "" : it->second;
  }

  // A body field that must be a string.
  std::string BodyString(const char* name) const {
    auto it = body_.find(name);
    return it != body_.end() && it->is_string() ? it->get<std::string>() : "";
  }

  absl::StatusOr<int> PageSize(int fallback, int most) const {
    const std::string text = Param("page_size");
    if (text.empty()) return fallback;
    int size = 0;
    if (!absl::SimpleAtoi(text, &size) || size < 1 || size > most) {
      return absl::InvalidArgumentError(absl::StrCat("page_size must be 1 to ", most));
    }
    return size;
  }

  // An RFC 3339 time of the query or body, when given.
  static absl::StatusOr<std::optional<absl::Time>> TimeOf(const std::string& text,
                                                          const char* name) {
    if (text.empty()) return std::nullopt;
    absl::Time t;
    std::string error;
    if (!absl::ParseTime(absl::RFC3339_full, text, &t, &error)) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, " is not an RFC 3339 time (2026-01-02T15:04:05Z): ", error));
    }
    return t;
  }

  bool May(const std::vector<auth::Need>& needs) const {
    return c_.access_.Check(credentials_, needs).ok();
  }

  // A subscription's figures, as GetSubscriptionStats answers them; null
  // when the caller may not read them.
  json StatsOf(const std::string& subscription) {
    if (!May(Consume(subscription))) return nullptr;
    absl::StatusOr<SubscriptionStats> stats = c_.hub_.GetSubscriptionStats(subscription);
    if (!stats.ok()) return nullptr;
    v1::SubscriptionStats proto;
    SubscriptionStatsToProto(*stats, absl::Now(), &proto);
    return ProtoJson(proto);
  }

  // The first subscriptions of `topic` the caller may view, with their
  // figures and ack rates.
  absl::StatusOr<json> SubscriptionsOf(const std::string& topic) {
    const auto visible = c_.access_.Visible(credentials_, auth::Action::kView);
    absl::StatusOr<Page<SubscriptionConfig>> page =
        c_.hub_.ListSubscriptions(NameScope::All(), topic, kSubscriptionsShown, "");
    if (!page.ok()) return page.status();
    json subs = json::array();
    for (const SubscriptionConfig& sub : page->items) {
      if (!visible(auth::Subscription(sub.name))) continue;
      subs.push_back({{"name", sub.name},
                      {"stats", StatsOf(sub.name)},
                      {"acked", RateJson(c_.rates_.Acked(sub.name))}});
    }
    return json{{"subscriptions", subs}, {"more_subscriptions", !page->next_page_token.empty()}};
  }

  grpc::Status Session() {
    answer_ = {{"principal", c_.access_.Principal(credentials_).value_or("anonymous")},
               {"csrf_token", CsrfToken()},
               {"version", kVersion},
               {"replica", c_.replica_},
               {"rate_step_seconds", absl::ToInt64Seconds(c_.rates_.step())}};
    return grpc::Status::OK;
  }

  grpc::Status Estate() {
    return c_.access_.IfAllowed(credentials_, ViewTopic(""), [&] {
      absl::StatusOr<int> size = PageSize(kDefaultEstatePage, kMaxEstatePage);
      if (!size.ok()) return ToGrpcStatus(size.status());
      absl::StatusOr<Page<TopicConfig>> page =
          c_.hub_.ListTopics(NameScope::All(), *size, Param("page_token"));
      if (!page.ok()) return ToGrpcStatus(page.status());
      const auto visible = c_.access_.Visible(credentials_, auth::Action::kView);
      json topics = json::array();
      for (const TopicConfig& topic : page->items) {
        if (!visible(auth::Topic(topic.name))) continue;
        absl::StatusOr<json> subs = SubscriptionsOf(topic.name);
        if (!subs.ok()) return ToGrpcStatus(subs.status());
        json entry = *std::move(subs);
        entry["name"] = topic.name;
        entry["published"] = RateJson(c_.rates_.Published(topic.name));
        topics.push_back(std::move(entry));
      }
      answer_ = {{"topics", topics}, {"next_page_token", page->next_page_token}};
      return grpc::Status::OK;
    });
  }

  grpc::Status Topic() {
    const std::string name = Param("name");
    return c_.access_.IfAllowed(credentials_, ViewTopic(name), [&] {
      absl::StatusOr<TopicConfig> topic = c_.hub_.GetTopic(name);
      if (!topic.ok()) return ToGrpcStatus(topic.status());
      absl::StatusOr<json> subs = SubscriptionsOf(name);
      if (!subs.ok()) return ToGrpcStatus(subs.status());
      v1::Topic proto;
      TopicToProto(*topic, &proto);
      answer_ = *std::move(subs);
      answer_["topic"] = ProtoJson(proto);
      answer_["published"] = RateJson(c_.rates_.Published(name));
      answer_["may_browse"] = May(ReadTopic(name));
      answer_["schema"] = nullptr;
      const std::string& schema = topic->schema_settings.schema;
      if (!schema.empty() && May(ViewSchema(schema))) {
        if (absl::StatusOr<SchemaRevision> s = c_.hub_.schemas().Get(schema, ""); s.ok()) {
          v1::Schema schema_proto;
          SchemaToProto(*s, /*with_definition=*/true, &schema_proto);
          answer_["schema"] = ProtoJson(schema_proto);
        }
      }
      return grpc::Status::OK;
    });
  }

  grpc::Status TopicMessages() {
    const std::string topic = Param("topic");
    return c_.access_.IfAllowed(credentials_, ReadTopic(topic), [&] {
      TopicBrowse browse;
      browse.topic = topic;
      browse.start_message_id = Param("start_message_id");
      browse.end_message_id = Param("end_message_id");
      browse.filter = Param("filter");
      browse.page_token = Param("page_token");
      for (auto [name, time] :
           {std::pair{"start_time", &browse.start_time}, std::pair{"end_time", &browse.end_time}}) {
        absl::StatusOr<std::optional<absl::Time>> t = TimeOf(Param(name), name);
        if (!t.ok()) return ToGrpcStatus(t.status());
        *time = *t;
      }
      absl::StatusOr<int> size = PageSize(50, Limits::kMaxPageSize);
      if (!size.ok()) return ToGrpcStatus(size.status());
      browse.page_size = *size;
      return Respond(c_.hub_.ListMessages(browse), [&](Page<hub::Message>& page) {
        v1::ListMessagesResponse proto;
        for (hub::Message& m : page.items) MessageToProto(std::move(m), proto.add_messages());
        proto.set_next_page_token(page.next_page_token);
        answer_ = ProtoJson(proto);
      });
    });
  }

  grpc::Status Subscription() {
    const std::string name = Param("name");
    return c_.access_.IfAllowed(credentials_, ViewSubscription(name), [&] {
      absl::StatusOr<SubscriptionConfig> sub = c_.hub_.GetSubscription(name);
      if (!sub.ok()) return ToGrpcStatus(sub.status());
      v1::Subscription proto;
      SubscriptionToProto(*sub, &proto);
      answer_ = {{"subscription", ProtoJson(proto)},
                 {"stats", StatsOf(name)},
                 {"acked", RateJson(c_.rates_.Acked(name))},
                 {"may_consume", May(Consume(name))}};
      // Snapshots of its topic the caller may seek to, from the first pages.
      const auto allowed = SnapshotAllowed(c_.access_, credentials_, auth::Action::kSubscribe);
      json snapshots = json::array();
      std::string token;
      for (int pages = 0; pages < 10; ++pages) {
        absl::StatusOr<Page<SnapshotConfig>> page =
            c_.hub_.ListSnapshots(NameScope::All(), Limits::kMaxPageSize, token);
        if (!page.ok()) return ToGrpcStatus(page.status());
        for (const SnapshotConfig& snapshot : page->items) {
          if (snapshot.topic == sub->topic && allowed(snapshot)) snapshots.push_back(snapshot.name);
        }
        token = page->next_page_token;
        if (token.empty()) break;
      }
      answer_["snapshots"] = snapshots;
      return grpc::Status::OK;
    });
  }

  grpc::Status SubscriptionMessages() {
    const std::string name = Param("name");
    return c_.access_.IfAllowed(credentials_, Consume(name), [&] {
      static const std::map<std::string, MessageState> kStates = {
          {"waiting", MessageState::kWaiting},
          {"in_flight", MessageState::kInFlight},
          {"dead_lettered", MessageState::kDeadLettered}};
      auto state = kStates.find(Param("state"));
      if (state == kStates.end()) {
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                            "state is one of waiting, in_flight, dead_lettered");
      }
      absl::StatusOr<int> size = PageSize(50, Limits::kMaxPageSize);
      if (!size.ok()) return ToGrpcStatus(size.status());
      return Respond(
          c_.hub_.ListSubscriptionMessages(name, state->second, *size, Param("page_token")),
          [&](Page<SubscriptionMessage>& page) {
            v1::ListSubscriptionMessagesResponse proto;
            for (SubscriptionMessage& m : page.items) {
              v1::SubscriptionMessage* out = proto.add_messages();
              MessageToProto(std::move(m.message), out->mutable_message());
              SubscriptionFateToProto(m.fate, out->mutable_fate());
            }
            proto.set_next_page_token(page.next_page_token);
            answer_ = ProtoJson(proto);
          });
    });
  }

  grpc::Status Message() {
    const std::string topic = Param("topic");
    return c_.access_.IfAllowed(credentials_, ReadTopic(topic), [&] {
      const auto visible = c_.access_.Visible(credentials_, auth::Action::kView);
      return Respond(c_.hub_.GetMessageFate(topic, Param("id")), [&](MessageFate& fate) {
        v1::MessageFate proto;
        MessageToProto(std::move(fate.message), proto.mutable_message());
        for (const SubscriptionFate& on : fate.subscriptions) {
          if (visible(auth::Subscription(on.subscription))) {
            SubscriptionFateToProto(on, proto.add_subscriptions());
          }
        }
        answer_ = ProtoJson(proto);
      });
    });
  }

  // The process and its database: names no topic or subscription, so
  // every caller the hub knows may see it.
  grpc::Status HubInfo() {
    return Respond(c_.hub_.ListReplicas(), [&](const std::vector<Replica>& replicas) {
      json seen = json::array();
      for (const Replica& r : replicas) {
        seen.push_back({{"name", r.name},
                        {"connections", r.connections},
                        {"active", r.active},
                        {"connected_since", absl::FormatTime(absl::RFC3339_sec, r.connected_since,
                                                             absl::UTCTimeZone())}});
      }
      const std::vector<prometheus::MetricFamily> collected = c_.registry_.Collect();
      answer_ = {{"version", kVersion},
                 {"replica", c_.replica_},
                 {"replicas", seen},
                 {"connections", SumOf(SeriesOf(collected, "hub_grpc_connections"))},
                 {"streams", SumOf(SeriesOf(collected, "hub_streaming_pull_streams"))},
                 {"pool", SeriesOf(collected, "hub_database_pool_connections")},
                 {"pool_waiting", SeriesOf(collected, "hub_database_pool_waiting")},
                 {"database_up", SumOf(SeriesOf(collected, "hub_database_up"))}};
    });
  }

  grpc::Status Seek() {
    const std::string name = BodyString("subscription");
    return c_.access_.IfAllowed(credentials_, Consume(name), [&] {
      const std::string snapshot = BodyString("snapshot");
      absl::StatusOr<std::optional<absl::Time>> time = TimeOf(BodyString("time"), "time");
      if (!time.ok()) return ToGrpcStatus(time.status());
      if (time->has_value() == !snapshot.empty()) {
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                            "seek needs a time or a snapshot, one of them");
      }
      answer_ = json::object();
      if (!snapshot.empty()) {
        return WithSnapshot(c_.hub_, c_.access_, credentials_, auth::Action::kSubscribe, snapshot,
                            [&](const SnapshotConfig& s) {
                              return ToGrpcStatus(c_.hub_.SeekToSnapshot(name, s.name));
                            });
      }
      return ToGrpcStatus(c_.hub_.Seek(name, **time));
    });
  }

  grpc::Status Redrive() {
    const std::string name = BodyString("subscription");
    return c_.access_.IfAllowed(credentials_, Consume(name), [&] {
      std::vector<std::string> ids;
      auto it = body_.find("message_ids");
      if (it == body_.end() || !it->is_array() || it->empty()) {
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                            "message_ids is a list of the dead letters to redrive");
      }
      for (const json& id : *it) {
        if (!id.is_string()) {
          return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "a message id is a string");
        }
        ids.push_back(id.get<std::string>());
      }
      return Respond(c_.hub_.Redrive(name, ids, "", /*all=*/false),
                     [&](const RedriveResult& result) {
                       answer_ = {{"message_ids", result.message_ids}, {"more", result.more}};
                     });
    });
  }

  Console& c_;
  const HttpRequest& request_;
  const std::vector<std::string> authorization_;
  auth::Credentials credentials_;
  const std::map<std::string, std::string> query_;
  json body_;
  json answer_;
};

HttpResponse Console::Handle(const HttpRequest& request) {
  if (absl::StartsWith(request.path, kApi)) return Call(*this, request).Run();
  absl::string_view name = request.path;
  if (!absl::ConsumePrefix(&name, "/console/")) {
    // "/console": the page's relative links need the slash.
    return {301, "text/plain", "", {{"Location", "/console/"}}};
  }
  if (name.empty()) name = "index.html";
  const ConsoleAsset* asset = FindConsoleAsset(name);
  if (asset == nullptr || request.method != "GET") return {404, "text/plain", "not found\n", {}};
  return {200,
          asset->content_type,
          std::string(asset->body),
          {{"Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"},
           {"X-Content-Type-Options", "nosniff"},
           {"Referrer-Policy", "no-referrer"},
           {"Cache-Control", "no-cache"}}};
}

}  // namespace hub::services
