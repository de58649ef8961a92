#pragma once
// The change feed of a store process: publishes every committed change to
// the watch hub in revision order, each exactly once.
//
// Changes come from two places. The write batcher of this process hands
// over what it has just committed (CommitListener), so the feed publishes
// the process's own writes without reading them back. Everything else, the
// writes of other replicas and any of ours whose outcome the batcher lost,
// the feed reads from the change log, woken by the one LISTEN connection of
// the process (notifications name their writer, so ours do not wake it).
// Revision r is published only after every revision below it: a handed-over
// transaction waits while an older revision is missing, and the log is read
// for that gap, only up to the handed-over revisions. Besides, the feed
// reads the log past what it has published once every poll interval, so a
// lost notification (or hand-over) delays a change by at most that long and
// loses nothing; what it reads that a hand-over also brings is published
// once, from whichever comes first. After any reconnect it LISTENs first,
// then reads, then waits again: a change committed while it was away is
// read back before anything newer.
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "src/store/committed_changes.h"
#include "src/store/store_metrics.h"
#include "src/store/watch_hub.h"

namespace protomesh::store {

class ChangeFeed : public CommitListener {
 public:
  // `own_writer_id`: the writer id of this process's write batcher.
  ChangeFeed(std::string url, std::string own_writer_id, WatchHub* hub, StoreMetrics* metrics,
             absl::Duration poll_interval);
  ~ChangeFeed() override;

  // Connects and publishes the current head revision (no changes) so that
  // watchers start from it; then follows the log on its own thread.
  absl::Status Start();
  void Stop();
  // Connected and reading; false while the database is unreachable.
  bool healthy() const { return healthy_.load(); }

  // CommitListener; called by the write batcher's thread.
  void Committed(CommittedChanges changes) override;
  void CommitOutcomeUnknown() override;

 private:
  using Clock = std::chrono::steady_clock;
  struct Connection;

  void Run();
  absl::Status Connect();
  void Wake();
  // Waits until woken, the database connection has something to read, or
  // `until`.
  void Wait(Clock::time_point until);
  void OnNotification(const std::string& payload);
  // Publishes everything it can: handed-over transactions that continue the
  // published revisions, and the log where revisions are missing.
  absl::Status Advance();
  void PublishHandedOver();
  // Publishes `records` (every change in (last_revision_, upto], in
  // revision order, counted in `source`) and records `upto` as published.
  void Publish(std::vector<ChangeRecord> records, int64_t upto, metrics::Counter& source);

  const std::string url_;
  const std::string own_writer_id_;
  WatchHub* const hub_;
  StoreMetrics* const metrics_;
  const absl::Duration poll_interval_;
  metrics::Counter& handed_over_changes_;  // feed_changes{source="handover"}
  metrics::Counter& log_changes_;          // feed_changes{source="log"}
  std::atomic<bool> healthy_{false};
  int wake_fd_ = -1;  // an eventfd: Wake() makes Wait() return

  // Feed thread only (after Start).
  std::unique_ptr<Connection> connection_;
  int64_t last_revision_ = 0;  // published
  // Handed-over transactions not yet published, by first revision.
  std::map<int64_t, CommittedChanges> handed_over_;
  size_t handed_over_records_ = 0;
  // Committed by others (notified): the log must be read up to here.
  int64_t wanted_revision_ = 0;
  // The log must be read to its head (after a reconnect, a poll interval,
  // an unknown outcome or a notification without a revision).
  bool read_log_ = false;

  std::mutex mu_;  // guards the fields below
  std::vector<CommittedChanges> incoming_;
  bool outcome_unknown_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace protomesh::store
