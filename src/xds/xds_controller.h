#pragma once
// The xDS daemon's core: the resources of one store namespace, kept up to
// date from a ResourceWatcher's batches, translated as a whole after every
// batch (keeping the last good version of a resource that breaks) and
// handed to the SnapshotCache the xDS server serves.
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "api/types/v1/resource.pb.h"
#include "src/client/resource_watcher.h"
#include "src/common/metrics.h"
#include "src/xds/last_good_translator.h"
#include "src/xds/server/snapshot_cache.h"

namespace protomesh::xds {

class XdsController {
 public:
  // `cache` must outlive the controller. Registers its metrics in `registry`.
  XdsController(std::string namespace_, server::SnapshotCache* cache,
                metrics::Registry& registry);
  XdsController(const XdsController&) = delete;
  XdsController& operator=(const XdsController&) = delete;

  // The ResourceWatcher's handler: applies a snapshot (replacing every
  // resource) or a change, translates, and updates the cache. Batches are
  // applied one at a time.
  void Apply(const client::WatchBatch& batch);

  const std::string& namespace_name() const { return namespace_; }
  // The first snapshot was applied: the cache serves the store's state.
  bool synced() const { return synced_.load(); }
  // The store revision of the last batch applied (0 before the first).
  int64_t revision() const { return revision_.load(); }
  // Resources currently held.
  size_t resource_count() const;
  // What the last translation could not serve as it is.
  std::vector<ResourceIssue> issues() const;

 private:
  const std::string namespace_;
  server::SnapshotCache* const cache_;
  metrics::Gauge& translation_errors_;
  metrics::Gauge& resources_;
  metrics::Gauge& revision_gauge_;
  metrics::Counter& translations_;

  mutable std::mutex mu_;  // guards the fields below, held for a whole Apply
  std::map<std::string, protomesh::types::v1::Resource> resources_by_id_;
  LastGoodTranslator translator_;
  std::vector<ResourceIssue> issues_;
  // The issues of the last translation as log lines: a line is logged when
  // it first appears, not again while it persists.
  std::set<std::string> reported_;

  std::atomic<bool> synced_{false};
  std::atomic<int64_t> revision_{0};
};

}  // namespace protomesh::xds
