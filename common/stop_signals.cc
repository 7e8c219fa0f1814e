#include "common/stop_signals.h"

#include <pthread.h>

#include <cerrno>
#include <cstring>

namespace hub {

StopSignals::StopSignals(bool hangups) {
  sigemptyset(&signals_);
  sigaddset(&signals_, SIGTERM);
  sigaddset(&signals_, SIGINT);
  if (hangups) sigaddset(&signals_, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals_, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

std::string StopSignals::Wait() const {
  for (;;) {
    int sig = 0;
    if (sigwait(&signals_, &sig) != 0) continue;
    if (sig != SIGHUP) return strsignal(sig);
    ++hangups_;
  }
}

std::optional<std::string> StopSignals::WaitFor(absl::Duration timeout) const {
  const timespec wait = absl::ToTimespec(timeout);
  for (;;) {
    const int sig = sigtimedwait(&signals_, nullptr, &wait);
    if (sig == SIGHUP) {
      ++hangups_;
      return std::nullopt;
    }
    if (sig > 0) return std::string(strsignal(sig));
    if (errno != EINTR) return std::nullopt;
  }
}

}  // namespace hub
