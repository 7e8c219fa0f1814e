#ifndef TESTS_SUPPORT_KEYED_PUBLISHER_H_
#define TESTS_SUPPORT_KEYED_PUBLISHER_H_

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "hub/v1/publisher.grpc.pb.h"
#include "tests/support/test_env.h"

namespace hub::testing {

// A client under a fault: publishes message i ("m<i>", idempotency key
// "k<i>") to the topic "orders", waiting at most 2 s for each answer, until
// it is acknowledged, then i + 1, on its own thread; records every answer.
// So every stored key k0..k(acked-1) was acknowledged, and a retry across
// the fault tests deduplication.
class KeyedPublisher {
 public:
  struct Answer {
    absl::Time at;
    bool ok;
  };

  explicit KeyedPublisher(HubProcess& hubd);
  ~KeyedPublisher() { Stop(); }

  // Stops after the message in hand is acknowledged (30 s at most), so
  // that nothing stored went unacknowledged.
  void Stop();
  int64_t acked() const { return acked_.load(); }
  // When the first acknowledgement after an error came; InfinitePast if
  // none did.
  absl::Time recovered();
  // Failed answers by "<code> <message>".
  std::map<std::string, int> errors();
  std::vector<Answer> answers();

 private:
  void Loop();

  std::unique_ptr<v1::Publisher::Stub> stub_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> acked_{0};
  absl::Mutex mu_;
  bool failing_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time recovered_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  std::map<std::string, int> errors_ ABSL_GUARDED_BY(mu_);
  std::vector<Answer> answers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace hub::testing

#endif  // TESTS_SUPPORT_KEYED_PUBLISHER_H_
