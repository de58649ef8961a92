#pragma once
// Group commit. Postgres serializes commits that NOTIFY and flushes the WAL
// once per commit, so one transaction per write caps throughput at a few
// thousand writes a second. The batcher's single thread takes every mutation
// queued while the previous transaction committed and runs them all in one
// transaction: each mutation gets its own revision and its own outcome (a
// failed precondition fails only that mutation), one NOTIFY announces them,
// and every caller gets its reply only after the commit.
//
// A transaction is one round trip: one call of protomesh_write_batch
// (migrations/0002_write_batch_function.sql), outside a transaction block,
// which takes the revision lock, reads every key the batch touches, checks
// and numbers the mutations in order (a later write of a key sees the
// earlier ones of the batch), writes, notifies and commits before it
// answers. So the revision lock is held only inside the server, never
// across a round trip. The changes it committed go to the CommitListener
// (the change feed) before the replies.
//
// When it fails:
//   * an error of the call itself rolls it back: the batch's mutations run
//     again one by one, so that only the one at fault fails;
//   * a connection the server closed while it was idle (a restart) is found
//     before the call is sent, and reopened;
//   * a connection lost while the call is in flight leaves the call free to
//     commit on the server. The batcher reconnects, ends the lost
//     connection's server process and reads its own row of store_writers:
//     when the batch did not commit it runs once more on the new connection
//     (a second loss fails it with UNAVAILABLE, nothing applied); when it
//     did, or when that cannot be found out (the database is down), every
//     mutation of the batch fails with UNAVAILABLE saying that it may or may
//     not have been applied, and the listener hears that it must read the
//     change log.
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <pqxx/pqxx>

#include "src/store/committed_changes.h"
#include "src/store/mutation.h"
#include "src/store/store_metrics.h"

namespace protomesh::store {

struct WriteBatcherOptions {
  size_t max_batch_mutations = 512;
  size_t max_queued_mutations = 100000;
};

class WriteBatcher {
 public:
  // `writer_id` (a UUID) names this batcher in store_writers and in its
  // notifications. `listener` may be null.
  WriteBatcher(std::string url, std::string writer_id, WriteBatcherOptions options,
               StoreMetrics* metrics, CommitListener* listener);
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
  // Runs the batch as one transaction. Returns an error only when the
  // transaction as a whole failed; `nothing_committed` then says whether
  // it is known that nothing was committed.
  absl::Status ExecuteBatch(std::vector<Pending>& batch, Outcomes& outcomes,
                            CommittedChanges& committed, bool& nothing_committed);
  // Opens a connection unless the current one is usable.
  absl::Status EnsureConnected();
  // After losing the connection with batch `batch_number` in flight: ends
  // that connection's server process and tells whether the batch committed.
  absl::StatusOr<bool> BatchCommitted(int64_t lost_pid, const std::string& lost_start,
                                      int64_t batch_number);

  const std::string url_;
  const std::string writer_id_;
  const WriteBatcherOptions options_;
  StoreMetrics* const metrics_;
  CommitListener* const listener_;

  // Batcher thread only: the connection, its server process (pid and start
  // time, as pg_stat_activity has them), and the last batch number used.
  std::unique_ptr<pqxx::connection> connection_;
  int64_t backend_pid_ = 0;
  std::string backend_start_;
  int64_t batch_number_ = 0;

  // Replies go out on a thread of their own while more writes wait, so
  // that the next transaction does not wait for them.
  struct Reply {
    MutationCallback done;
    absl::StatusOr<MutationResult> result;
  };
  void Deliver(std::vector<Pending>& batch, Outcomes& outcomes);
  void SendReplies();

  std::mutex reply_mu_;  // guards replies_ and replies_stopping_
  std::condition_variable reply_wake_;
  std::vector<Reply> replies_;
  bool replies_stopping_ = false;
  std::thread reply_thread_;

  std::mutex mu_;  // guards queue_ and stopping_
  std::condition_variable wake_;
  std::deque<Pending> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace protomesh::store
