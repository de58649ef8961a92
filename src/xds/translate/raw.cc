// Raw Envoy resources: an EnvoyResource (scoped by its xds_cluster_name) or
// an Envoy Cluster / Listener / RouteConfiguration / ClusterLoadAssignment
// stored as the spec itself (unscoped). Passed through unchanged but for
// deterministic re-serialization, after the checks possible without Envoy.
#include <set>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "api/types/v1/envoy.pb.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/config/route/v3/route.pb.h"
#include "src/xds/translate/internal.h"

namespace protomesh::xds::translate {
namespace {

namespace pb = google::protobuf;
using envoy::config::cluster::v3::Cluster;
using envoy::config::endpoint::v3::ClusterLoadAssignment;
using envoy::config::listener::v3::Listener;
using envoy::config::route::v3::RouteConfiguration;

absl::string_view TypeName(absl::string_view type_url) {
  size_t slash = type_url.rfind('/');
  return slash == absl::string_view::npos ? type_url : type_url.substr(slash + 1);
}

// The snapshot type URL of an Envoy type name, or "" for other types.
std::string SnapshotType(absl::string_view type_url) {
  for (const char* type : {kClusterType, kEndpointType, kListenerType, kRouteType}) {
    if (TypeName(type) == TypeName(type_url)) return type;
  }
  return "";
}

template <typename T>
absl::StatusOr<T> ParseAs(const pb::Any& any) {
  T message;
  if (!message.ParseFromString(any.value())) {
    return absl::InvalidArgumentError(
        absl::StrCat("the resource does not parse as ", T::descriptor()->full_name()));
  }
  return message;
}

std::string ScopeText(const std::string& node_cluster) {
  return absl::StrCat("node cluster \"", node_cluster, "\"");
}

}  // namespace

bool IsRawSpec(const pb::Any& spec) {
  return TypeName(spec.type_url()) == types::v1::EnvoyResource::descriptor()->full_name() ||
         !SnapshotType(spec.type_url()).empty();
}

absl::StatusOr<RawResource> ParseRaw(const types::v1::Resource& resource) {
  RawResource raw;
  raw.resource = &resource;
  pb::Any inner = resource.spec();
  if (TypeName(inner.type_url()) == types::v1::EnvoyResource::descriptor()->full_name()) {
    types::v1::EnvoyResource wrapper;
    if (!wrapper.ParseFromString(inner.value())) {
      return absl::InvalidArgumentError("the spec does not parse as an EnvoyResource");
    }
    raw.xds_cluster_name = wrapper.xds_cluster_name();
    inner = wrapper.resource();
  }
  raw.type_url = SnapshotType(inner.type_url());
  if (raw.type_url.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("EnvoyResource.resource is a \"", inner.type_url(),
                     "\"; it must be an Envoy Cluster, Listener, RouteConfiguration or "
                     "ClusterLoadAssignment (v3)"));
  }

  if (raw.type_url == kClusterType) {
    auto cluster = ParseAs<Cluster>(inner);
    if (!cluster.ok()) return cluster.status();
    raw.name = cluster->name();
    const bool eds = cluster->has_type() ? cluster->type() == Cluster::EDS : false;
    const auto& source = cluster->eds_cluster_config().eds_config();
    if (eds && (source.has_ads() || source.has_self())) {
      raw.eds_name = cluster->eds_cluster_config().service_name().empty()
                         ? cluster->name()
                         : cluster->eds_cluster_config().service_name();
    }
    raw.any = Pack(*cluster);
  } else if (raw.type_url == kListenerType) {
    auto listener = ParseAs<Listener>(inner);
    if (!listener.ok()) return listener.status();
    raw.name = listener->name();
    const auto& address = listener->address();
    if (!listener->has_api_listener() && address.has_socket_address() &&
        address.socket_address().port_specifier_case() ==
            envoy::config::core::v3::SocketAddress::kPortValue) {
      raw.port = address.socket_address().port_value();
    }
    raw.any = Pack(*listener);
  } else if (raw.type_url == kRouteType) {
    auto config = ParseAs<RouteConfiguration>(inner);
    if (!config.ok()) return config.status();
    raw.name = config->name();
    std::set<std::string> clusters;
    for (const auto& host : config->virtual_hosts()) {
      for (const auto& route : host.routes()) {
        if (!route.has_route()) continue;
        if (!route.route().cluster().empty()) clusters.insert(route.route().cluster());
        for (const auto& weighted : route.route().weighted_clusters().clusters()) {
          clusters.insert(weighted.name());
        }
      }
    }
    raw.route_clusters.assign(clusters.begin(), clusters.end());
    raw.any = Pack(*config);
  } else {
    auto assignment = ParseAs<ClusterLoadAssignment>(inner);
    if (!assignment.ok()) return assignment.status();
    raw.name = assignment->cluster_name();
    raw.any = Pack(*assignment);
  }
  if (raw.name.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("the ", TypeName(raw.type_url), " has no name"));
  }
  return raw;
}

void AddRaw(const Inputs& inputs, absl::string_view type_url, Nodes& nodes, Errors& errors) {
  for (const RawResource& raw : inputs.raw) {
    if (raw.type_url != type_url) continue;
    std::vector<std::string> targets;
    if (!raw.xds_cluster_name.empty()) {
      targets.push_back(raw.xds_cluster_name);
    } else {
      targets.assign(inputs.node_clusters.begin(), inputs.node_clusters.end());
    }
    const std::string kind(TypeName(type_url).substr(TypeName(type_url).rfind('.') + 1));
    for (const std::string& node_cluster : targets) {
      NodeBuild& node = nodes[node_cluster];
      std::map<std::string, Entry>* entries = nullptr;
      if (type_url == kClusterType) entries = &node.clusters;
      if (type_url == kListenerType) entries = &node.listeners;
      if (type_url == kRouteType) entries = &node.routes;
      if (type_url == kEndpointType) entries = &node.endpoints;

      if (auto it = entries->find(raw.name); it != entries->end()) {
        errors.Report(*raw.resource,
                      absl::StrCat(kind, " \"", raw.name, "\" is already defined in ",
                                   ScopeText(node_cluster), " by ", it->second.owner));
        continue;
      }
      if (raw.port.has_value()) {
        if (auto it = node.ports.find(*raw.port); it != node.ports.end()) {
          errors.Report(*raw.resource,
                        absl::StrCat("port ", *raw.port, " is already used in ",
                                     ScopeText(node_cluster), " by listener \"", it->second, "\""));
          continue;
        }
      }
      std::vector<std::string> missing;
      for (const std::string& cluster : raw.route_clusters) {
        if (node.clusters.count(cluster) == 0) missing.push_back(cluster);
      }
      if (!missing.empty()) {
        errors.Report(
            *raw.resource,
            absl::StrCat("routes name cluster \"", missing.front(), "\", which does not exist in ",
                         ScopeText(node_cluster), missing.size() > 1 ? " (and others)" : ""));
        continue;
      }
      Claim(*entries, raw.name,
            Entry{raw.any, raw.resource, Owner(absl::StrCat("raw ", kind), *raw.resource)});
      if (raw.port.has_value()) node.ports[*raw.port] = raw.name;
      if (raw.eds_name.has_value()) node.eds_names.insert(*raw.eds_name);
    }
  }
}

}  // namespace protomesh::xds::translate
