#include "bench/nats_broker.h"

#include <nats/nats.h>

#include <atomic>
#include <vector>

#include "absl/strings/str_cat.h"

namespace hub::bench {
namespace {

constexpr int kFetchBatch = 100;
// Debian's libnats (3.3) overran its message list in Fetch under fan-out
// with a 100 ms expiry (found with AddressSanitizer: messages of an expired
// pull request landing in the next one's list); a longer expiry keeps pull
// requests from expiring while messages are on their way.
constexpr int64_t kFetchTimeoutMs = 2000;

absl::Status NatsError(natsStatus s, const char* what) {
  return absl::UnavailableError(absl::StrCat("NATS ", what, ": ", natsStatus_GetText(s)));
}

std::string Durable(int index) { return absl::StrCat("c", index); }

// A connection with its JetStream context; errors of asynchronous
// publishes are counted.
class Session {
 public:
  ~Session() {
    if (js_ != nullptr) jsCtx_Destroy(js_);
    if (nc_ != nullptr) natsConnection_Destroy(nc_);
  }
  absl::Status Open(const std::string& url) {
    if (natsStatus s = natsConnection_ConnectTo(&nc_, url.c_str()); s != NATS_OK) {
      return NatsError(s, "connect");
    }
    jsOptions o;
    jsOptions_Init(&o);
    o.PublishAsync.ErrHandler = [](jsCtx*, jsPubAckErr*, void* closure) {
      ++static_cast<Session*>(closure)->publish_errors;
    };
    o.PublishAsync.ErrHandlerClosure = this;
    if (natsStatus s = natsConnection_JetStream(&js_, nc_, &o); s != NATS_OK) {
      return NatsError(s, "jetstream");
    }
    return absl::OkStatus();
  }
  jsCtx* js() { return js_; }
  std::atomic<int> publish_errors{0};

 private:
  natsConnection* nc_ = nullptr;
  jsCtx* js_ = nullptr;
};

class NatsProducer final : public Producer {
 public:
  explicit NatsProducer(std::string subject) : subject_(std::move(subject)) {}
  absl::Status Open(const std::string& url) { return session_.Open(url); }

  absl::Status Publish(const std::vector<std::string>& payloads) override {
    for (const std::string& p : payloads) {
      if (natsStatus s = js_PublishAsync(session_.js(), subject_.c_str(), p.data(),
                                         static_cast<int>(p.size()), nullptr);
          s != NATS_OK) {
        return NatsError(s, "publish");
      }
    }
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = 30000;
    if (natsStatus s = js_PublishAsyncComplete(session_.js(), &po); s != NATS_OK) {
      return NatsError(s, "publish acks");
    }
    if (session_.publish_errors.exchange(0) > 0) {
      return absl::UnavailableError("NATS rejected a publish");
    }
    return absl::OkStatus();
  }

 private:
  Session session_;
  const std::string subject_;
};

class NatsConsumer final : public Consumer {
 public:
  ~NatsConsumer() override {
    if (sub_ != nullptr) natsSubscription_Destroy(sub_);
  }
  absl::Status Open(const std::string& url, const std::string& stream, const std::string& subject,
                    const std::string& durable) {
    if (absl::Status s = session_.Open(url); !s.ok()) return s;
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = stream.c_str();
    so.Consumer = durable.c_str();
    jsErrCode jerr;
    if (natsStatus s = js_PullSubscribe(&sub_, session_.js(), subject.c_str(), durable.c_str(),
                                        nullptr, &so, &jerr);
        s != NATS_OK) {
      return NatsError(s, "pull subscribe");
    }
    return absl::OkStatus();
  }

  absl::Status Run(const std::atomic<bool>& stop,
                   const std::function<void(absl::string_view)>& on_message) override {
    while (!stop.load()) {
      natsMsgList list;
      jsErrCode jerr;
      const natsStatus s = natsSubscription_Fetch(&list, sub_, kFetchBatch, kFetchTimeoutMs, &jerr);
      if (s == NATS_TIMEOUT) continue;
      if (s != NATS_OK) return NatsError(s, "fetch");
      for (int i = 0; i < list.Count; ++i) {
        on_message(absl::string_view(natsMsg_GetData(list.Msgs[i]),
                                     static_cast<size_t>(natsMsg_GetDataLength(list.Msgs[i]))));
        natsMsg_Ack(list.Msgs[i], nullptr);
      }
      natsMsgList_Destroy(&list);
    }
    return absl::OkStatus();
  }

 private:
  Session session_;
  natsSubscription* sub_ = nullptr;
};

}  // namespace

absl::Status NatsBroker::Prepare(const std::string& name, int subscriptions) {
  stream_ = absl::StrCat("BENCH_", name);
  subject_ = absl::StrCat("bench.", name);
  Session session;
  if (absl::Status s = session.Open(url_); !s.ok()) return s;
  jsErrCode jerr;
  js_DeleteStream(session.js(), stream_.c_str(), nullptr, &jerr);
  jsStreamConfig sc;
  jsStreamConfig_Init(&sc);
  sc.Name = stream_.c_str();
  const char* subjects[] = {subject_.c_str()};
  sc.Subjects = subjects;
  sc.SubjectsLen = 1;
  sc.Storage = js_FileStorage;
  sc.Replicas = replicas_;
  jsStreamInfo* si = nullptr;
  if (natsStatus s = js_AddStream(&si, session.js(), &sc, nullptr, &jerr); s != NATS_OK) {
    return NatsError(s, "add stream");
  }
  jsStreamInfo_Destroy(si);
  for (int i = 0; i < subscriptions; ++i) {
    const std::string durable = Durable(i);
    jsConsumerConfig cc;
    jsConsumerConfig_Init(&cc);
    cc.Durable = durable.c_str();
    cc.AckPolicy = js_AckExplicit;
    jsConsumerInfo* ci = nullptr;
    if (natsStatus s = js_AddConsumer(&ci, session.js(), stream_.c_str(), &cc, nullptr, &jerr);
        s != NATS_OK) {
      return NatsError(s, "add consumer");
    }
    jsConsumerInfo_Destroy(ci);
  }
  return absl::OkStatus();
}

std::unique_ptr<Producer> NatsBroker::NewProducer() {
  auto producer = std::make_unique<NatsProducer>(subject_);
  if (!producer->Open(url_).ok()) return nullptr;
  return producer;
}

std::unique_ptr<Consumer> NatsBroker::NewConsumer(int index) {
  auto consumer = std::make_unique<NatsConsumer>();
  if (!consumer->Open(url_, stream_, subject_, Durable(index)).ok()) return nullptr;
  return consumer;
}

}  // namespace hub::bench
