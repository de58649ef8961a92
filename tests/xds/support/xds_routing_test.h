#pragma once
// The fixture of the xDS end-to-end tests: a store and a protomesh-xds
// process for the suite, and the routing scenario that every proxyless gRPC
// client implementation (RoutingClient) must pass against them.
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "absl/status/statusor.h"
#include "api/types/v1/resource.pb.h"
#include "tests/support/store_process.h"
#include "tests/xds/support/routing_client.h"
#include "tests/xds/support/xds_process.h"

namespace protomesh::testing {

class XdsRoutingTest : public ::testing::Test {
 protected:
  static constexpr char kNamespace[] = "mesh";
  static constexpr char kNodeCluster[] = "grpc-clients";

  static void SetUpTestSuite();
  static void TearDownTestSuite();
  void SetUp() override;
  void TearDown() override;  // On failure, prints what protomesh-xds and the client logged.

  // A client of `target` (xds:///NAME) whose xDS bootstrap is `bootstrap`.
  virtual absl::StatusOr<std::unique_ptr<RoutingClient>> Connect(const std::string& target,
                                                                 const std::string& bootstrap) = 0;

  // Whether a client whose Listener was deleted sees it again when the
  // same Listener comes back. grpc-js-xds 1.14.1 does not: it keeps the
  // deleted resource cached, finds the returning one equal to it and tells
  // nobody (grpc/grpc-node#3074), so its channel never recovers.
  virtual bool SeesReturningListener() const { return true; }

  // Service "echo" on backends a and b, and a client (node id `node_id`)
  // that must follow, each within a bounded wait: round robin reaches both;
  // dropping instance b moves all calls to a; a 90/10 split between
  // services on a and on b; dropping the service makes calls fail;
  // re-adding it recovers (with a new client unless SeesReturningListener).
  // Then protomesh-xds must list the client in /config_dump and report no
  // translation errors.
  void ExpectClientFollowsTheStore(const std::string& node_id);

  void Put(const protomesh::types::v1::Resource& resource);
  void Drop(const std::string& id);
  static XdsProcess& xds() { return *xds_; }

 private:
  // Replaces client_ with a new client of xds:///echo.
  void ConnectClient(const std::string& node_id);

  static inline std::unique_ptr<StoreProcess> store_;
  static inline std::unique_ptr<XdsProcess> xds_;
  std::unique_ptr<RoutingClient> client_;
};

}  // namespace protomesh::testing
