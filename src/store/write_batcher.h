#pragma once
// Group commit. Postgres serializes commits that NOTIFY and flushes the WAL
// once per commit, so one transaction per write caps throughput at a few
// thousand writes a second. The batcher's single thread takes every mutation
// queued while the previous transaction committed and runs them all in one
// transaction: each mutation gets its own revision and its own outcome (a
// failed precondition fails only that mutation), one NOTIFY announces them,
// and every caller gets its reply only after the commit. A transaction
// costs the same round trips whatever its size: BEGIN, the revision lock,
// one read of every key the batch touches, one statement writing it all
// (columns passed as arrays), COMMIT. Later writes of a key in the batch
// see the earlier ones through the batch's own view of its keys.
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <pqxx/pqxx>

#include "src/store/mutation.h"
#include "src/store/store_metrics.h"

namespace protomesh::store {

struct WriteBatcherOptions {
  size_t max_batch_mutations = 512;
  size_t max_queued_mutations = 100000;
};

class WriteBatcher {
 public:
  WriteBatcher(std::string url, WriteBatcherOptions options, StoreMetrics* metrics);
  ~WriteBatcher();  // Commits what is queued, then stops.

  // `done` runs on the batcher thread once the outcome is known.
  void Submit(Mutation mutation, MutationCallback done);
  void Shutdown();

 private:
  struct Pending {
    Mutation mutation;
    MutationCallback done;
  };
  using Outcomes = std::vector<absl::StatusOr<MutationResult>>;

  void Run();
  void Process(std::vector<Pending>& batch);
  // Runs the batch in one transaction. Returns an error only when the
  // transaction as a whole failed; then nothing was committed, except for an
  // ambiguous commit (UNAVAILABLE saying so).
  absl::Status ExecuteBatch(std::vector<Pending>& batch, Outcomes& outcomes,
                            bool& commit_attempted);
  absl::Status EnsureConnected();

  const std::string url_;
  const WriteBatcherOptions options_;
  StoreMetrics* const metrics_;
  std::unique_ptr<pqxx::connection> connection_;  // batcher thread only

  std::mutex mu_;  // guards queue_ and stopping_
  std::condition_variable wake_;
  std::deque<Pending> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace protomesh::store
