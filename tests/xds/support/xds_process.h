#pragma once
// A real protomesh-xds process for integration tests, on free loopback ports,
// serving one namespace of a store. Start() returns once /readyz says ready.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "tests/support/child_process.h"

namespace protomesh::testing {

class XdsProcess {
 public:
  // `extra_args` go after the ones that name the ports, the store and `ns`.
  static absl::StatusOr<std::unique_ptr<XdsProcess>> Start(
      const std::string& store_address, const std::string& ns,
      std::vector<std::string> extra_args = {});

  std::string grpc_address() const;
  // GET on the admin port; returns {status, body}.
  std::pair<int, std::string> AdminGet(const std::string& path) const;
  // An xDS bootstrap (JSON) that points a proxyless gRPC client named
  // `node_id`, of node cluster `node_cluster`, at this server.
  std::string Bootstrap(const std::string& node_id, const std::string& node_cluster) const;

  absl::StatusOr<int> Terminate();  // SIGTERM; the exit code
  std::string Output() const;

 private:
  XdsProcess() = default;
  int grpc_port_ = 0;
  int admin_port_ = 0;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace protomesh::testing
