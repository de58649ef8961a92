#pragma once
// ResourceWatcher: the store client that the xDS server, gateway and worker
// share. It watches one namespace and hands its user ordered batches:
//   1. a Snapshot: the complete state at a revision (after the first sync,
//      and again whenever it had to re-list), with the resources the user
//      held that vanished in between;
//   2. then one Change per revision, in revision order, never twice.
// After a disconnect it reconnects with exponential backoff and resumes from
// the last revision it delivered; while the store cannot be reached, the new
// stream waits for the channel to connect, so it starts as soon as the store
// is back (the channel's reconnect backoff, not this one, paces that). When the store no longer has that revision
// (OUT_OF_RANGE after compaction) it re-lists and delivers a new Snapshot.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "api/services/v1/resource_store.grpc.pb.h"

namespace protomesh::client {

struct WatchBatch {
  enum class Kind { kSnapshot, kChange };
  Kind kind = Kind::kChange;
  int64_t revision = 0;
  // Snapshot: every resource of the namespace (matching the type filter).
  // Change: resources created or updated at this revision.
  std::vector<protomesh::types::v1::Resource> updated;
  // Snapshot: resources of an earlier snapshot or change that no longer
  // exist (empty on the first snapshot). Change: resources dropped at this
  // revision, in their last state.
  std::vector<protomesh::types::v1::Resource> dropped;
};

struct WatcherOptions {
  std::string namespace_;
  std::vector<std::string> type_urls;  // empty: every type
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(5);
};

class ResourceWatcher {
 public:
  // Called on the watcher's thread, one batch at a time.
  using Handler = std::function<void(const WatchBatch&)>;

  ResourceWatcher(std::shared_ptr<grpc::ChannelInterface> channel, WatcherOptions options,
                  Handler handler);
  ~ResourceWatcher();  // Stop()

  void Start();
  void Stop();

  // The revision of the last batch delivered (0 before the first snapshot).
  int64_t revision() const { return revision_.load(); }
  // A snapshot was delivered and the stream is connected and caught up.
  bool synced() const { return synced_.load(); }
  // Connections made so far (the first one included).
  int64_t connections() const { return connections_.load(); }
  // Why the last stream ended (OK while none has).
  absl::Status last_error() const;

 private:
  void Run();
  // One stream, until it ends; returns how it ended.
  grpc::Status RunStream(bool& received_any);
  void Deliver(WatchBatch batch);

  const std::shared_ptr<grpc::ChannelInterface> channel_;
  const std::unique_ptr<protomesh::services::v1::ResourceStore::Stub> stub_;
  const WatcherOptions options_;
  const Handler handler_;

  // Watcher thread only.
  bool have_snapshot_ = false;
  std::map<std::string, protomesh::types::v1::Resource> known_;  // by id

  std::atomic<int64_t> revision_{0};
  std::atomic<bool> synced_{false};
  std::atomic<int64_t> connections_{0};

  mutable std::mutex mu_;  // guards everything below
  std::condition_variable wake_;
  bool stopping_ = false;
  grpc::ClientContext* active_context_ = nullptr;
  absl::Status last_error_;
  std::thread thread_;
};

}  // namespace protomesh::client
