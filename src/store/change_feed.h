#pragma once
// The one LISTEN connection of a store process. A notification only wakes
// the feed; what it publishes always comes from reading the change log after
// the last revision it published, so a lost notification delays a change by
// at most one poll interval and loses nothing. After any reconnect it
// LISTENs first, then reads, then waits again: a change committed while it
// was away is read back before anything newer.
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "src/store/store_metrics.h"
#include "src/store/watch_hub.h"

namespace protomesh::store {

class ChangeFeed {
 public:
  ChangeFeed(std::string url, WatchHub* hub, StoreMetrics* metrics, absl::Duration poll_interval);
  ~ChangeFeed();

  // Connects and publishes the current head revision (no changes) so that
  // watchers start from it; then follows the log on its own thread.
  absl::Status Start();
  void Stop();
  // Connected and reading; false while the database is unreachable.
  bool healthy() const { return healthy_.load(); }

 private:
  struct Connection;
  void Run();
  absl::Status Connect();
  // Publishes everything committed after the last published revision.
  absl::Status CatchUp();

  const std::string url_;
  WatchHub* const hub_;
  StoreMetrics* const metrics_;
  const absl::Duration poll_interval_;
  std::unique_ptr<Connection> connection_;  // feed thread only (after Start)
  int64_t last_revision_ = 0;               // feed thread only (after Start)
  std::atomic<bool> healthy_{false};

  std::mutex mu_;  // guards stopping_
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace protomesh::store
