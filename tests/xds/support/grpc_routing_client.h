#pragma once
// gRPC C++'s own xDS client as a RoutingClient, in this process.
#include <memory>
#include <string>

#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/xds/support/routing_client.h"

namespace protomesh::testing {

class GrpcRoutingClient final : public RoutingClient {
 public:
  // A channel to `target` (xds:///NAME) whose xDS client reads `bootstrap`
  // (JSON). The bootstrap is the channel's own rather than GRPC_XDS_BOOTSTRAP,
  // which gRPC reads once per process while its global xDS client lives:
  // a later suite with a new server would still be sent to the old one.
  GrpcRoutingClient(const std::string& target, const std::string& bootstrap);

  absl::StatusOr<CallTally> Call(int count) override;

 private:
  std::unique_ptr<grpc::health::v1::Health::Stub> stub_;
};

}  // namespace protomesh::testing
