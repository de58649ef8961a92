#pragma once
// Running several programs as one service, for the all-in-one launcher:
// they start in order (a program can make the next ones wait until it
// reports that it is ready), and stop in reverse order (SIGTERM, then
// SIGKILL after a grace period) on SIGTERM or SIGINT, or as soon as any of
// them exits, so that nothing is left running half-configured.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace protomesh::supervisor {

struct Program {
  std::string name;               // for logs
  std::vector<std::string> argv;  // argv[0]: a path, or a name looked up in PATH
  // Set: the programs after this one start only once it sent READY=1 to
  // the socket named by its $NOTIFY_SOCKET (src/common/ready_notify.h);
  // if it has not within this long, everything stops and Run returns 1.
  std::optional<std::chrono::milliseconds> ready_timeout;
};

// Blocks SIGTERM, SIGINT, SIGPIPE and SIGCHLD in the calling thread. Call it
// first thing in main(), before any thread starts.
void BlockSignals();

// Starts `programs` (their output goes to ours) and supervises them as
// described above. Returns 0 when stopped by a signal (also while waiting
// for a program to be ready) and every program exited 0, else 1.
int Run(const std::vector<Program>& programs, std::chrono::milliseconds grace);

}  // namespace protomesh::supervisor
