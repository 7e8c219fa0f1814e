#ifndef SERVICES_HUBD_H_
#define SERVICES_HUBD_H_

#include "common/stop_signals.h"

namespace hub::services {

// hubd from its flags to its exit code: configuration, the database (waited
// for, migrated), the engine, the gRPC server with TLS and access control,
// the ops port; then it serves until a stop signal and shuts down in order.
// Exit codes: 0 after a stop signal (or --migrate_only), 1 when an address
// cannot be served, 2 for a bad configuration.
int RunHubd(int argc, char** argv, const StopSignals& signals);

}  // namespace hub::services

#endif  // SERVICES_HUBD_H_
