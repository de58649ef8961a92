#pragma once
// Small pieces the benchmark shares: time, statistics, ports, memory of a
// process, child processes, and the flag that Ctrl-C sets.
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace protomesh::bench {

using Clock = std::chrono::steady_clock;

inline double MillisBetween(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

inline std::chrono::milliseconds Millis(absl::Duration d) {
  return std::chrono::milliseconds(absl::ToInt64Milliseconds(d));
}

// "1,8,32" -> {1, 8, 32}; every number must be positive.
absl::StatusOr<std::vector<int64_t>> ParsePositiveList(const std::string& text);

// The q-quantile (0..1) of `values` by nearest rank; sorts them. NaN if empty.
double Quantile(std::vector<double>& values, double q);
double Median(std::vector<double> values);
double Max(const std::vector<double>& values);

// Writes keys [0, count) as consecutive ranges of `batch` keys, from
// `threads` threads (thread i passes channel i): write(channel, from, to)
// writes [from, to). The first error stops every thread and is returned;
// so does Ctrl-C, leaving the load incomplete.
absl::Status LoadInBatches(int64_t count, int64_t batch, int threads,
                           const std::function<absl::Status(int channel, int64_t from, int64_t to)>& write);

// Set by SIGINT/SIGTERM (see WatchForInterrupt); long loops check it.
extern std::atomic<bool> g_interrupted;
// Blocks SIGINT, SIGTERM and SIGPIPE in this and every later thread, and
// starts a thread that sets g_interrupted when one arrives, so that the
// benchmark still stops what it started. Call first thing in main().
void WatchForInterrupt();
// Sleeps up to `duration`, less when interrupted.
void SleepFor(std::chrono::milliseconds duration);

// A free TCP port on 127.0.0.1 (bound to port 0, then released).
int FreePort();

// Resident memory of a process in bytes (VmRSS), or -1.
int64_t RssBytes(pid_t pid);
// CPU time (user + system) a process has used so far, exited threads
// included, in seconds, or -1. It counts in clock ticks (10 ms): measure
// many operations together.
double CpuSeconds(pid_t pid);

// A long-running child process (a server) with its output in a log file.
// It is killed when this object goes away (and, through PR_SET_PDEATHSIG,
// when the benchmark dies).
class Child {
 public:
  static absl::StatusOr<std::unique_ptr<Child>> Start(const std::vector<std::string>& argv,
                                                      const std::string& log_path);
  ~Child();
  pid_t pid() const { return pid_; }
  bool Running();
  // SIGTERM, then SIGKILL after `grace`.
  void Stop(std::chrono::milliseconds grace = std::chrono::seconds(10));
  const std::string& log_path() const { return log_path_; }
  std::string LogTail(size_t lines = 30) const;

 private:
  Child() = default;
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::string log_path_;
};

// Information about the machine for the results: CPU model, cores, memory,
// kernel, and the load averages now.
std::string MachineDescription();
std::string LoadAverage();
double OneMinuteLoad();
// Waits (up to `longest`) until the 1-minute load average is below `load`;
// at once when `load` is 0.
void WaitForQuietMachine(double load, absl::Duration longest);

// Starts one callback-API unary call and keeps its context, request and
// response alive until `on_done(status, response)` has run.
// start(context, request, response, callback) is e.g. stub->async()->Put.
template <typename Response, typename Request, typename Start, typename OnDone>
void AsyncUnary(Request request, Start start, OnDone on_done) {
  struct Call {
    grpc::ClientContext context;
    Request request;
    Response response;
    OnDone on_done;
  };
  auto* call = new Call{{}, std::move(request), {}, std::move(on_done)};
  start(&call->context, &call->request, &call->response, [call](grpc::Status status) {
    call->on_done(status, call->response);
    delete call;
  });
}

}  // namespace protomesh::bench
