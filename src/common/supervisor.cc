#include "src/common/supervisor.h"

#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <optional>

#include "spdlog/spdlog.h"
#include "src/common/absl_fmt.h"
#include "src/common/subprocess.h"

namespace protomesh::supervisor {
namespace {

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
  std::vector<Child> children;
  bool failed = false;
  for (const Program& program : programs) {
    auto pid = subprocess::Spawn(program.argv, {}, -1, STDOUT_FILENO);
    if (!pid.ok()) {
      spdlog::critical("cannot start {}: {}", program.name, pid.status().message());
      failed = true;
      break;
    }
    spdlog::info("started {} (pid {})", program.name, *pid);
    children.push_back(Child{&program, *pid, std::nullopt});
  }

  const sigset_t signals = SupervisedSignals();
  while (!failed) {
    siginfo_t info;
    if (sigwaitinfo(&signals, &info) < 0) continue;  // EINTR
    if (info.si_signo != SIGCHLD) {
      spdlog::info("received signal {}, stopping everything", info.si_signo);
      break;
    }
    // One SIGCHLD may stand for several exits: look at every child.
    for (Child& child : children) {
      if (child.exit_code.has_value()) continue;
      child.exit_code = subprocess::WaitPid(child.pid, std::chrono::milliseconds(0));
      if (child.exit_code.has_value()) {
        spdlog::error("{} exited with code {}; stopping the others", child.program->name,
                      *child.exit_code);
        failed = true;
      }
    }
  }

  for (auto it = children.rbegin(); it != children.rend(); ++it) Stop(*it, grace);
  if (failed) return 1;
  for (const Child& child : children) {
    if (child.exit_code.value_or(-1) != 0) return 1;
  }
  spdlog::info("stopped");
  return 0;
}

}  // namespace protomesh::supervisor
