#pragma once
// The workloads, each run once against one system; store_vs_etcd repeats
// them and compares. Every loop is bounded in time and in count.
#include <chrono>
#include <cstdint>
#include <string>

#include "bench/systems.h"

namespace protomesh::bench {

// A 500-byte (or `bytes`) value that differs in its first bytes for every
// `sequence`, so that every put is a real change.
std::string MakeValue(int64_t sequence, size_t bytes);

struct LoopResult {
  double ops_per_second = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  int64_t ops = 0;
  int64_t errors = 0;
  std::string first_error;
};

struct LoopOptions {
  int clients = 1;
  std::chrono::milliseconds warmup{500};
  std::chrono::milliseconds duration{3000};
  int64_t max_ops = 10'000'000;
};

// `clients` closed loops, each with one call in flight, for warmup +
// duration. Throughput counts calls completed in the measured window;
// latency covers calls started and completed in it.
LoopResult RunPuts(KvSystem& system, const std::string& space, const LoopOptions& options,
                   size_t value_bytes, int64_t key_count);
LoopResult RunGets(KvSystem& system, const std::string& space, const LoopOptions& options,
                   int64_t key_count);

struct WatchResult {
  double p50_ms = 0;
  double p99_ms = 0;
  double max_ms = 0;
  int64_t samples = 0;
  int64_t missing = 0;       // (watcher, put) pairs that never arrived
  double setup_seconds = 0;  // to open every watcher
  // Server memory grown by opening the (idle) watchers, per watcher.
  double bytes_per_idle_watcher = 0;
  std::string error;
};

struct WatchOptions {
  int watchers = 1;
  int puts = 300;
  std::chrono::milliseconds put_interval{10};
  size_t value_bytes = 500;
  int channels = 8;
  std::chrono::milliseconds idle_before_memory{1000};
};

// Opens `watchers` watches of a fresh space, then makes `puts` puts one
// after another (a pause between them) and measures, for every watcher and
// every put, the time from the put's reply to its arrival at the watcher (0
// when it arrived before the reply).
WatchResult RunWatchPropagation(KvSystem& system, const std::string& space,
                                const WatchOptions& options);

struct SyncResult {
  double seconds = 0;
  int64_t received = 0;
  std::string error;
};
// A new client's full read of a space of `expected` keys.
SyncResult RunInitialSync(KvSystem& system, const std::string& space, int64_t expected);

}  // namespace protomesh::bench
