#include "bench/workloads.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <random>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace protomesh::bench {
namespace {

// The shared state of RunClosedLoop; it outlives every call it starts.
struct Loop {
  using Start = std::function<void(int client, int64_t sequence, std::function<void(absl::Status)>)>;

  Start start;
  int64_t max_ops = 0;
  Clock::time_point measure_from;
  Clock::time_point end;

  std::atomic<int64_t> sequence{0};
  std::vector<std::vector<double>> latencies;  // per client; only its chain touches it
  std::vector<int64_t> completed;              // per client, in the measured window
  std::vector<int64_t> errors;                 // per client

  std::mutex mu;  // guards active and first_error
  std::condition_variable all_done;
  int active = 0;
  std::string first_error;

  // Starts the next call of `client`'s chain, or ends the chain.
  void Next(int client) {
    auto started = Clock::now();
    int64_t seq = sequence.fetch_add(1);
    if (started >= end || seq >= max_ops || g_interrupted) {
      std::lock_guard lock(mu);
      if (--active == 0) all_done.notify_all();
      return;
    }
    start(client, seq, [this, client, started](absl::Status status) {
      auto finished = Clock::now();
      if (!status.ok()) {
        ++errors[client];
        std::lock_guard lock(mu);
        if (first_error.empty()) first_error = std::string(status.message());
      } else if (finished >= measure_from && finished <= end) {
        ++completed[client];
        if (started >= measure_from) latencies[client].push_back(MillisBetween(started, finished));
      }
      Next(client);
    });
  }
};

LoopResult RunClosedLoop(const LoopOptions& options, Loop::Start start) {
  auto* loop = new Loop();
  loop->start = std::move(start);
  loop->max_ops = options.max_ops;
  loop->latencies.resize(options.clients);
  loop->completed.assign(options.clients, 0);
  loop->errors.assign(options.clients, 0);
  for (auto& l : loop->latencies) l.reserve(1 << 14);
  auto now = Clock::now();
  loop->measure_from = now + options.warmup;
  loop->end = loop->measure_from + options.duration;
  loop->active = options.clients;
  for (int client = 0; client < options.clients; ++client) loop->Next(client);
  {
    std::unique_lock lock(loop->mu);
    // Calls end by themselves after `end`; the deadline guards a hung server.
    if (!loop->all_done.wait_until(lock, loop->end + std::chrono::seconds(60),
                                   [&] { return loop->active == 0; })) {
      std::fprintf(stderr, "fatal: %d client(s) still waiting 60 s after the end\n",
                   loop->active);
      std::_Exit(1);
    }
  }
  std::unique_ptr<Loop> owned(loop);
  LoopResult result;
  std::vector<double> all;
  for (int c = 0; c < options.clients; ++c) {
    result.ops += loop->completed[c];
    result.errors += loop->errors[c];
    all.insert(all.end(), loop->latencies[c].begin(), loop->latencies[c].end());
  }
  result.ops_per_second =
      static_cast<double>(result.ops) / std::chrono::duration<double>(options.duration).count();
  result.p50_ms = Quantile(all, 0.50);
  result.p99_ms = Quantile(all, 0.99);
  result.first_error = loop->first_error;
  return result;
}

}  // namespace

std::string MakeValue(int64_t sequence, size_t bytes) {
  std::string value = absl::StrFormat("%016x|", static_cast<uint64_t>(sequence));
  value.reserve(bytes);
  // Not all one letter, so that nothing compresses it away.
  uint64_t x = static_cast<uint64_t>(sequence) * 0x9E3779B97F4A7C15ull + 1;
  while (value.size() < bytes) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    value.push_back(static_cast<char>('a' + x % 26));
  }
  value.resize(bytes);
  return value;
}

LoopResult RunPuts(KvSystem& system, const std::string& space, const LoopOptions& options,
                   size_t value_bytes, int64_t key_count) {
  // Sequence numbers are global, so no two puts carry the same value: every
  // put is a change, never a no-op.
  return RunClosedLoop(options, [&system, &space, value_bytes, key_count](
                                    int client, int64_t seq, std::function<void(absl::Status)> done) {
    system.Put(client, space, seq % key_count, MakeValue(seq, value_bytes),
               [done = std::move(done)](absl::StatusOr<int64_t> revision) { done(revision.status()); });
  });
}

LoopResult RunGets(KvSystem& system, const std::string& space, const LoopOptions& options,
                   int64_t key_count) {
  return RunClosedLoop(options, [&system, &space, key_count](int client, int64_t seq,
                                                             std::function<void(absl::Status)> done) {
    // A fixed pseudo-random walk over the keys.
    uint64_t key = (static_cast<uint64_t>(seq) * 0x9E3779B97F4A7C15ull) >> 20;
    system.Get(client, space, static_cast<int64_t>(key % static_cast<uint64_t>(key_count)),
               std::move(done));
  });
}

WatchResult RunWatchPropagation(KvSystem& system, const std::string& space,
                                const WatchOptions& options) {
  WatchResult result;
  const int64_t rss_before = RssBytes(system.server_pid());
  auto setup_started = Clock::now();
  std::vector<std::unique_ptr<Watcher>> watchers;
  watchers.reserve(options.watchers);
  for (int i = 0; i < options.watchers; ++i) watchers.push_back(system.Watch(i, space));
  auto deadline = Clock::now() + std::chrono::seconds(120);
  while (!g_interrupted && Clock::now() < deadline) {
    bool all = true;
    for (auto& watcher : watchers) {
      if (watcher->ended()) {
        result.error = absl::StrCat("a watch ended while opening: ", watcher->error());
        return result;
      }
      all = all && watcher->established();
    }
    if (all) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  result.setup_seconds = std::chrono::duration<double>(Clock::now() - setup_started).count();
  for (auto& watcher : watchers) {
    if (!watcher->established()) {
      result.error = "not every watch was established within 120 s";
      return result;
    }
  }
  SleepFor(options.idle_before_memory);
  const int64_t rss_idle = RssBytes(system.server_pid());
  result.bytes_per_idle_watcher =
      static_cast<double>(rss_idle - rss_before) / static_cast<double>(options.watchers);

  // Puts one at a time, each waiting for its reply, a pause in between:
  // this measures how fast one change travels, not throughput.
  absl::flat_hash_map<int64_t, Clock::time_point> replies;
  int64_t last_revision = 0;
  for (int i = 0; i < options.puts && !g_interrupted; ++i) {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    absl::StatusOr<int64_t> revision;
    Clock::time_point replied;
    system.Put(0, space, i % 16, MakeValue(i, options.value_bytes),
               [&](absl::StatusOr<int64_t> r) {
                 auto now = Clock::now();
                 std::lock_guard lock(mu);
                 revision = std::move(r);
                 replied = now;
                 done = true;
                 cv.notify_all();
               });
    {
      std::unique_lock lock(mu);
      if (!cv.wait_for(lock, std::chrono::seconds(30), [&] { return done; })) {
        // The callback still refers to this frame: nothing safe to do but stop.
        std::fprintf(stderr, "fatal: a put got no reply within 30 s\n");
        std::_Exit(1);
      }
    }
    if (!revision.ok()) {
      result.error = absl::StrCat("put failed: ", revision.status().message());
      return result;
    }
    replies[*revision] = replied;
    last_revision = std::max(last_revision, *revision);
    std::this_thread::sleep_for(options.put_interval);
  }

  deadline = Clock::now() + std::chrono::seconds(30);
  while (!g_interrupted && Clock::now() < deadline) {
    bool all = true;
    for (auto& watcher : watchers) all = all && (watcher->last_revision() >= last_revision || watcher->ended());
    if (all) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }

  std::vector<double> latencies;
  latencies.reserve(static_cast<size_t>(options.watchers) * replies.size());
  for (auto& watcher : watchers) {
    size_t seen = 0;
    for (const auto& arrival : watcher->arrivals()) {
      auto it = replies.find(arrival.revision);
      if (it == replies.end()) continue;
      ++seen;
      latencies.push_back(std::max(0.0, MillisBetween(it->second, arrival.at)));
    }
    result.missing += static_cast<int64_t>(replies.size() - std::min(seen, replies.size()));
    if (watcher->ended() && result.error.empty()) {
      result.error = absl::StrCat("a watch ended: ", watcher->error());
    }
  }
  result.samples = static_cast<int64_t>(latencies.size());
  result.max_ms = Max(latencies);
  result.p50_ms = Quantile(latencies, 0.50);
  result.p99_ms = Quantile(latencies, 0.99);
  return result;
}

SyncResult RunInitialSync(KvSystem& system, const std::string& space, int64_t expected) {
  SyncResult result;
  auto started = Clock::now();
  auto received = system.InitialSync(space);
  result.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  if (!received.ok()) {
    result.error = std::string(received.status().message());
    return result;
  }
  result.received = *received;
  if (*received != expected) {
    result.error = absl::StrCat("received ", *received, " keys, expected ", expected);
  }
  return result;
}

}  // namespace protomesh::bench
