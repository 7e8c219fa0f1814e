#ifndef HUBCTL_CLI_H_
#define HUBCTL_CLI_H_

#include <atomic>

namespace hub::hubctl {

// SIGINT or SIGTERM while hubctl runs. A command ends at once on it (exit
// kExitInterrupted), unless it takes the signal as its normal end (`tail`),
// which sets `handled` before it starts.
struct Interrupt {
  std::atomic<bool> requested{false};
  std::atomic<bool> handled{false};
};

// hubctl from its arguments to its exit code (args.h): the command line
// (CLI11), the connection it describes (reached within --timeout, or said
// plainly that there is no hub), the chosen command.
int RunHubctl(int argc, char** argv, Interrupt& interrupt);

}  // namespace hub::hubctl

#endif  // HUBCTL_CLI_H_
