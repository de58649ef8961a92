#pragma once
// A child process for integration tests: our binaries and tools started with
// argv and extra environment; stdout and stderr go to a log file that tests
// can read (and that is printed when a test fails). An interactive child
// instead takes commands on stdin and answers on stdout, line by line.
#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "src/common/subprocess.h"

namespace protomesh::testing {

class ChildProcess {
 public:
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Start(
      std::vector<std::string> argv, std::map<std::string, std::string> env = {});
  // Like Start, with stdin and stdout connected to this process (WriteLine,
  // ReadLine); only stderr goes to the log.
  static absl::StatusOr<std::unique_ptr<ChildProcess>> StartInteractive(
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
  // Everything the process wrote to the log so far.
  std::string Output() const;
  const std::string& log_path() const { return log_path_; }

  // Interactive children only. Writes `line` and a newline to its stdin.
  absl::Status WriteLine(absl::string_view line);
  // The next line it writes to stdout, without the newline; DEADLINE_EXCEEDED
  // when none is complete within `timeout`, UNAVAILABLE once stdout closed.
  absl::StatusOr<std::string> ReadLine(std::chrono::milliseconds timeout);

 private:
  ChildProcess() = default;
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Launch(
      std::vector<std::string> argv, std::map<std::string, std::string> env, bool interactive);
  int stdin_fd_ = -1;   // Our end of its stdin, when interactive.
  int stdout_fd_ = -1;  // Our end of its stdout, when interactive.
  std::string stdout_buffer_;  // Read from stdout_fd_, not yet returned as a line.
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::string log_path_;
  std::string name_;  // argv[0], for error messages.
};

// Runs a command to completion; returns exit code and combined output.
using subprocess::CommandResult;
using subprocess::RunCommand;

}  // namespace protomesh::testing
