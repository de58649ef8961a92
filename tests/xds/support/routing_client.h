#pragma once
// A proxyless gRPC client of one xds:/// target, as the routing scenario
// (xds_routing_test.h) sees it: it calls grpc.health.v1.Health/Check on
// NamedBackends and counts who answered.
#include <map>
#include <string>

#include "absl/status/statusor.h"

namespace protomesh::testing {

// What a batch of calls came to.
struct CallTally {
  std::map<std::string, int> backends;  // Successful calls by "x-backend" header.
  int failures = 0;
  std::string last_error;  // Of the last failed call.

  int Count(const std::string& backend) const;
  int Calls() const;
  std::string DebugString() const;  // "a=90 b=10 failures=0"
};

class RoutingClient {
 public:
  virtual ~RoutingClient() = default;
  // `count` calls, one after another. An error only when the client itself
  // broke down; failed calls are counted.
  virtual absl::StatusOr<CallTally> Call(int count) = 0;
  // What the client logged, for failure messages.
  virtual std::string Log() const { return ""; }
};

}  // namespace protomesh::testing
