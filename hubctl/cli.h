#ifndef HUBCTL_CLI_H_
#define HUBCTL_CLI_H_

#include <atomic>

namespace hub::hubctl {

// hubctl from its arguments to its exit code (commands.h): the command line
// (CLI11), the connection it describes, the chosen command.
// `interrupted` turns true on SIGINT or SIGTERM.
int RunHubctl(int argc, char** argv, const std::atomic<bool>& interrupted);

}  // namespace hub::hubctl

#endif  // HUBCTL_CLI_H_
