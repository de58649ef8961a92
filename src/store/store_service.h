#pragma once
// protomesh.services.v1.ResourceStore over gRPC's callback API: requests are
// validated here, writes go to the batcher and reads to the database
// executor, so no gRPC thread ever waits on the database.
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <condition_variable>
#include <mutex>

#include "absl/time/time.h"

#include "api/services/v1/resource_store.grpc.pb.h"
#include "src/store/db_executor.h"
#include "src/store/store_metrics.h"
#include "src/store/validation.h"
#include "src/store/watch_hub.h"
#include "src/store/watch_stream.h"
#include "src/store/write_batcher.h"

namespace protomesh::store {

struct ServiceOptions {
  Limits limits;
  WatchOptions watch;
  size_t max_apply_operations = 1000;
  size_t max_drop_ids = 1000;
};

class StoreService final : public protomesh::services::v1::ResourceStore::CallbackService {
 public:
  StoreService(ServiceOptions options, WriteBatcher* batcher, DbExecutor* executor, WatchHub* hub,
               StoreMetrics* metrics);

  grpc::ServerUnaryReactor* Put(grpc::CallbackServerContext* context,
                                const protomesh::services::v1::PutResourceRequest* request,
                                protomesh::services::v1::PutResourceResponse* response) override;
  grpc::ServerUnaryReactor* Drop(grpc::CallbackServerContext* context,
                                 const protomesh::services::v1::DropResourcesRequest* request,
                                 protomesh::services::v1::DropResourcesResponse* response) override;
  grpc::ServerUnaryReactor* Apply(grpc::CallbackServerContext* context,
                                  const protomesh::services::v1::ApplyRequest* request,
                                  protomesh::services::v1::ApplyResponse* response) override;
  grpc::ServerUnaryReactor* Get(grpc::CallbackServerContext* context,
                                const protomesh::services::v1::GetResourceRequest* request,
                                protomesh::services::v1::GetResourceResponse* response) override;
  grpc::ServerUnaryReactor* List(grpc::CallbackServerContext* context,
                                 const protomesh::services::v1::ListResourcesRequest* request,
                                 protomesh::services::v1::ListResourcesResponse* response) override;
  grpc::ServerUnaryReactor* History(
      grpc::CallbackServerContext* context,
      const protomesh::services::v1::ResourceHistoryRequest* request,
      protomesh::services::v1::ResourceHistoryResponse* response) override;
  grpc::ServerWriteReactor<protomesh::services::v1::WatchResourcesResponse>* Watch(
      grpc::CallbackServerContext* context,
      const protomesh::services::v1::WatchResourcesRequest* request) override;

  // Shutdown: from now on every new request fails with UNAVAILABLE (so that
  // clients retry elsewhere); returns once the requests in flight have
  // finished, or at `deadline`.
  void Drain(absl::Time deadline);

  // Counts requests in flight; used by each RPC (see store_service.cc).
  class InFlight {
   public:
    bool Enter();  // false once draining
    void Leave();
    void Drain(absl::Time deadline);

   private:
    std::mutex mu_;  // guards the fields below
    std::condition_variable idle_;
    int count_ = 0;
    bool draining_ = false;
  };

 private:
  InFlight in_flight_;
  const ServiceOptions options_;
  WriteBatcher* const batcher_;
  DbExecutor* const executor_;
  WatchHub* const hub_;
  StoreMetrics* const metrics_;
};

}  // namespace protomesh::store
