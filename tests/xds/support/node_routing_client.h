#pragma once
// @grpc/grpc-js-xds as a RoutingClient: a Node process running
// tests/xds/node/xds_client.js, driven over its stdin and stdout.
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "tests/support/child_process.h"
#include "tests/xds/support/routing_client.h"

namespace protomesh::testing {

class NodeRoutingClient final : public RoutingClient {
 public:
  // Starts the client of `target` (xds:///NAME) with `bootstrap` (JSON) in
  // GRPC_XDS_BOOTSTRAP_CONFIG; returns once it has loaded its modules.
  static absl::StatusOr<std::unique_ptr<NodeRoutingClient>> Start(const std::string& target,
                                                                  const std::string& bootstrap);

  absl::StatusOr<CallTally> Call(int count) override;
  std::string Log() const override { return process_->Output(); }

 private:
  explicit NodeRoutingClient(std::unique_ptr<ChildProcess> process)
      : process_(std::move(process)) {}
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace protomesh::testing
