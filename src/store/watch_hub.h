#pragma once
// Fans the change feed out to the watchers of each namespace. Changes are
// delivered to every subscriber in revision order; a subscriber registered
// when the hub had published revision H receives every change above H.
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "api/services/v1/resource_store.pb.h"
#include "src/store/store_reader.h"

namespace protomesh::store {

// Every change of one namespace at one revision.
struct NamespaceChange {
  int64_t revision = 0;
  std::string namespace_;
  std::vector<ChangeRecord> records;
  size_t bytes = 0;  // approximate size, for bounding slow watchers

  // The change as one Watch message, built on first use and then shared by
  // every watcher without a type filter (so a change fanned out to many
  // watchers is copied once, not once per watcher). Thread-safe.
  std::shared_ptr<const protomesh::services::v1::WatchResourcesResponse> Message() const;

 private:
  // std::call_once rather than absl's: it is pthread_once underneath, which
  // ThreadSanitizer understands; absl's waits in uninstrumented code and is
  // reported as a race.
  mutable std::once_flag message_once_;
  mutable std::shared_ptr<const protomesh::services::v1::WatchResourcesResponse> message_;
};
using NamespaceChangePtr = std::shared_ptr<const NamespaceChange>;

class WatchSubscriber {
 public:
  virtual ~WatchSubscriber() = default;
  // Called under the hub's lock, in revision order: must only queue.
  // Returns true when the subscriber wants Flush() called afterwards.
  virtual bool Enqueue(const NamespaceChangePtr& change) = 0;
  // Called without the hub's lock after Enqueue asked for it: may start I/O.
  virtual void Flush() = 0;
  // The hub is closing (store shutdown): end the stream with `status`.
  virtual void Close(const absl::Status& status) = 0;
};

class WatchHub {
 public:
  // A change that many subscribers want is flushed to them from
  // `flush_threads` threads of the hub besides the publishing one. gRPC
  // writes each message to the socket inline, one sendmsg() per message,
  // so one thread starting a thousand writes is a thousand syscalls in a
  // row; several threads overlap them and let the transport combine the
  // writes of streams that share a connection.
  explicit WatchHub(int flush_threads = 0);
  ~WatchHub();

  // Returns the revision already published; the subscriber gets every
  // change above it.
  int64_t Subscribe(const std::string& ns, std::shared_ptr<WatchSubscriber> subscriber);
  void Unsubscribe(const std::string& ns, const WatchSubscriber* subscriber);

  // Publishes changes (in revision order, all at or below `revision`) and
  // records `revision` as published.
  void Publish(int64_t revision, const std::vector<NamespaceChangePtr>& changes);
  int64_t published_revision() const;
  size_t subscriber_count() const;

  // Closes every subscriber; later Subscribe calls still work.
  void CloseAll(const absl::Status& status);
  // Waits until every subscriber has unsubscribed (its watch is done, its
  // final status sent) or `deadline` passes; false if some are left.
  bool WaitUntilNoSubscribers(absl::Time deadline);

 private:
  void FlushLoop();

  std::mutex flush_mu_;  // guards flush_queue_ and flush_stopping_
  // Parts of a publication's subscribers, each flushed by one thread.
  std::condition_variable flush_wake_;
  std::vector<std::vector<std::shared_ptr<WatchSubscriber>>> flush_queue_;
  bool flush_stopping_ = false;
  std::vector<std::thread> flush_threads_;

  mutable std::mutex mu_;  // guards everything below
  std::condition_variable no_subscribers_;
  int64_t published_revision_ = 0;
  std::unordered_map<std::string, std::vector<std::shared_ptr<WatchSubscriber>>> by_namespace_;
};

}  // namespace protomesh::store
