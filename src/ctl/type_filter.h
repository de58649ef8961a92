#pragma once
// --type / --prune-type: a kind ("HttpIngress", any case), a message's
// full name ("protomesh.types.v1.NetworkingNode") or a type URL. The store
// filters by type URL; a kind sharing its envelope with others (the
// NetworkingNode kinds) is then told apart here.
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "api/types/v1/resource.pb.h"
#include "src/ctl/type_registry.h"

namespace protomesh::ctl {

struct TypeFilter {
  std::string type_url;
  const Kind* kind = nullptr;  // nullptr: every resource of type_url
};

// A usage error names the known kinds when `text` is none of the above.
absl::StatusOr<TypeFilter> ResolveTypeFilter(const std::string& text, const std::string& flag,
                                             const TypeRegistry& registry);
absl::StatusOr<std::vector<TypeFilter>> ResolveTypeFilters(const std::vector<std::string>& texts,
                                                           const std::string& flag,
                                                           const TypeRegistry& registry);

// The type URLs to ask the store for (empty: all).
std::vector<std::string> TypeUrlsOf(const std::vector<TypeFilter>& filters);
// Whether `resource` passes (every resource when `filters` is empty).
bool MatchesAny(const std::vector<TypeFilter>& filters,
                const protomesh::types::v1::Resource& resource, const TypeRegistry& registry);

}  // namespace protomesh::ctl
