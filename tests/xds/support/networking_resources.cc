#include "tests/xds/support/networking_resources.h"

#include "tests/support/store_test_util.h"

namespace protomesh::testing {

namespace types = protomesh::types::v1;

types::Resource Networking(const std::string& ns, const std::string& name,
                           const types::NetworkingNode& node, const std::string& id) {
  types::Resource resource;
  resource.set_namespace_(ns);
  resource.set_id(id.empty() ? NewUuid() : id);
  resource.set_name(name);
  resource.mutable_spec()->PackFrom(node);
  return resource;
}

types::NetworkingNode ServiceNode(const std::string& service_name,
                                  const std::string& node_cluster,
                                  const std::string& grpc_target_name) {
  types::NetworkingNode node;
  auto* service = node.mutable_service();
  service->set_service_name(service_name);
  service->set_xds_cluster_name(node_cluster);
  service->set_grpc_target_name(grpc_target_name);
  return node;
}

types::NetworkingNode InstancesNode(const std::string& service_name,
                                    const std::vector<int>& ports) {
  types::NetworkingNode node;
  auto* set = node.mutable_instance_set();
  set->add_match_service_names(service_name);
  for (int port : ports) {
    auto* instance = set->add_instances();
    instance->set_address("127.0.0.1");
    instance->set_port(port);
  }
  return node;
}

types::NetworkingNode WeightedRouteNode(
    const std::string& ingress_name, const std::string& node_cluster,
    const std::vector<std::pair<std::string, int>>& weighted_services) {
  types::NetworkingNode node;
  auto* routing = node.mutable_routing_policy();
  routing->set_ingress_name(ingress_name);
  routing->set_xds_cluster_name(node_cluster);
  routing->set_domain("*");
  auto* route = routing->add_routes();
  route->set_match_prefix("/");
  for (const auto& [service, weight] : weighted_services) {
    auto* target = route->add_weighted_targets();
    target->set_service(service);
    target->set_weight(weight);
  }
  return node;
}

}  // namespace protomesh::testing
