// protomesh-xds end to end: a real store and a real protomesh-xds process,
// and gRPC C++'s own xDS client (the "xds:///" resolver) dialing two
// in-process backends through the configuration it is served.
#include <chrono>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "tests/support/store_test_util.h"
#include "tests/support/wait.h"
#include "tests/xds/support/grpc_routing_client.h"
#include "tests/xds/support/networking_resources.h"
#include "tests/xds/support/xds_routing_test.h"

namespace protomesh::testing {
namespace {

namespace types = protomesh::types::v1;

constexpr auto kTimeout = std::chrono::seconds(20);

class XdsEndToEndTest : public XdsRoutingTest {
 protected:
  absl::StatusOr<std::unique_ptr<RoutingClient>> Connect(const std::string& target,
                                                         const std::string& bootstrap) override {
    return std::make_unique<GrpcRoutingClient>(target, bootstrap);
  }

  static bool MetricsSay(const std::string& sample) {
    return xds().AdminGet("/metrics").second.find(sample) != std::string::npos;
  }
};

TEST_F(XdsEndToEndTest, ProxylessGrpcClientFollowsTheStore) {
  ExpectClientFollowsTheStore("grpc-cpp-client");
}

TEST_F(XdsEndToEndTest, ReportsUntranslatableResources) {
  // A random-LB service exposed to gRPC clients cannot be served to them.
  types::NetworkingNode node = ServiceNode("bad-random", kNodeCluster, "bad-random");
  node.mutable_service()->set_lb_policy(types::Service::LB_POLICY_RANDOM);
  const std::string id = NewUuid();
  Put(Networking(kNamespace, "bad-random", node, id));
  EXPECT_TRUE(WaitUntil([] { return MetricsSay("protomesh_xds_translation_errors 1"); }, kTimeout))
      << xds().AdminGet("/metrics").second;
  Drop(id);
  EXPECT_TRUE(WaitUntil([] { return MetricsSay("protomesh_xds_translation_errors 0"); }, kTimeout))
      << xds().AdminGet("/metrics").second;
  EXPECT_NE(xds().Output().find("bad-random"), std::string::npos);
}

TEST_F(XdsEndToEndTest, AdminEndpoints) {
  EXPECT_EQ(xds().AdminGet("/healthz").first, 200);
  EXPECT_EQ(xds().AdminGet("/readyz").first, 200);
  auto [status, metrics] = xds().AdminGet("/metrics");
  EXPECT_EQ(status, 200);
  EXPECT_NE(metrics.find("protomesh_xds_streams"), std::string::npos);
  EXPECT_NE(metrics.find("protomesh_xds_translation_errors"), std::string::npos);
}

}  // namespace
}  // namespace protomesh::testing
