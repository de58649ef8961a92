#include "bench/bench_util.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "src/common/signals.h"
#include "src/common/subprocess.h"

namespace protomesh::bench {

std::atomic<bool> g_interrupted{false};

absl::StatusOr<std::vector<int64_t>> ParsePositiveList(const std::string& text) {
  std::vector<int64_t> values;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    int64_t value = 0;
    if (!absl::SimpleAtoi(part, &value) || value <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad number ", part, " in \"", text, "\": expected positive numbers"));
    }
    values.push_back(value);
  }
  return values;
}

double Quantile(std::vector<double>& values, double q) {
  if (values.empty()) return std::nan("");
  std::sort(values.begin(), values.end());
  size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(values.size())));
  if (rank > 0) --rank;
  return values[std::min(rank, values.size() - 1)];
}

double Median(std::vector<double> values) {
  values.erase(std::remove_if(values.begin(), values.end(), [](double v) { return std::isnan(v); }),
               values.end());
  if (values.empty()) return std::nan("");
  std::sort(values.begin(), values.end());
  size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

double Max(const std::vector<double>& values) {
  if (values.empty()) return std::nan("");
  return *std::max_element(values.begin(), values.end());
}

void WatchForInterrupt() {
  signals::BlockTerminationSignals();
  std::thread([] {
    signals::WaitForTerminationSignal();
    std::fprintf(stderr, "\ninterrupted: stopping what was started (again to quit at once)\n");
    g_interrupted = true;
    signals::WaitForTerminationSignal();
    std::_Exit(130);
  }).detach();
}

void SleepFor(std::chrono::milliseconds duration) {
  auto end = Clock::now() + duration;
  while (!g_interrupted && Clock::now() < end) {
    std::this_thread::sleep_for(std::min<Clock::duration>(end - Clock::now(),
                                                          std::chrono::milliseconds(50)));
  }
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

int64_t RssBytes(pid_t pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    absl::string_view rest = line;
    if (absl::ConsumePrefix(&rest, "VmRSS:")) {
      rest = absl::StripAsciiWhitespace(rest);
      absl::ConsumeSuffix(&rest, " kB");
      int64_t kb = 0;
      if (absl::SimpleAtoi(rest, &kb)) return kb * 1024;
    }
  }
  return -1;
}

double CpuSeconds(pid_t pid) {
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  // The command name, field 2, is in parentheses and may hold spaces.
  size_t close = text.rfind(')');
  if (close == std::string::npos || close + 2 > text.size()) return -1;
  std::vector<absl::string_view> fields =
      absl::StrSplit(absl::string_view(text).substr(close + 2), ' ');
  // utime and stime, fields 14 and 15, are the 12th and 13th after field 2.
  int64_t user = 0, system = 0;
  if (fields.size() < 13 || !absl::SimpleAtoi(fields[11], &user) ||
      !absl::SimpleAtoi(fields[12], &system)) {
    return -1;
  }
  return static_cast<double>(user + system) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

absl::StatusOr<std::unique_ptr<Child>> Child::Start(const std::vector<std::string>& argv,
                                                    const std::string& log_path) {
  int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return absl::InternalError(absl::StrCat("cannot create ", log_path));
  auto pid = subprocess::Spawn(argv, {}, -1, fd);
  close(fd);
  if (!pid.ok()) return pid.status();
  std::unique_ptr<Child> child(new Child());
  child->pid_ = *pid;
  child->log_path_ = log_path;
  return child;
}

Child::~Child() { Stop(std::chrono::seconds(10)); }

bool Child::Running() {
  if (exit_code_) return false;
  exit_code_ = subprocess::WaitPid(pid_, std::chrono::milliseconds(0));
  return !exit_code_;
}

void Child::Stop(std::chrono::milliseconds grace) {
  if (!Running()) return;
  kill(pid_, SIGTERM);
  exit_code_ = subprocess::WaitPid(pid_, grace);
  if (!exit_code_) {
    kill(pid_, SIGKILL);
    exit_code_ = subprocess::WaitPid(pid_, std::chrono::seconds(10));
  }
}

std::string Child::LogTail(size_t lines) const {
  std::ifstream in(log_path_);
  std::vector<std::string> all;
  std::string line;
  while (std::getline(in, line)) all.push_back(line);
  size_t from = all.size() > lines ? all.size() - lines : 0;
  std::string out;
  for (size_t i = from; i < all.size(); ++i) absl::StrAppend(&out, all[i], "\n");
  return out;
}

std::string MachineDescription() {
  std::string model = "unknown CPU";
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (absl::StartsWith(line, "model name")) {
      model = std::string(absl::StripAsciiWhitespace(line.substr(line.find(':') + 1)));
      break;
    }
  }
  int64_t mem_kb = 0;
  std::ifstream meminfo("/proc/meminfo");
  while (std::getline(meminfo, line)) {
    absl::string_view rest = line;
    if (absl::ConsumePrefix(&rest, "MemTotal:")) {
      rest = absl::StripAsciiWhitespace(rest);
      absl::ConsumeSuffix(&rest, " kB");
      absl::SimpleAtoi(rest, &mem_kb);
    }
  }
  utsname name{};
  uname(&name);
  return absl::StrCat(model, ", ", std::thread::hardware_concurrency(), " cores, ",
                      mem_kb / (1024 * 1024), " GiB RAM, Linux ", name.release);
}

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return absl::StrCat(one, " ", five, " ", fifteen);
}

double OneMinuteLoad() {
  std::ifstream in("/proc/loadavg");
  double one = 0;
  in >> one;
  return one;
}

void WaitForQuietMachine(double load, absl::Duration longest) {
  if (load <= 0) return;
  auto deadline = Clock::now() + Millis(longest);
  while (OneMinuteLoad() >= load && Clock::now() < deadline && !g_interrupted) {
    std::fprintf(stderr, "waiting for a quiet machine: load %s\n", LoadAverage().c_str());
    SleepFor(std::chrono::seconds(15));
  }
}

absl::Status LoadInBatches(int64_t count, int64_t batch, int threads,
                           const std::function<absl::Status(int channel, int64_t from, int64_t to)>& write) {
  std::atomic<int64_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  absl::Status failure;
  auto work = [&](int channel) {
    while (!g_interrupted && !failed) {
      const int64_t from = next.fetch_add(batch);
      if (from >= count) return;
      absl::Status status = write(channel, from, std::min(count, from + batch));
      if (!status.ok()) {
        std::lock_guard lock(mu);
        if (failure.ok()) failure = std::move(status);
        failed = true;
        return;
      }
    }
  };
  std::vector<std::thread> workers;
  for (int i = 0; i < threads; ++i) workers.emplace_back(work, i);
  for (auto& worker : workers) worker.join();
  return failure;
}

}  // namespace protomesh::bench
