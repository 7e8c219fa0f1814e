#include "bench/rabbitmq_broker.h"

#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <sys/time.h>

#include <vector>

#include "absl/strings/str_cat.h"

namespace hub::bench {
namespace {

constexpr amqp_channel_t kChannel = 1;
constexpr int kPrefetch = 300;
// Deliveries acknowledged together (multiple = true).
constexpr int kAckEvery = 50;

std::string QueueName(const std::string& name, int index) {
  return absl::StrCat("bench.", name, ".", index);
}

absl::Status ReplyStatus(amqp_rpc_reply_t reply, const char* what) {
  if (reply.reply_type == AMQP_RESPONSE_NORMAL) return absl::OkStatus();
  return absl::UnavailableError(
      absl::StrCat("RabbitMQ ", what, " failed (reply type ", reply.reply_type, ")"));
}

// One AMQP connection with channel 1 open.
class Connection {
 public:
  Connection() : state_(amqp_new_connection()) {}
  ~Connection() {
    amqp_channel_close(state_, kChannel, AMQP_REPLY_SUCCESS);
    amqp_connection_close(state_, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(state_);
  }
  absl::Status Open(const std::string& host, int port) {
    amqp_socket_t* socket = amqp_tcp_socket_new(state_);
    if (socket == nullptr || amqp_socket_open(socket, host.c_str(), port) != AMQP_STATUS_OK) {
      return absl::UnavailableError(
          absl::StrCat("cannot connect to RabbitMQ at ", host, ":", port));
    }
    if (absl::Status s = ReplyStatus(
            amqp_login(state_, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, "guest", "guest"),
            "login");
        !s.ok()) {
      return s;
    }
    amqp_channel_open(state_, kChannel);
    return ReplyStatus(amqp_get_rpc_reply(state_), "channel.open");
  }
  amqp_connection_state_t get() { return state_; }

 private:
  amqp_connection_state_t state_;
};

class RabbitProducer final : public Producer {
 public:
  RabbitProducer(std::string exchange, std::string routing_key)
      : exchange_(std::move(exchange)), routing_key_(std::move(routing_key)) {}
  absl::Status Open(const std::string& host, int port) {
    if (absl::Status s = conn_.Open(host, port); !s.ok()) return s;
    amqp_confirm_select(conn_.get(), kChannel);
    return ReplyStatus(amqp_get_rpc_reply(conn_.get()), "confirm.select");
  }

  absl::Status Publish(const std::vector<std::string>& payloads) override {
    amqp_basic_properties_t props;
    props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG;
    props.delivery_mode = 2;  // persistent
    for (const std::string& p : payloads) {
      amqp_bytes_t body{p.size(), const_cast<char*>(p.data())};
      if (amqp_basic_publish(conn_.get(), kChannel, amqp_cstring_bytes(exchange_.c_str()),
                             amqp_cstring_bytes(routing_key_.c_str()), 0, 0, &props,
                             body) != AMQP_STATUS_OK) {
        return absl::UnavailableError("RabbitMQ basic.publish failed");
      }
    }
    published_ += payloads.size();
    // Publisher confirms: wait until the broker confirmed every tag so far.
    while (confirmed_ < published_) {
      amqp_frame_t frame;
      if (amqp_simple_wait_frame(conn_.get(), &frame) != AMQP_STATUS_OK) {
        return absl::UnavailableError("RabbitMQ connection lost while awaiting confirms");
      }
      if (frame.frame_type != AMQP_FRAME_METHOD) continue;
      if (frame.payload.method.id == AMQP_BASIC_NACK_METHOD) {
        return absl::UnavailableError("RabbitMQ nacked a publish");
      }
      if (frame.payload.method.id != AMQP_BASIC_ACK_METHOD) continue;
      const auto* ack = static_cast<amqp_basic_ack_t*>(frame.payload.method.decoded);
      confirmed_ = ack->multiple ? ack->delivery_tag : std::max(confirmed_, ack->delivery_tag);
    }
    return absl::OkStatus();
  }

 private:
  Connection conn_;
  const std::string exchange_;
  const std::string routing_key_;
  uint64_t published_ = 0;
  uint64_t confirmed_ = 0;
};

class RabbitConsumer final : public Consumer {
 public:
  explicit RabbitConsumer(std::string queue) : queue_(std::move(queue)) {}
  absl::Status Open(const std::string& host, int port) {
    if (absl::Status s = conn_.Open(host, port); !s.ok()) return s;
    amqp_basic_qos(conn_.get(), kChannel, 0, kPrefetch, 0);
    if (absl::Status s = ReplyStatus(amqp_get_rpc_reply(conn_.get()), "basic.qos"); !s.ok()) {
      return s;
    }
    amqp_basic_consume(conn_.get(), kChannel, amqp_cstring_bytes(queue_.c_str()), amqp_empty_bytes,
                       0, /*no_ack=*/0, 0, amqp_empty_table);
    return ReplyStatus(amqp_get_rpc_reply(conn_.get()), "basic.consume");
  }

  absl::Status Run(const std::atomic<bool>& stop,
                   const std::function<void(absl::string_view)>& on_message) override {
    uint64_t last_tag = 0;
    int unacked = 0;
    while (!stop.load()) {
      amqp_envelope_t envelope;
      amqp_maybe_release_buffers(conn_.get());
      timeval timeout{0, 20000};
      const amqp_rpc_reply_t reply = amqp_consume_message(conn_.get(), &envelope, &timeout, 0);
      if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
          reply.library_error == AMQP_STATUS_TIMEOUT) {
        if (unacked > 0) {
          amqp_basic_ack(conn_.get(), kChannel, last_tag, /*multiple=*/1);
          unacked = 0;
        }
        continue;
      }
      if (reply.reply_type != AMQP_RESPONSE_NORMAL) {
        return absl::UnavailableError("RabbitMQ consume failed");
      }
      on_message(absl::string_view(static_cast<const char*>(envelope.message.body.bytes),
                                   envelope.message.body.len));
      last_tag = envelope.delivery_tag;
      amqp_destroy_envelope(&envelope);
      if (++unacked >= kAckEvery) {
        amqp_basic_ack(conn_.get(), kChannel, last_tag, /*multiple=*/1);
        unacked = 0;
      }
    }
    if (unacked > 0) amqp_basic_ack(conn_.get(), kChannel, last_tag, 1);
    return absl::OkStatus();
  }

 private:
  Connection conn_;
  const std::string queue_;
};

}  // namespace

absl::Status RabbitMqBroker::Prepare(const std::string& name, int subscriptions) {
  name_ = name;
  subscriptions_ = subscriptions;
  Connection conn;
  if (absl::Status s = conn.Open(host_, port_); !s.ok()) return s;
  const std::string exchange = absl::StrCat("bench.", name);
  amqp_exchange_delete(conn.get(), kChannel, amqp_cstring_bytes(exchange.c_str()), 0);
  if (absl::Status s = ReplyStatus(amqp_get_rpc_reply(conn.get()), "exchange.delete"); !s.ok()) {
    return s;
  }
  amqp_exchange_declare(conn.get(), kChannel, amqp_cstring_bytes(exchange.c_str()),
                        amqp_cstring_bytes("fanout"), 0, /*durable=*/1, 0, 0, amqp_empty_table);
  if (absl::Status s = ReplyStatus(amqp_get_rpc_reply(conn.get()), "exchange.declare"); !s.ok()) {
    return s;
  }
  for (int i = 0; i < subscriptions; ++i) {
    const std::string queue = QueueName(name, i);
    amqp_queue_delete(conn.get(), kChannel, amqp_cstring_bytes(queue.c_str()), 0, 0);
    amqp_queue_declare(conn.get(), kChannel, amqp_cstring_bytes(queue.c_str()), 0,
                       /*durable=*/1, 0, 0, amqp_empty_table);
    amqp_queue_bind(conn.get(), kChannel, amqp_cstring_bytes(queue.c_str()),
                    amqp_cstring_bytes(exchange.c_str()), amqp_empty_bytes, amqp_empty_table);
    if (absl::Status s = ReplyStatus(amqp_get_rpc_reply(conn.get()), "queue setup"); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

std::unique_ptr<Producer> RabbitMqBroker::NewProducer() {
  // One subscription: straight to its queue; several: through the fanout.
  auto producer = subscriptions_ == 1
                      ? std::make_unique<RabbitProducer>("", QueueName(name_, 0))
                      : std::make_unique<RabbitProducer>(absl::StrCat("bench.", name_), "");
  if (!producer->Open(host_, port_).ok()) return nullptr;
  return producer;
}

std::unique_ptr<Consumer> RabbitMqBroker::NewConsumer(int index) {
  auto consumer = std::make_unique<RabbitConsumer>(QueueName(name_, index));
  if (!consumer->Open(host_, port_).ok()) return nullptr;
  return consumer;
}

}  // namespace hub::bench
