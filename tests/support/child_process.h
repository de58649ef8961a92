#pragma once
// A child process for integration tests: our binaries and tools started with
// argv and extra environment; stdout and stderr go to a log file that tests
// can read (and that is printed when a test fails).
#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "src/common/subprocess.h"

namespace protomesh::testing {

class ChildProcess {
 public:
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Start(
      std::vector<std::string> argv, std::map<std::string, std::string> env = {});
  ~ChildProcess();  // SIGKILL if still running, then reaps.

  pid_t pid() const { return pid_; }
  // Sends SIGTERM and waits up to `timeout`; returns the exit code (or
  // 128 + signal when killed by one). Error when it did not exit in time.
  absl::StatusOr<int> Terminate(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  void Kill();  // SIGKILL and reap.
  // Waits for exit up to `timeout`; nullopt when still running.
  std::optional<int> WaitForExit(std::chrono::milliseconds timeout);
  bool Running();
  // Everything the process wrote to stdout and stderr so far.
  std::string Output() const;
  const std::string& log_path() const { return log_path_; }

 private:
  ChildProcess() = default;
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::string log_path_;
  std::string name_;  // argv[0], for error messages.
};

// Runs a command to completion; returns exit code and combined output.
using subprocess::CommandResult;
using subprocess::RunCommand;

}  // namespace protomesh::testing
