// protomesh-xds end to end with a second, independent xDS client: Node's
// @grpc/grpc-js-xds (tests/xds/node/xds_client.js, installed by the build
// with npm ci) must follow the store through the same routing scenario as
// gRPC C++ in xds_e2e_test.cc.
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "tests/xds/support/node_routing_client.h"
#include "tests/xds/support/xds_routing_test.h"

namespace protomesh::testing {
namespace {

class XdsNodeClientTest : public XdsRoutingTest {
 protected:
  absl::StatusOr<std::unique_ptr<RoutingClient>> Connect(const std::string& target,
                                                         const std::string& bootstrap) override {
    return NodeRoutingClient::Start(target, bootstrap);
  }
  bool SeesReturningListener() const override { return false; }
};

TEST_F(XdsNodeClientTest, GrpcJsXdsClientFollowsTheStore) {
  ExpectClientFollowsTheStore("grpc-js-client");
}

}  // namespace
}  // namespace protomesh::testing
