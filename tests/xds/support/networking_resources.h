#pragma once
// NetworkingNode resources for xDS tests: services, their instances on
// loopback ports, and weighted routes.
#include <string>
#include <utility>
#include <vector>

#include "api/types/v1/networking.pb.h"
#include "api/types/v1/resource.pb.h"

namespace protomesh::testing {

// A store resource of namespace `ns` holding `node`; a new id when `id` is
// empty.
protomesh::types::v1::Resource Networking(const std::string& ns, const std::string& name,
                                          const protomesh::types::v1::NetworkingNode& node,
                                          const std::string& id = "");

// A Service for the nodes of `node_cluster`, exposed to proxyless gRPC
// clients as xds:///`grpc_target_name` unless that is empty.
protomesh::types::v1::NetworkingNode ServiceNode(const std::string& service_name,
                                                 const std::string& node_cluster,
                                                 const std::string& grpc_target_name);

// An InstanceSet of `service_name` on 127.0.0.1 at `ports`.
protomesh::types::v1::NetworkingNode InstancesNode(const std::string& service_name,
                                                   const std::vector<int>& ports);

// A RoutingPolicy for ingress `ingress_name` of `node_cluster`: every path
// split between services by weight.
protomesh::types::v1::NetworkingNode WeightedRouteNode(
    const std::string& ingress_name, const std::string& node_cluster,
    const std::vector<std::pair<std::string, int>>& weighted_services);

}  // namespace protomesh::testing
