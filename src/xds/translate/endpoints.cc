// InstanceSet -> the ClusterLoadAssignment of every EDS cluster it names, in
// every node cluster that has one; instances of several sets are merged and
// grouped by locality. Every EDS cluster gets an assignment, empty when no
// set names it, so that Envoy does not wait for one.
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "src/xds/translate/internal.h"

namespace protomesh::xds::translate {
namespace {

using envoy::config::endpoint::v3::ClusterLoadAssignment;
using types::v1::InstanceSet;

absl::Status CheckInstance(const InstanceSet::Instance& instance, int index) {
  const std::string where = absl::StrCat("instances[", index, "]");
  if (instance.address().empty() || !IsHeaderValue(instance.address()) ||
      instance.address().find_first_of(" \t") != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, ": address \"", absl::CEscape(instance.address()), "\" is empty or not an address"));
  }
  if (instance.port() < 1 || instance.port() > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": port ", instance.port(), " is not a port (1-65535)"));
  }
  if (!types::v1::TransportProtocol_IsValid(instance.transport_protocol())) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": transport_protocol ",
                                                   instance.transport_protocol(), " is not known"));
  }
  return absl::OkStatus();
}

ClusterLoadAssignment BuildAssignment(const std::string& name,
                                      const std::vector<const InstanceSet::Instance*>& instances) {
  ClusterLoadAssignment assignment;
  assignment.set_cluster_name(name);
  // Localities in (region, zone) order; instances in set order within one.
  std::map<std::pair<std::string, std::string>, std::vector<const InstanceSet::Instance*>> grouped;
  for (const auto* instance : instances) {
    grouped[{instance->region(), instance->zone()}].push_back(instance);
  }
  for (const auto& [locality, members] : grouped) {
    auto* endpoints = assignment.add_endpoints();
    // Proxyless gRPC clients reject a group without a locality (an empty
    // one is fine) and send no traffic to a locality without a weight;
    // Envoy ignores the weight unless locality-weighted balancing is on.
    // Each locality weighs its instances, as Envoy balances across hosts.
    auto* out_locality = endpoints->mutable_locality();
    if (!locality.first.empty()) out_locality->set_region(locality.first);
    if (!locality.second.empty()) out_locality->set_zone(locality.second);
    endpoints->mutable_load_balancing_weight()->set_value(static_cast<uint32_t>(members.size()));
    for (const auto* instance : members) {
      auto* endpoint = endpoints->add_lb_endpoints()->mutable_endpoint();
      if (!instance->hostname().empty()) endpoint->set_hostname(instance->hostname());
      auto* address = endpoint->mutable_address()->mutable_socket_address();
      address->set_protocol(instance->transport_protocol() == types::v1::TRANSPORT_PROTOCOL_UDP
                                ? envoy::config::core::v3::SocketAddress::UDP
                                : envoy::config::core::v3::SocketAddress::TCP);
      address->set_address(instance->address());
      address->set_port_value(instance->port());
    }
  }
  return assignment;
}

}  // namespace

absl::Status CheckInstanceSet(const InstanceSet& set) {
  for (int i = 0; i < set.instances_size(); ++i) {
    absl::Status status = CheckInstance(set.instances(i), i);
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

void TranslateEndpoints(const Inputs& inputs, Nodes& nodes, Errors& errors) {
  // Service name -> instances of every valid set naming it, sets in (name,
  // id) order.
  std::map<std::string, std::vector<const InstanceSet::Instance*>> by_service;
  std::map<std::string, std::string> owners;  // service name -> first set naming it
  for (const auto& [resource, set] : inputs.instance_sets) {
    absl::Status status = CheckInstanceSet(set);
    if (!status.ok()) {
      errors.Report(*resource, std::string(status.message()));
      continue;
    }
    for (const std::string& service : set.match_service_names()) {
      auto& instances = by_service[service];
      for (const auto& instance : set.instances()) instances.push_back(&instance);
      owners.try_emplace(service, Owner("InstanceSet", *resource));
    }
  }

  for (auto& [node_cluster, node] : nodes) {
    for (const std::string& name : node.eds_names) {
      auto it = by_service.find(name);
      if (it == by_service.end()) continue;
      Claim(node.endpoints, name,
            Entry{Pack(BuildAssignment(name, it->second)), nullptr, owners[name]});
    }
  }
}

void AddEmptyEndpoints(Nodes& nodes) {
  for (auto& [node_cluster, node] : nodes) {
    for (const std::string& name : node.eds_names) {
      if (node.endpoints.count(name) > 0) continue;
      ClusterLoadAssignment empty;
      empty.set_cluster_name(name);
      Claim(node.endpoints, name, Entry{Pack(empty), nullptr, "no InstanceSet"});
    }
  }
}

}  // namespace protomesh::xds::translate
