#ifndef COMMON_STOP_SIGNALS_H_
#define COMMON_STOP_SIGNALS_H_

#include <signal.h>

#include <optional>
#include <string>

#include "absl/time/time.h"

namespace hub {

// SIGTERM and SIGINT as an event to wait for. Make it first in main, before
// any thread starts: it blocks both signals in the calling thread, threads
// inherit that mask, so the signals reach only Wait and WaitFor. It also
// ignores SIGPIPE, so that a peer closing a connection does not end the
// process.
class StopSignals {
 public:
  StopSignals();

  // Blocks until SIGTERM or SIGINT arrives; its name ("Terminated").
  std::string Wait() const;
  // The same for at most `timeout`; nullopt when none came.
  std::optional<std::string> WaitFor(absl::Duration timeout) const;

 private:
  sigset_t signals_;
};

}  // namespace hub

#endif  // COMMON_STOP_SIGNALS_H_
