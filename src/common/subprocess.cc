#include "src/common/subprocess.h"
#include "src/common/files.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

extern char** environ;

namespace protomesh::subprocess {
namespace {

using files::ReadFile;
using files::TempDir;
using files::Tail;

using Clock = std::chrono::steady_clock;

absl::Status ErrnoError(absl::string_view what, int err = errno) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(err)));
}

int ExitCodeFromWaitStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

int RemainingMs(Clock::time_point deadline) {
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::clamp<int64_t>(left.count(), 0, 1 << 30));
}

// A pidfd becomes readable when the process exits; -1 when the kernel has no
// pidfd_open (before Linux 5.3), and callers fall back to polling.
int OpenPidfd(pid_t pid) {
#ifdef SYS_pidfd_open
  return static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
#else
  return -1;
#endif
}

// Reaps `pid` if it has exited; the exit code (or 128 + signal) if so.
std::optional<int> TryReap(pid_t pid) {
  int status = 0;
  pid_t r;
  do {
    r = waitpid(pid, &status, WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid) return ExitCodeFromWaitStatus(status);
  if (r < 0) return -1;  // ECHILD: someone else reaped it; it is gone either way.
  return std::nullopt;
}

bool IsExecutableFile(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(path.c_str(), X_OK) == 0;
}

// Makes `fd` the child's `target` descriptor (without O_CLOEXEC).
bool Redirect(int fd, int target) {
  if (fd == target) return fcntl(fd, F_SETFD, 0) == 0;
  return dup2(fd, target) >= 0;
}

}  // namespace

std::optional<int> WaitPid(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  if (auto code = TryReap(pid)) return code;
  const int pidfd = OpenPidfd(pid);
  std::chrono::milliseconds backoff(1);
  while (true) {
    const int left = RemainingMs(deadline);
    if (left == 0) break;
    if (pidfd >= 0) {
      pollfd pfd{pidfd, POLLIN, 0};
      if (poll(&pfd, 1, left) < 0 && errno != EINTR) break;
    } else {
      std::this_thread::sleep_for(std::min(backoff, std::chrono::milliseconds(left)));
      backoff = std::min(backoff * 2, std::chrono::milliseconds(20));
    }
    if (auto code = TryReap(pid)) {
      if (pidfd >= 0) close(pidfd);
      return code;
    }
  }
  if (pidfd >= 0) close(pidfd);
  return TryReap(pid);
}

absl::StatusOr<std::pair<int, std::string>> MakeOutputFile(const std::string& program) {
  std::string name = program.substr(program.find_last_of('/') + 1).substr(0, 32);
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') c = '_';
  }
  std::string path = absl::StrCat(TempDir(), "/protomesh-", name, "-XXXXXX.log");
  const int fd = mkostemps(path.data(), 4, O_CLOEXEC);
  if (fd < 0) return ErrnoError(absl::StrCat("mkostemps ", path));
  return std::make_pair(fd, path);
}

// Exec failures are reported through a close-on-exec pipe, so a missing
// binary is an error here rather than exit code 127 later.
absl::StatusOr<pid_t> Spawn(const std::vector<std::string>& argv,
                            const std::map<std::string, std::string>& env, int stdin_fd,
                            int output_fd, int stderr_fd) {
  if (argv.empty()) return absl::InvalidArgumentError("empty argv");

  std::map<std::string, std::string> merged;
  for (char** e = environ; *e != nullptr; ++e) {
    absl::string_view kv(*e);
    const size_t eq = kv.find('=');
    if (eq != absl::string_view::npos) merged.emplace(kv.substr(0, eq), kv.substr(eq + 1));
  }
  for (const auto& [key, value] : env) merged[key] = value;

  // Resolve the program with the child's PATH, before forking (only
  // async-signal-safe calls are allowed in the child).
  std::string program = argv[0];
  if (program.find('/') == std::string::npos) {
    const auto path_it = merged.find("PATH");
    const std::string path = path_it != merged.end() ? path_it->second : "/usr/bin:/bin";
    std::string found;
    for (absl::string_view dir : absl::StrSplit(path, ':')) {
      std::string candidate = absl::StrCat(dir.empty() ? "." : dir, "/", program);
      if (IsExecutableFile(candidate)) {
        found = std::move(candidate);
        break;
      }
    }
    if (found.empty()) {
      return absl::NotFoundError(absl::StrCat(program, " not found in PATH=", path));
    }
    program = std::move(found);
  }

  std::vector<std::string> env_strings;
  env_strings.reserve(merged.size());
  for (const auto& [key, value] : merged) env_strings.push_back(absl::StrCat(key, "=", value));
  std::vector<char*> argv_ptrs;
  for (const std::string& arg : argv) argv_ptrs.push_back(const_cast<char*>(arg.c_str()));
  argv_ptrs.push_back(nullptr);
  std::vector<char*> env_ptrs;
  for (const std::string& kv : env_strings) env_ptrs.push_back(const_cast<char*>(kv.c_str()));
  env_ptrs.push_back(nullptr);

  int err_pipe[2];
  if (pipe2(err_pipe, O_CLOEXEC) != 0) return ErrnoError("pipe2");
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    const int err = errno;
    close(err_pipe[0]);
    close(err_pipe[1]);
    return ErrnoError("fork", err);
  }
  if (pid == 0) {
    close(err_pipe[0]);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);  // The parent died before prctl.
    // Signal masks and ignored signals survive exec; handlers don't.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction dfl = {};
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) sigaction(sig, &dfl, nullptr);
    const int in = stdin_fd >= 0 ? stdin_fd : open("/dev/null", O_RDONLY);
    if (in >= 0 && Redirect(in, 0) && Redirect(output_fd, 1) &&
        Redirect(stderr_fd >= 0 ? stderr_fd : output_fd, 2)) {
      execve(program.c_str(), argv_ptrs.data(), env_ptrs.data());
    }
    const int err = errno;
    [[maybe_unused]] ssize_t n = write(err_pipe[1], &err, sizeof(err));
    _exit(127);
  }
  close(err_pipe[1]);
  int child_errno = 0;
  ssize_t n;
  do {
    n = read(err_pipe[0], &child_errno, sizeof(child_errno));
  } while (n < 0 && errno == EINTR);
  close(err_pipe[0]);
  if (n > 0) {
    waitpid(pid, nullptr, 0);
    return ErrnoError(absl::StrCat("exec ", program), child_errno);
  }
  return pid;
}

absl::StatusOr<CommandResult> RunCommand(std::vector<std::string> argv,
                                         std::map<std::string, std::string> env,
                                         const std::string& stdin_data,
                                         std::chrono::milliseconds timeout) {
  if (argv.empty()) return absl::InvalidArgumentError("empty argv");
  const auto deadline = Clock::now() + timeout;
  auto log = MakeOutputFile(argv[0]);
  if (!log.ok()) return log.status();
  const auto [log_fd, log_path] = *log;

  // A socket rather than a pipe so that writing after the child stopped
  // reading fails with EPIPE (MSG_NOSIGNAL) instead of raising SIGPIPE.
  int stdin_pair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, stdin_pair) != 0) {
    close(log_fd);
    unlink(log_path.c_str());
    return ErrnoError("socketpair");
  }
  absl::StatusOr<pid_t> spawned = Spawn(argv, env, stdin_pair[1], log_fd);
  close(stdin_pair[1]);
  close(log_fd);
  if (!spawned.ok()) {
    close(stdin_pair[0]);
    unlink(log_path.c_str());
    return spawned.status();
  }
  const pid_t pid = *spawned;

  int stdin_fd = stdin_pair[0];
  fcntl(stdin_fd, F_SETFL, fcntl(stdin_fd, F_GETFL) | O_NONBLOCK);
  size_t written = 0;
  const auto maybe_close_stdin = [&] {
    if (stdin_fd >= 0 && written == stdin_data.size()) {
      close(stdin_fd);
      stdin_fd = -1;
    }
  };
  maybe_close_stdin();

  const int pidfd = OpenPidfd(pid);
  std::chrono::milliseconds backoff(1);
  std::optional<int> exit_code;
  while (!(exit_code = TryReap(pid)).has_value()) {
    const int left = RemainingMs(deadline);
    if (left == 0) break;
    pollfd fds[2];
    int nfds = 0;
    if (pidfd >= 0) fds[nfds++] = {pidfd, POLLIN, 0};
    if (stdin_fd >= 0) fds[nfds++] = {stdin_fd, POLLOUT, 0};
    const int wait_ms = pidfd >= 0 ? left : std::min<int>(left, backoff.count());
    backoff = std::min(backoff * 2, std::chrono::milliseconds(20));
    if (poll(fds, nfds, wait_ms) < 0 && errno != EINTR) break;
    if (stdin_fd >= 0) {
      const ssize_t n =
          send(stdin_fd, stdin_data.data() + written, stdin_data.size() - written, MSG_NOSIGNAL);
      if (n > 0) {
        written += static_cast<size_t>(n);
      } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        written = stdin_data.size();  // The child closed its stdin; give up on the rest.
      }
      maybe_close_stdin();
    }
  }
  if (pidfd >= 0) close(pidfd);
  if (stdin_fd >= 0) close(stdin_fd);

  const bool timed_out = !exit_code.has_value();
  if (timed_out) {
    kill(pid, SIGKILL);
    WaitPid(pid, std::chrono::hours(1));
  }
  CommandResult result;
  result.output = ReadFile(log_path);
  unlink(log_path.c_str());
  if (timed_out) {
    return absl::DeadlineExceededError(absl::StrCat("`", absl::StrJoin(argv, " "),
                                                    "` did not finish within ", timeout.count(),
                                                    " ms; output:\n", Tail(result.output)));
  }
  result.exit_code = *exit_code;
  return result;
}

}  // namespace protomesh::subprocess
