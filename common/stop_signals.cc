#include "common/stop_signals.h"

#include <pthread.h>

#include <cerrno>
#include <cstring>

namespace hub {

StopSignals::StopSignals() {
  sigemptyset(&signals_);
  sigaddset(&signals_, SIGTERM);
  sigaddset(&signals_, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals_, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

std::string StopSignals::Wait() const {
  int sig = 0;
  while (sigwait(&signals_, &sig) != 0) {
  }
  return strsignal(sig);
}

std::optional<std::string> StopSignals::WaitFor(absl::Duration timeout) const {
  const timespec wait = absl::ToTimespec(timeout);
  for (;;) {
    const int sig = sigtimedwait(&signals_, nullptr, &wait);
    if (sig > 0) return std::string(strsignal(sig));
    if (errno != EINTR) return std::nullopt;
  }
}

}  // namespace hub
