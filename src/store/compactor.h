#pragma once
// Change log retention. A change is compacted once it is both older than
// retention_age and more than retention_revisions behind the latest revision
// (0 disables that bound), and a later change of the same resource (or its
// drop) exists at or below the compaction point: the latest state of every
// live resource is always kept. Replicas may all run it; an advisory lock
// lets one at a time do the work.
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "src/store/store_metrics.h"

namespace protomesh::store {

struct RetentionOptions {
  absl::Duration retention_age = absl::Hours(24);
  int64_t retention_revisions = 10000;
  absl::Duration interval = absl::Minutes(1);  // 0: never compact
};

class Compactor {
 public:
  Compactor(std::string url, RetentionOptions options, StoreMetrics* metrics);
  ~Compactor();

  void Start();  // compacts every interval on its own thread
  void Stop();
  // One pass; returns the compacted revision afterwards.
  absl::StatusOr<int64_t> CompactOnce();

 private:
  void Run();

  const std::string url_;
  const RetentionOptions options_;
  StoreMetrics* const metrics_;
  std::mutex mu_;  // guards stopping_
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace protomesh::store
