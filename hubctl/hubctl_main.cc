// hubctl: the hub from the command line. hubctl/cli.cc wires the arguments
// to the commands in commands.cc; docs/client.md describes every command.
#include <atomic>
#include <thread>

#include "common/stop_signals.h"
#include "hubctl/cli.h"

int main(int argc, char** argv) {
  // SIGINT and SIGTERM end `tail` gracefully; a thread turns them into a flag.
  static const hub::StopSignals signals;
  static std::atomic<bool> interrupted{false};
  std::thread([] {
    signals.Wait();
    interrupted = true;
  }).detach();
  return hub::hubctl::RunHubctl(argc, argv, interrupted);
}
