#pragma once
// Running other programs: a command to completion (RunCommand), or the
// pieces for a long-running child (Spawn, WaitPid). Output goes to a file
// rather than a pipe, so a grandchild that keeps the descriptor open (a
// daemon started by the command) cannot make us wait for it.
#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace protomesh::subprocess {

struct CommandResult {
  int exit_code = -1;  // 128 + signal when killed by one.
  std::string output;  // stdout and stderr, interleaved.
};

// Runs `argv` (argv[0] looked up in PATH when it has no slash) with the
// environment overlaid with `env`, feeding it `stdin_data`. A command still
// running after `timeout` is killed and DEADLINE_EXCEEDED returned; a
// missing program is an error rather than exit code 127.
absl::StatusOr<CommandResult> RunCommand(
    std::vector<std::string> argv, std::map<std::string, std::string> env = {},
    const std::string& stdin_data = "",
    std::chrono::milliseconds timeout = std::chrono::seconds(60));

// Forks and execs `argv` as RunCommand does, with stdin from `stdin_fd`
// (/dev/null when -1), stdout to `output_fd` and stderr to `stderr_fd`
// (`output_fd` too when -1). The child starts
// with no blocked or ignored signals and gets SIGKILL when the thread that
// called Spawn exits (PR_SET_PDEATHSIG), so call it from a thread that
// outlives the child.
absl::StatusOr<pid_t> Spawn(const std::vector<std::string>& argv,
                            const std::map<std::string, std::string>& env, int stdin_fd,
                            int output_fd, int stderr_fd = -1);

// Waits up to `timeout` for `pid` to exit and reaps it; its exit code (or
// 128 + signal), or nullopt while it runs. -1 when it is not our child.
std::optional<int> WaitPid(pid_t pid, std::chrono::milliseconds timeout);

// A new, empty file under $TMPDIR (or /tmp) named after `program`, for a
// child's output: its descriptor (O_CLOEXEC) and path.
absl::StatusOr<std::pair<int, std::string>> MakeOutputFile(const std::string& program);

}  // namespace protomesh::subprocess
