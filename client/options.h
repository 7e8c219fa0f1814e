#ifndef CLIENT_OPTIONS_H_
#define CLIENT_OPTIONS_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

// Every knob of the client library, with the defaults docs/client.md lists.
namespace hub::client {

// Exponential backoff: `initial`, then times `multiplier` up to `maximum`,
// each wait drawn uniformly from [delay/2, delay] so that many clients
// retrying together spread out.
struct BackoffPolicy {
  absl::Duration initial = absl::Milliseconds(100);
  absl::Duration maximum = absl::Seconds(10);
  double multiplier = 2.0;
};

struct ConnectionOptions {
  // host:port, or several separated by commas (replicas of hubd), which the
  // channel balances round robin. A "dns:///name:port" target resolves every
  // address of a name (a Kubernetes headless Service) the same way.
  std::string endpoint = "127.0.0.1:50051";
  // TLS: on when `tls` is set or any file below is given. PEM files.
  bool tls = false;
  std::string ca_file;    // empty: the system roots
  std::string cert_file;  // client certificate, for mutual TLS
  std::string key_file;
  // Sent as "authorization: Bearer <token>" on every call.
  std::string bearer_token;
  // Deadline of each unary call (one attempt).
  absl::Duration call_timeout = absl::Seconds(30);
};

struct PublisherOptions {
  // A batch is sent when it holds this many messages or bytes, or when its
  // first message has waited `max_hold_time`, whichever comes first. The
  // hub takes at most 1000 messages and 10 MiB per request (README,
  // "Limits"), so the batch limits may not be larger.
  int max_batch_messages = 100;
  int64_t max_batch_bytes = 1024 * 1024;
  absl::Duration max_hold_time = absl::Milliseconds(10);
  // Batches in flight at once (ordering keys: at most one each).
  int max_concurrent_batches = 4;
  // Flow control: messages and bytes accepted but not yet answered. When
  // full, Publish blocks, or with `reject_when_full` fails at once with
  // RESOURCE_EXHAUSTED.
  int64_t max_pending_messages = 10000;
  int64_t max_pending_bytes = 100 * 1024 * 1024;
  bool reject_when_full = false;
  // Send each batch as a producer batch (docs/api.md, "Producers"), so that
  // a retried batch is never stored twice, whether or not its first attempt
  // committed; the hub checks it with one lookup per batch. Messages that
  // carry an idempotency key of their own are checked by it as well.
  bool deduplicate_retries = true;
  // Retries of UNAVAILABLE, ABORTED and DEADLINE_EXCEEDED, the same batch
  // again, until `retry_timeout` after the first attempt.
  BackoffPolicy retry_backoff;
  absl::Duration retry_timeout = absl::Seconds(60);
};

struct SubscriberOptions {
  // Flow control, enforced by the hub on the stream: it stops sending while
  // this client holds that many unacknowledged messages or bytes. The same
  // as hubd's defaults for clients that set none (--max_outstanding_messages,
  // --max_outstanding_bytes).
  int64_t max_outstanding_messages = 1000;
  int64_t max_outstanding_bytes = 10 * 1024 * 1024;
  // Handler calls running at once.
  int max_concurrency = 4;
  // The lease of each delivery on this stream; renewed while the message is
  // held (handler running or ack not yet called) until
  // `max_lease_extension` after its arrival. Short, so that what a crashed
  // consumer or hub held goes out again soon; renewal costs one row update
  // per delivered batch.
  int ack_deadline_seconds = 10;
  absl::Duration max_lease_extension = absl::Minutes(10);
  // Acks and nacks wait at most this long to share one request.
  absl::Duration ack_batch_delay = absl::Milliseconds(5);
  // Reconnects after the stream broke.
  BackoffPolicy reconnect_backoff;
  // Told each error that broke the stream (or the look-up before it) and
  // will be retried, before the pause: how a program says that the hub is
  // away instead of falling silent. Called on the session's reader thread;
  // it must not block.
  std::function<void(const absl::Status&)> on_retry;
  // Stop waits this long for running handlers before it nacks the rest.
  absl::Duration shutdown_timeout = absl::Seconds(30);
};

}  // namespace hub::client

#endif  // CLIENT_OPTIONS_H_
