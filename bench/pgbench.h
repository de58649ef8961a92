#pragma once
// The ceiling: pgbench on the same PostgreSQL, one transaction per write.
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "bench/workloads.h"

namespace protomesh::bench {

enum class PgbenchScript {
  // One transaction inserting one 500-byte row shaped like the store's
  // change log, plus a NOTIFY: what a store without group commit does per put.
  kInsertNotify,
  // The same insert without NOTIFY.
  kInsertOnly,
};
const char* PgbenchScriptName(PgbenchScript script);

// Creates the table the scripts insert into, in the database at `url`.
absl::Status PreparePgbenchDatabase(const std::string& url);

// Runs `pgbench` (the binary) against `url` with options.clients clients
// for warmup + duration; throughput and latency come from pgbench's
// per-transaction log (kept under `work_dir` while it runs), over the same
// window as RunPuts.
absl::StatusOr<LoopResult> RunPgbench(const std::string& pgbench, const std::string& url,
                                      const std::string& work_dir, PgbenchScript script,
                                      const LoopOptions& options);

}  // namespace protomesh::bench
