#pragma once
// The snapshots the xDS server serves: one immutable snapshot per node
// cluster, replaced as a whole by every translation. Streams watch the
// snapshot of their node's cluster and are told when it changes; node
// clusters nobody watches cost nothing but their snapshot, and an update
// only reaches the streams of the node clusters it changed.
#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <grpcpp/support/byte_buffer.h>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "src/xds/xds_snapshot.h"

namespace envoy::service::discovery::v3 {
class DiscoveryResponse;
}

namespace protomesh::xds::server {

struct XdsServerMetrics;

inline constexpr int kTypeCount = 4;
// The index of `type_url` in TypeOrder(), or -1 for a type we do not serve.
int TypeIndex(std::string_view type_url);

// A response written to many streams: serialized once, its bytes shared
// (gRPC sends reference-counted slices, so a write copies no bytes).
struct SharedResponse {
  explicit SharedResponse(
      std::unique_ptr<const envoy::service::discovery::v3::DiscoveryResponse> message);
  std::unique_ptr<const envoy::service::discovery::v3::DiscoveryResponse> message;
  grpc::ByteBuffer bytes;  // `message` serialized; invalid if that failed
};

// Resources of one type, sorted by name (the order of NodeSnapshot's maps).
// Shared by every stream that was sent exactly this set; never modified.
using ResourceList = std::vector<XdsResourcePtr>;
using ResourceListPtr = std::shared_ptr<const ResourceList>;

// One resource type of a served snapshot. Kept from one snapshot to the
// next while the type's version does not change, so that streams can tell
// an unchanged type by pointer.
struct ServedType {
  std::string type_url;
  std::string version;        // the SotW version_info of the whole type
  ResourceListPtr resources;  // every resource of the type

  // The resource called `name`, or null.
  XdsResourcePtr Find(std::string_view name) const;

  // The SotW response carrying every resource of the type, built and
  // serialized by the first stream that needs it and written as it is by
  // all the others (its nonce is unique in the process, like every nonce
  // the server sends).
  std::shared_ptr<const SharedResponse> FullResponse() const;

 private:
  mutable std::once_flag full_response_once_;
  mutable std::shared_ptr<const SharedResponse> full_response_;
};
using ServedTypePtr = std::shared_ptr<const ServedType>;

struct ServedSnapshot {
  // Increases with every update; a stream ignores a snapshot older than the
  // one it has.
  uint64_t generation = 0;
  // When the update that produced this snapshot started (push latency).
  std::chrono::steady_clock::time_point updated_at;
  std::array<ServedTypePtr, kTypeCount> types;  // in TypeOrder()
};
using ServedSnapshotPtr = std::shared_ptr<const ServedSnapshot>;

// A stream's end of a watch.
class SnapshotWatcher {
 public:
  virtual ~SnapshotWatcher() = default;
  // The watched node cluster has a new snapshot. Called by the thread
  // running SnapshotCache::Update, one update at a time, without the
  // cache's lock: the watcher may call back into the cache.
  virtual void OnSnapshot(const ServedSnapshotPtr& snapshot) = 0;
};

// The next nonce: unique within the process.
std::string NextNonce();

class SnapshotCache {
 public:
  // `metrics` may be null.
  explicit SnapshotCache(XdsServerMetrics* metrics = nullptr);
  SnapshotCache(const SnapshotCache&) = delete;
  SnapshotCache& operator=(const SnapshotCache&) = delete;

  // Replaces every node cluster's snapshot (a Translation's `snapshots`).
  // Node clusters absent from `snapshots` get an empty one, so their
  // resources are removed. Types whose version did not change are kept as
  // they were; the watchers of every node cluster whose snapshot changed
  // are told before this returns. Updates are serialized.
  void Update(const std::map<std::string, NodeSnapshotPtr>& snapshots);

  // The current snapshot of `node_cluster` (empty if it has none), and from
  // now on `watcher` is told about each new one until Unwatch.
  ServedSnapshotPtr Watch(const std::string& node_cluster,
                          std::shared_ptr<SnapshotWatcher> watcher);
  void Unwatch(const std::string& node_cluster, const SnapshotWatcher* watcher);

  // The current snapshot of `node_cluster`, empty if it has none.
  ServedSnapshotPtr Get(const std::string& node_cluster) const;

 private:
  struct Entry {
    ServedSnapshotPtr snapshot;
    bool translated = false;  // present in the last Update
    absl::flat_hash_map<const SnapshotWatcher*, std::shared_ptr<SnapshotWatcher>> watchers;
  };

  XdsServerMetrics* const metrics_;
  const ServedSnapshotPtr empty_;  // generation 0
  absl::Mutex update_mu_;          // serializes Update, notifications included
  mutable absl::Mutex mu_;         // guards the fields below
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
};

}  // namespace protomesh::xds::server
