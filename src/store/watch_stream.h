#pragma once
// One Watch RPC. It subscribes to the hub first, then reads the initial part
// from the database (the namespace's state, or the changes since the resume
// revision) while live changes queue up behind it; live changes the initial
// read already covered are skipped, so each change reaches the client once,
// in revision order. One write is in flight at a time. A client that falls
// behind by more than the configured backlog is cut off with
// RESOURCE_EXHAUSTED telling it where to resume.
#include <cstdint>
#include <vector>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "api/services/v1/resource_store.pb.h"
#include "src/store/db_executor.h"
#include "src/store/store_metrics.h"
#include "src/store/watch_hub.h"

namespace protomesh::store {

struct WatchOptions {
  size_t max_pending_changes = 10000;
  size_t max_pending_bytes = 64 << 20;
  size_t page_resources = 500;       // resources per state page
  size_t page_bytes = 1 << 20;       // and bytes per page (plus one resource)
  int64_t revisions_per_read = 10000;  // when replaying the change log
};

// Starts a watch for a validated request; gRPC owns the returned reactor.
grpc::ServerWriteReactor<protomesh::services::v1::WatchResourcesResponse>* StartWatch(
    grpc::CallbackServerContext* context,
    const protomesh::services::v1::WatchResourcesRequest& request, const WatchOptions& options,
    WatchHub* hub, DbExecutor* executor, StoreMetrics* metrics);

// The same watch for a server that stores nothing (bench/grpc_floor_store):
// end_of_list at the revision `hub` has published, then every change it
// publishes after that. resume_after_revision is not looked at.
grpc::ServerWriteReactor<protomesh::services::v1::WatchResourcesResponse>*
StartWatchOfPublishedChanges(const protomesh::services::v1::WatchResourcesRequest& request,
                             const WatchOptions& options, WatchHub* hub, StoreMetrics* metrics);

}  // namespace protomesh::store
