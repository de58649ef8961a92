#pragma once
// The contract between the translator and the xDS server. The translator
// turns the store's resources into one immutable NodeSnapshot per Envoy node
// cluster (node.cluster == the resources' xds_cluster_name); the server
// hands the same snapshot, resources serialized once, to every stream of
// that node cluster. Per-resource versions are content hashes, so a delta
// client is sent only what changed.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "google/protobuf/any.pb.h"

namespace protomesh::xds {

inline constexpr char kClusterType[] = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
inline constexpr char kEndpointType[] =
    "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";
inline constexpr char kListenerType[] = "type.googleapis.com/envoy.config.listener.v3.Listener";
inline constexpr char kRouteType[] =
    "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";

// Make-before-break: a client is sent clusters, then endpoints, then
// listeners, then routes; removals go in the reverse order.
inline const std::vector<std::string>& TypeOrder() {
  static const std::vector<std::string> order = {kClusterType, kEndpointType, kListenerType,
                                                 kRouteType};
  return order;
}

struct XdsResource {
  std::string name;
  std::string version;            // content hash of `resource`
  google::protobuf::Any resource;  // packed once, shared by every stream
};
using XdsResourcePtr = std::shared_ptr<const XdsResource>;

// Everything one node cluster is served.
struct NodeSnapshot {
  // type URL -> resource name -> resource; every type of TypeOrder() present.
  std::map<std::string, std::map<std::string, XdsResourcePtr>> resources;
  // Per type, a version that changes whenever any resource of the type does
  // (the SotW version_info).
  std::map<std::string, std::string> type_versions;
};
using NodeSnapshotPtr = std::shared_ptr<const NodeSnapshot>;

// A resource of the store that could not be translated; everything else is
// still served.
struct TranslationError {
  std::string namespace_;
  std::string id;
  std::string name;
  std::string message;
};

// The result of translating one namespace at one store revision.
struct Translation {
  int64_t revision = 0;
  std::map<std::string, NodeSnapshotPtr> snapshots;  // by node cluster
  std::vector<TranslationError> errors;
};

}  // namespace protomesh::xds
