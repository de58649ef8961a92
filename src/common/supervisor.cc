#include "src/common/supervisor.h"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <optional>

#include "absl/time/time.h"
#include "spdlog/spdlog.h"
#include "src/common/absl_fmt.h"
#include "src/common/ready_notify.h"
#include "src/common/subprocess.h"

namespace protomesh::supervisor {
namespace {

using Clock = std::chrono::steady_clock;

struct Child {
  const Program* program;
  pid_t pid = -1;
  std::optional<int> exit_code;  // set once reaped
};

sigset_t SupervisedSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGCHLD);
  return set;
}

// What ended a Wait.
enum class Event {
  kReady,       // the program waited for reported ready
  kSignal,      // SIGTERM or SIGINT
  kFailed,      // a child exited, or waiting failed (logged)
  kTimedOut,    // the deadline passed
};

// Waits for SIGTERM or SIGINT (read from `signal_fd`), the exit of one of
// `children`, or, with `notify`, READY=1 from `ready_pid`; until `deadline`
// if there is one.
Event Wait(int signal_fd, std::vector<Child>& children, ready_notify::NotifySocket* notify,
           pid_t ready_pid, std::optional<Clock::time_point> deadline) {
  while (true) {
    int timeout_ms = -1;
    if (deadline.has_value()) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - Clock::now());
      if (left.count() <= 0) return Event::kTimedOut;
      timeout_ms = static_cast<int>(std::min<int64_t>(left.count(), 1 << 30));
    }
    pollfd fds[2] = {{signal_fd, POLLIN, 0}, {notify != nullptr ? notify->fd() : -1, POLLIN, 0}};
    if (poll(fds, 2, timeout_ms) < 0) {
      if (errno == EINTR) continue;
      spdlog::critical("cannot wait for signals: {}", std::strerror(errno));
      return Event::kFailed;
    }
    if (fds[1].revents != 0 && notify->ReceivedReady(ready_pid)) return Event::kReady;
    signalfd_siginfo info;
    if (fds[0].revents == 0 || read(signal_fd, &info, sizeof(info)) != sizeof(info)) continue;
    if (info.ssi_signo != SIGCHLD) {
      spdlog::info("received signal {}, stopping everything", info.ssi_signo);
      return Event::kSignal;
    }
    // One SIGCHLD may stand for several exits: look at every child.
    bool exited = false;
    for (Child& child : children) {
      if (child.exit_code.has_value()) continue;
      child.exit_code = subprocess::WaitPid(child.pid, std::chrono::milliseconds(0));
      if (child.exit_code.has_value()) {
        spdlog::error("{} exited with code {}; stopping the others", child.program->name,
                      *child.exit_code);
        exited = true;
      }
    }
    if (exited) return Event::kFailed;
  }
}

void Stop(Child& child, std::chrono::milliseconds grace) {
  if (child.exit_code.has_value()) return;
  spdlog::info("stopping {} (pid {})", child.program->name, child.pid);
  kill(child.pid, SIGTERM);
  child.exit_code = subprocess::WaitPid(child.pid, grace);
  if (!child.exit_code.has_value()) {
    spdlog::warn("{} did not stop within {} ms; killing it", child.program->name, grace.count());
    kill(child.pid, SIGKILL);
    child.exit_code = subprocess::WaitPid(child.pid, std::chrono::seconds(5));
  }
  if (child.exit_code.value_or(-1) != 0) {
    spdlog::warn("{} exited with code {}", child.program->name, child.exit_code.value_or(-1));
  }
}

}  // namespace

void BlockSignals() {
  sigset_t set = SupervisedSignals();
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int Run(const std::vector<Program>& programs, std::chrono::milliseconds grace) {
  // The signals are blocked (BlockSignals): they queue for the signalfd.
  const sigset_t signals = SupervisedSignals();
  const int signal_fd = signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK);
  if (signal_fd < 0) {
    spdlog::critical("signalfd: {}", std::strerror(errno));
    return 1;
  }
  std::vector<Child> children;
  Event event = Event::kReady;
  for (const Program& program : programs) {
    std::unique_ptr<ready_notify::NotifySocket> notify;
    std::map<std::string, std::string> env;
    if (program.ready_timeout.has_value()) {
      auto created = ready_notify::NotifySocket::Create();
      if (!created.ok()) {
        spdlog::critical("cannot start {}: {}", program.name, created.status().message());
        event = Event::kFailed;
        break;
      }
      notify = *std::move(created);
      env["NOTIFY_SOCKET"] = notify->address();
    }
    auto pid = subprocess::Spawn(program.argv, env, -1, STDOUT_FILENO);
    if (!pid.ok()) {
      spdlog::critical("cannot start {}: {}", program.name, pid.status().message());
      event = Event::kFailed;
      break;
    }
    spdlog::info("started {} (pid {})", program.name, *pid);
    children.push_back(Child{&program, *pid, std::nullopt});
    if (notify == nullptr) continue;

    const std::string timeout = absl::FormatDuration(absl::FromChrono(*program.ready_timeout));
    spdlog::info("waiting up to {} for {} to be ready", timeout, program.name);
    event = Wait(signal_fd, children, notify.get(), *pid, Clock::now() + *program.ready_timeout);
    if (event == Event::kTimedOut) {
      spdlog::critical("{} was not ready within {}; stopping it", program.name, timeout);
    }
    if (event != Event::kReady) break;
    spdlog::info("{} is ready", program.name);
  }
  if (event == Event::kReady) event = Wait(signal_fd, children, nullptr, -1, std::nullopt);
  close(signal_fd);

  for (auto it = children.rbegin(); it != children.rend(); ++it) Stop(*it, grace);
  if (event != Event::kSignal) return 1;
  for (const Child& child : children) {
    if (child.exit_code.value_or(-1) != 0) return 1;
  }
  spdlog::info("stopped");
  return 0;
}

}  // namespace protomesh::supervisor
