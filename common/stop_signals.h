#ifndef COMMON_STOP_SIGNALS_H_
#define COMMON_STOP_SIGNALS_H_

#include <signal.h>

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/time/time.h"

namespace hub {

// SIGTERM and SIGINT as an event to wait for, and SIGHUP as a request to
// read configuration again when `hangups` is set. Make it first in main,
// before any thread starts: it blocks the signals in the calling thread,
// threads inherit that mask, so the signals reach only Wait and WaitFor. It
// also ignores SIGPIPE, so that a peer closing a connection does not end
// the process.
class StopSignals {
 public:
  explicit StopSignals(bool hangups = false);

  // Blocks until SIGTERM or SIGINT arrives; its name ("Terminated").
  std::string Wait() const;
  // The same for at most `timeout`; nullopt when none came. A SIGHUP ends
  // the wait early (nullopt) and counts in hangups().
  std::optional<std::string> WaitFor(absl::Duration timeout) const;

  // How many SIGHUPs came so far.
  int64_t hangups() const { return hangups_.load(); }

 private:
  sigset_t signals_;
  mutable std::atomic<int64_t> hangups_{0};
};

}  // namespace hub

#endif  // COMMON_STOP_SIGNALS_H_
