// hubctl: the hub from the command line. hubctl/cli.cc wires the arguments
// to the commands in commands.cc; docs/client.md describes every command.
#include <cstdlib>
#include <thread>

#include <grpc/support/log.h>

#include "common/stop_signals.h"
#include "hubctl/args.h"
#include "hubctl/cli.h"

int main(int argc, char** argv) {
  // hubctl says what went wrong in its own words; gRPC's log lines (a TLS
  // handshake's raw SSL error, say) would come first and confuse.
  gpr_set_log_function([](gpr_log_func_args*) {});
  // SIGINT and SIGTERM end `tail` gracefully and every other command at
  // once; a thread turns them into that.
  static const hub::StopSignals signals;
  static hub::hubctl::Interrupt interrupt;
  std::thread([] {
    signals.Wait();
    interrupt.requested = true;
    if (!interrupt.handled) std::_Exit(hub::hubctl::kExitInterrupted);
  }).detach();
  return hub::hubctl::RunHubctl(argc, argv, interrupt);
}
