#pragma once
// The translator: a namespace's store resources -> what every Envoy node
// cluster is served (see src/xds/xds_snapshot.h). Pure: no I/O, no clock, no
// randomness; the same resources give the same snapshots and versions in
// whatever order they are listed.
//
// What it reads (other spec types are ignored):
//   - protomesh.types.v1.NetworkingNode (HttpIngress, Service, RoutingPolicy,
//     InstanceSet), mapped as api/types/v1/networking.proto documents;
//   - raw Envoy resources: protomesh.types.v1.EnvoyResource (envoy.proto),
//     or an envoy.config.{cluster,listener,route,endpoint}.v3 resource as
//     the spec itself, passed through.
//
// Scoping: a resource goes to the node cluster its xds_cluster_name names;
// an InstanceSet to every node cluster that has a service it names; a raw
// resource without xds_cluster_name to every node cluster of the namespace.
// Every node cluster named by some resource gets a snapshot with the four
// types present (maybe empty), even when all its resources failed.
//
// Validation: a resource that cannot be translated (invalid content, a
// clash with a name or port taken within its node cluster) is left out and
// reported as a TranslationError; everything else is served. Clashes are
// decided by the resources' (name, id) order: the first keeps the name, and
// translated resources claim names before raw ones. A route to a service
// missing from the node cluster answers 503 and is reported (it is neither
// dropped, which would let a shorter prefix catch its traffic, nor left
// pointing to a cluster that does not exist).
//
// Versions: a resource's version is the SHA-256 (hex) of its Any,
// serialized deterministically; a type's version is the SHA-256 of its
// (name, version) pairs in name order.
#include <cstdint>
#include <vector>

#include "api/types/v1/resource.pb.h"
#include "src/xds/xds_snapshot.h"

namespace protomesh::xds {

// The resources of a namespace, by pointer: translating reads them and
// copies none.
using ResourceRefs = std::vector<const protomesh::types::v1::Resource*>;
// `resources` by pointer; they must outlive the result.
ResourceRefs RefsOf(const std::vector<protomesh::types::v1::Resource>& resources);

// A full translation of one namespace's state at `revision`.
Translation Translate(const ResourceRefs& resources, int64_t revision);
Translation Translate(const std::vector<protomesh::types::v1::Resource>& resources,
                      int64_t revision);

// The version of a resource: hex SHA-256 of the deterministically
// serialized Any.
std::string ContentVersion(const google::protobuf::Any& resource);

}  // namespace protomesh::xds
