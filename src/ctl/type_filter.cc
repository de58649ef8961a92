#include "src/ctl/type_filter.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "src/ctl/errors.h"

namespace protomesh::ctl {

absl::StatusOr<TypeFilter> ResolveTypeFilter(const std::string& text, const std::string& flag,
                                             const TypeRegistry& registry) {
  TypeFilter filter;
  if (const Kind* kind = registry.FindKind(text); kind != nullptr) {
    filter.kind = kind;
    filter.type_url = TypeRegistry::TypeUrl(kind->spec_type);
    return filter;
  }
  if (text.find('/') != std::string::npos) {
    filter.type_url = text;  // a type URL: the store filters by it, known or not
    return filter;
  }
  if (const auto* type = registry.FindMessage(text); type != nullptr) {
    filter.type_url = TypeRegistry::TypeUrl(type);
    return filter;
  }
  return UsageError(absl::StrCat("unknown type \"", text, "\" for ", flag, "; known kinds: ",
                                 absl::StrJoin(registry.KindNames(), ", "),
                                 "; or a message type such as ",
                                 absl::StrJoin(registry.SpecTypeNames(), ", "), ", or a type URL"));
}

absl::StatusOr<std::vector<TypeFilter>> ResolveTypeFilters(const std::vector<std::string>& texts,
                                                           const std::string& flag,
                                                           const TypeRegistry& registry) {
  std::vector<TypeFilter> filters;
  for (const std::string& text : texts) {
    auto filter = ResolveTypeFilter(text, flag, registry);
    if (!filter.ok()) return filter.status();
    filters.push_back(*filter);
  }
  return filters;
}

std::vector<std::string> TypeUrlsOf(const std::vector<TypeFilter>& filters) {
  std::vector<std::string> urls;
  for (const TypeFilter& filter : filters) urls.push_back(filter.type_url);
  std::sort(urls.begin(), urls.end());
  urls.erase(std::unique(urls.begin(), urls.end()), urls.end());
  return urls;
}

bool MatchesAny(const std::vector<TypeFilter>& filters,
                const protomesh::types::v1::Resource& resource, const TypeRegistry& registry) {
  if (filters.empty()) return true;
  const Kind* kind = nullptr;
  bool kind_known = false;
  for (const TypeFilter& filter : filters) {
    if (filter.type_url != resource.spec().type_url()) continue;
    if (filter.kind == nullptr) return true;
    if (!kind_known) {
      kind = registry.KindOf(resource.spec());
      kind_known = true;
    }
    if (kind == filter.kind) return true;
  }
  return false;
}

}  // namespace protomesh::ctl
