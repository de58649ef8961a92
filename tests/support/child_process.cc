#include "tests/support/child_process.h"
#include "src/common/files.h"

#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace protomesh::testing {
namespace {

using files::ReadFile;
using files::Tail;

}  // namespace

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Start(
    std::vector<std::string> argv, std::map<std::string, std::string> env) {
  if (argv.empty()) return absl::InvalidArgumentError("empty argv");
  auto log = subprocess::MakeOutputFile(argv[0]);
  if (!log.ok()) return log.status();
  const auto [log_fd, log_path] = *log;
  absl::StatusOr<pid_t> pid = subprocess::Spawn(argv, env, -1, log_fd);
  close(log_fd);
  if (!pid.ok()) {
    unlink(log_path.c_str());
    return pid.status();
  }
  std::unique_ptr<ChildProcess> child(new ChildProcess());
  child->pid_ = *pid;
  child->log_path_ = log_path;
  child->name_ = argv[0];
  return child;
}

ChildProcess::~ChildProcess() {
  Kill();
  if (!log_path_.empty()) unlink(log_path_.c_str());
}

absl::StatusOr<int> ChildProcess::Terminate(std::chrono::milliseconds timeout) {
  if (exit_code_.has_value()) return *exit_code_;
  kill(pid_, SIGTERM);
  if (std::optional<int> code = WaitForExit(timeout)) return *code;
  return absl::DeadlineExceededError(absl::StrCat(name_, " (pid ", pid_, ") did not exit within ",
                                                  timeout.count(), " ms of SIGTERM; output:\n",
                                                  Tail(Output())));
}

void ChildProcess::Kill() {
  if (pid_ <= 0 || exit_code_.has_value()) return;
  kill(pid_, SIGKILL);
  exit_code_ = subprocess::WaitPid(pid_, std::chrono::hours(1));
}

std::optional<int> ChildProcess::WaitForExit(std::chrono::milliseconds timeout) {
  if (!exit_code_.has_value()) exit_code_ = subprocess::WaitPid(pid_, timeout);
  return exit_code_;
}

bool ChildProcess::Running() { return !WaitForExit(std::chrono::milliseconds(0)).has_value(); }

std::string ChildProcess::Output() const { return ReadFile(log_path_); }

}  // namespace protomesh::testing
