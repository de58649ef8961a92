#pragma once
// protomesh.services.v1.XdsStatus: what this server translated from the
// store, what it could not serve, and where each connected client stands
// (protomeshctl xds-status prints it).
#include <grpcpp/grpcpp.h>

#include "api/services/v1/xds_status.grpc.pb.h"
#include "src/xds/server/ads_service.h"
#include "src/xds/server/snapshot_cache.h"
#include "src/xds/xds_controller.h"

namespace protomesh::xds {

class XdsStatusService final : public protomesh::services::v1::XdsStatus::CallbackService {
 public:
  // All three must outlive the service.
  XdsStatusService(const XdsController* controller, const server::XdsServer* server,
                   const server::SnapshotCache* cache)
      : controller_(controller), server_(server), cache_(cache) {}

  grpc::ServerUnaryReactor* GetXdsStatus(
      grpc::CallbackServerContext* context,
      const protomesh::services::v1::GetXdsStatusRequest* request,
      protomesh::services::v1::GetXdsStatusResponse* response) override;

  // The response, as GetXdsStatus answers it.
  protomesh::services::v1::GetXdsStatusResponse Status() const;

 private:
  const XdsController* const controller_;
  const server::XdsServer* const server_;
  const server::SnapshotCache* const cache_;
};

}  // namespace protomesh::xds
