#include "tests/support/child_process.h"
#include "src/common/files.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <initializer_list>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace protomesh::testing {
namespace {

using files::ReadFile;
using files::Tail;

absl::Status ErrnoError(absl::string_view what, int err = errno) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(err)));
}

void CloseAll(std::initializer_list<int> fds) {
  for (int fd : fds) {
    if (fd >= 0) close(fd);
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Start(
    std::vector<std::string> argv, std::map<std::string, std::string> env) {
  return Launch(std::move(argv), std::move(env), /*interactive=*/false);
}

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::StartInteractive(
    std::vector<std::string> argv, std::map<std::string, std::string> env) {
  return Launch(std::move(argv), std::move(env), /*interactive=*/true);
}

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Launch(
    std::vector<std::string> argv, std::map<std::string, std::string> env, bool interactive) {
  if (argv.empty()) return absl::InvalidArgumentError("empty argv");
  // A socket for stdin so that writing to a child that has exited fails
  // with EPIPE (MSG_NOSIGNAL) rather than raising SIGPIPE.
  int stdin_pair[2] = {-1, -1};   // {ours, the child's}
  int stdout_pipe[2] = {-1, -1};  // {ours (read), the child's (write)}
  if (interactive) {
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, stdin_pair) != 0) {
      return ErrnoError("socketpair");
    }
    if (pipe2(stdout_pipe, O_CLOEXEC) != 0) {
      const int err = errno;
      CloseAll({stdin_pair[0], stdin_pair[1]});
      return ErrnoError("pipe2", err);
    }
  }
  auto log = subprocess::MakeOutputFile(argv[0]);
  if (!log.ok()) {
    CloseAll({stdin_pair[0], stdin_pair[1], stdout_pipe[0], stdout_pipe[1]});
    return log.status();
  }
  const auto [log_fd, log_path] = *log;
  absl::StatusOr<pid_t> pid =
      interactive ? subprocess::Spawn(argv, env, stdin_pair[1], stdout_pipe[1], log_fd)
                  : subprocess::Spawn(argv, env, -1, log_fd);
  CloseAll({log_fd, stdin_pair[1], stdout_pipe[1]});
  if (!pid.ok()) {
    CloseAll({stdin_pair[0], stdout_pipe[0]});
    unlink(log_path.c_str());
    return pid.status();
  }
  std::unique_ptr<ChildProcess> child(new ChildProcess());
  child->pid_ = *pid;
  child->log_path_ = log_path;
  child->name_ = argv[0];
  child->stdin_fd_ = stdin_pair[0];
  child->stdout_fd_ = stdout_pipe[0];
  return child;
}

ChildProcess::~ChildProcess() {
  Kill();
  CloseAll({stdin_fd_, stdout_fd_});
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

absl::Status ChildProcess::WriteLine(absl::string_view line) {
  if (stdin_fd_ < 0) return absl::FailedPreconditionError(name_ + " is not interactive");
  const std::string data = absl::StrCat(line, "\n");
  size_t written = 0;
  while (written < data.size()) {
    const ssize_t n = send(stdin_fd_, data.data() + written, data.size() - written, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return absl::UnavailableError(absl::StrCat("writing to ", name_, ": ", std::strerror(errno),
                                                 "; output:\n", Tail(Output())));
    }
    written += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ChildProcess::ReadLine(std::chrono::milliseconds timeout) {
  if (stdout_fd_ < 0) return absl::FailedPreconditionError(name_ + " is not interactive");
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (const size_t newline = stdout_buffer_.find('\n'); newline != std::string::npos) {
      std::string line = stdout_buffer_.substr(0, newline);
      stdout_buffer_.erase(0, newline + 1);
      return line;
    }
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return absl::DeadlineExceededError(absl::StrCat(name_, " wrote no line within ",
                                                      timeout.count(), " ms; output:\n",
                                                      Tail(Output())));
    }
    pollfd readable{stdout_fd_, POLLIN, 0};
    const int wait_ms = static_cast<int>(std::min<int64_t>(left.count(), 1 << 30));
    const int ready = poll(&readable, 1, wait_ms);
    if (ready < 0 && errno != EINTR) return ErrnoError("poll");
    if (ready <= 0) continue;
    char buffer[4096];
    const ssize_t n = read(stdout_fd_, buffer, sizeof(buffer));
    if (n > 0) {
      stdout_buffer_.append(buffer, static_cast<size_t>(n));
    } else if (n == 0) {
      return absl::UnavailableError(
          absl::StrCat(name_, " closed its stdout; output:\n", Tail(Output())));
    } else if (errno != EINTR) {
      return ErrnoError(absl::StrCat("reading from ", name_));
    }
  }
}

}  // namespace protomesh::testing
