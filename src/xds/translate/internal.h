#pragma once
// What the translator's stages share (one .cc per concern: clusters,
// listeners, routes, endpoints, raw passthrough); not part of the library's
// interface. This header stays free of Envoy's generated headers, which are
// slow to compile: each stage includes only the ones it builds.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "api/types/v1/networking.pb.h"
#include "api/types/v1/resource.pb.h"
#include "google/protobuf/any.pb.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/message.h"
#include "src/xds/translate/translator.h"
#include "src/xds/xds_snapshot.h"

namespace protomesh::xds::translate {

// A store resource and the typed spec it holds (parsed and kept by
// ParsedSpecs, which must outlive it).
template <typename Spec>
struct Typed {
  const types::v1::Resource* resource = nullptr;
  const Spec& spec;
};

// A raw Envoy resource, parsed and checked (raw.cc).
struct RawResource {
  const types::v1::Resource* resource = nullptr;
  std::string xds_cluster_name;  // empty: every node cluster of the namespace
  std::string type_url;          // one of kClusterType ... kRouteType
  std::string name;
  google::protobuf::Any any;  // re-serialized deterministically
  // What the stages check against the rest of the node cluster.
  std::optional<uint32_t> port;             // a listener on a socket address
  std::optional<std::string> eds_name;      // a cluster fed by EDS over ADS
  std::vector<std::string> route_clusters;  // clusters a route configuration names
};

// The namespace's resources by kind, each list in (name, id) order: the
// order in which they claim names, so that conflicts resolve the same way
// whatever order the store listed them in.
struct Inputs {
  std::vector<Typed<types::v1::HttpIngress>> ingresses;
  std::vector<Typed<types::v1::Service>> services;
  std::vector<Typed<types::v1::RoutingPolicy>> policies;
  std::vector<Typed<types::v1::InstanceSet>> instance_sets;
  std::vector<RawResource> raw;
  // Every xds_cluster_name some resource names (valid or not).
  std::set<std::string> node_clusters;
};

class Errors {
 public:
  void Report(const types::v1::Resource& resource, std::string message);
  std::vector<TranslationError> Take() { return std::move(errors_); }

 private:
  std::vector<TranslationError> errors_;
};

// A translated resource and who it came from (for conflict messages).
struct Entry {
  google::protobuf::Any any;
  const types::v1::Resource* source = nullptr;  // nullptr: several resources
  std::string owner;                            // e.g. Service "catalog"
};

// One node cluster's resources while they are being built.
struct NodeBuild {
  std::map<std::string, Entry> clusters;
  std::map<std::string, Entry> endpoints;
  std::map<std::string, Entry> listeners;
  std::map<std::string, Entry> routes;
  std::map<uint32_t, std::string> ports;  // listener port -> listener name
  // ClusterLoadAssignments the clusters ask for (EDS over ADS).
  std::set<std::string> eds_names;
  // Route configurations the listeners ask for (RDS over ADS).
  std::set<std::string> rds_names;
  // Route configurations of proxyless gRPC targets -> the exposed
  // service's cluster, routed to when no RoutingPolicy gives virtual hosts.
  std::map<std::string, std::string> grpc_targets;
};
using Nodes = std::map<std::string, NodeBuild>;

// The specs of a namespace's resources, parsed, by resource id. Kept from
// one translation to the next, only new or changed specs are parsed again.
class ParsedSpecs {
 public:
  // What a spec is to the translator; other specs are ignored.
  enum class Kind { kIgnored, kNetworkingNode, kRaw };
  struct Parsed {
    Kind kind = Kind::kIgnored;
    std::string type_url;  // what was parsed
    std::string value;
    std::optional<types::v1::NetworkingNode> node;  // kNetworkingNode: set if it parsed
    // A raw resource that parsed (its `resource` is not set), or why not
    // and the node cluster its scope names when that can be read.
    std::optional<RawResource> raw;
    std::string raw_error;
    std::string raw_error_scope;
    uint64_t generation = 0;  // of the last Begin() it was used in
  };

  // Starts a translation: what the previous one used stays valid until
  // the next Begin().
  void Begin();
  // `resource`'s spec parsed, parsing it if it is new or changed. A spec
  // of an ignored type is neither parsed nor kept.
  const Parsed& Get(const types::v1::Resource& resource);
  // Forgets the resources not used since Begin().
  void Sweep();

 private:
  std::map<std::string, Parsed> by_id_;
  std::vector<std::unique_ptr<Parsed>> extra_;  // an id listed twice with other content
  uint64_t generation_ = 0;
};

// Parses (through `specs`) and sorts the resources of a namespace
// (translator.cc); what does not parse is reported. The Inputs refer to
// `specs` until its next Begin().
Inputs Classify(const ResourceRefs& resources, Errors& errors, ParsedSpecs& specs);
// Every stage, in order, over `inputs`, into `nodes` (which must hold every
// node cluster of `inputs`).
void RunStages(const Inputs& inputs, Nodes& nodes, Errors& errors);
// A node cluster's snapshot: versions computed, resources frozen.
NodeSnapshotPtr Freeze(NodeBuild& build);

// The stages, in the order RunStages runs them: each may look at what the
// earlier ones built (routes check clusters; endpoints serve the EDS names
// of clusters).
void TranslateServices(const Inputs& inputs, Nodes& nodes, Errors& errors);
void TranslateListeners(const Inputs& inputs, Nodes& nodes, Errors& errors);
void TranslateRoutes(const Inputs& inputs, Nodes& nodes, Errors& errors);
void TranslateEndpoints(const Inputs& inputs, Nodes& nodes, Errors& errors);
// Why an instance set's instances cannot be served, or OK. TranslateEndpoints
// reports a set that fails it and leaves the set out.
absl::Status CheckInstanceSet(const types::v1::InstanceSet& set);
// An empty ClusterLoadAssignment for every EDS name still without one.
void AddEmptyEndpoints(Nodes& nodes);

// raw.cc: whether a spec is a raw Envoy resource (an EnvoyResource or one of
// the four types itself), and parsing it.
bool IsRawSpec(const google::protobuf::Any& spec);
absl::StatusOr<RawResource> ParseRaw(const types::v1::Resource& resource);
// Adds the raw resources of one type to the node clusters they are scoped
// to, after the translated ones of that type (which win any name clash).
void AddRaw(const Inputs& inputs, absl::string_view type_url, Nodes& nodes, Errors& errors);

// Packs with deterministic serialization (maps in key order), so equal
// content gives equal bytes and so equal versions.
google::protobuf::Any Pack(const google::protobuf::Message& message);
// Re-serializes a packed Envoy message deterministically (through the
// descriptor pool, for types built dynamically like jwt_authn's).
absl::StatusOr<google::protobuf::Any> Canonical(const google::protobuf::Any& any);

// Inserts entry under name unless the name is taken; returns the entry that
// holds it (nullptr on success).
const Entry* Claim(std::map<std::string, Entry>& entries, const std::string& name, Entry entry);

// `Kind "name"` for messages, e.g. `Service "catalog"`.
std::string Owner(absl::string_view kind, const types::v1::Resource& resource);

// Checks a Duration is well formed and not negative (positive when
// `positive`); `what` names it in the message.
absl::Status CheckDuration(const google::protobuf::Duration& duration, absl::string_view what,
                           bool positive);
// A header name as Envoy accepts it (an HTTP token, optionally ":"-prefixed).
bool IsHeaderName(absl::string_view name);
// A header value (and domain) as Envoy accepts it: no NUL, CR or LF.
bool IsHeaderValue(absl::string_view value);

inline constexpr char kAnyPrefix[] = "type.googleapis.com/";

}  // namespace protomesh::xds::translate
