// hubd: the message hub server. All behaviour lives in the libraries
// (services/hubd.h wires them); see docs/design.md.
#include "common/stop_signals.h"
#include "services/hubd.h"

int main(int argc, char** argv) {
  // Before any thread starts, so that only hubd's own wait sees the
  // signals; SIGHUP reads the tokens and policy files again.
  const hub::StopSignals signals(/*hangups=*/true);
  return hub::services::RunHubd(argc, argv, signals);
}
