#ifndef TESTS_SUPPORT_FAULT_PROXY_H_
#define TESTS_SUPPORT_FAULT_PROXY_H_

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace hub::testing {

// A TCP proxy on a free loopback port in front of 127.0.0.1:target_port
// that the test turns faulty: the network between hubd and PostgreSQL, or
// between a client and hubd, without root or a network namespace. Each
// accepted connection gets one upstream connection and a thread per
// direction.
class FaultProxy {
 public:
  // What a userspace proxy can make of a network fault. It acknowledges
  // what it reads at the TCP level, so it cannot lose bytes the way a
  // network does (TCP would resend them, or give up and reset): a link that
  // ate bytes yet kept the connection would be no network's fault.
  enum class Mode {
    kPass,
    // A partition: nothing moves either way, bytes sent wait in the
    // kernels' buffers, connections stay open and new ones hang before
    // reaching the target. Healed by kPass, when what waited goes through.
    kPartition,
  };

  explicit FaultProxy(int target_port);
  ~FaultProxy();
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  int port() const { return port_; }
  void Set(Mode mode);
  // Each chunk waits this long before it is passed on (a slow link).
  void SetDelay(absl::Duration delay);
  // Closes every open connection now, both sides, with a reset; new
  // connections are taken as the mode says.
  void Cut();
  // Connections accepted so far.
  int accepted() const { return accepted_.load(); }

 private:
  struct Link;
  void AcceptLoop();
  void Serve(std::shared_ptr<Link> link);
  void Pump(std::shared_ptr<Link> link, bool to_target);

  const int target_port_;
  int port_ = 0;
  int listen_fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::atomic<Mode> mode_{Mode::kPass};
  std::atomic<int64_t> delay_us_{0};
  std::atomic<int> accepted_{0};
  absl::Mutex mu_;
  std::vector<std::shared_ptr<Link>> links_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> threads_ ABSL_GUARDED_BY(mu_);
  std::thread acceptor_;
};

}  // namespace hub::testing

#endif  // TESTS_SUPPORT_FAULT_PROXY_H_
