#pragma once
// Translation that keeps serving a resource's last good version.
//
// A broken update to one resource (a Service whose new spec does not
// translate, say) should not take its cluster away from every proxy: like
// Envoy, which keeps the last config it accepted when it NACKs a new one,
// the server keeps serving the resource's last version that translated
// cleanly, and reports the broken version. A resource that never translated
// cleanly is left out (or served in part, where the translator does so) and
// reported. Deleting a resource deletes its last good version too.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "api/types/v1/resource.pb.h"
#include "src/xds/translate/cached_translator.h"
#include "src/xds/translate/translator.h"
#include "src/xds/xds_snapshot.h"

namespace protomesh::xds {

// A store resource the server cannot serve as it is.
struct ResourceIssue {
  std::string namespace_;
  std::string id;
  std::string name;
  std::string type_url;   // of the spec
  std::string kind;       // "Service", "EnvoyResource", ...: KindOf()
  int64_t revision = 0;   // the store revision of the version that failed
  std::string message;
  // The revision of the last good version served in its place; 0 when
  // nothing is served in its place.
  int64_t serving_revision = 0;
};

struct CheckedTranslation {
  Translation translation;  // its `errors` are empty: see `issues`
  std::vector<ResourceIssue> issues;  // by (name, id, message)
};

// The kind of a resource, as protomeshctl names it: HttpIngress, Service,
// RoutingPolicy or InstanceSet for a NetworkingNode, else the spec's message
// name ("EnvoyResource", "Cluster").
std::string KindOf(const protomesh::types::v1::Resource& resource);

class LastGoodTranslator {
 public:
  // Translates a namespace's resources at `revision`, each failing resource
  // replaced by its last good version when there is one that still
  // translates cleanly.
  CheckedTranslation Translate(const ResourceRefs& resources, int64_t revision);
  CheckedTranslation Translate(const std::vector<protomesh::types::v1::Resource>& resources,
                               int64_t revision);

 private:
  std::map<std::string, protomesh::types::v1::Resource> last_good_;  // by id
  CachedTranslator translator_;  // every translation goes through it
};

}  // namespace protomesh::xds
