#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "src/ctl/command_support.h"
#include "src/ctl/commands.h"
#include "src/ctl/type_filter.h"

namespace protomesh::ctl {

using protomesh::types::v1::Resource;

absl::Status RunGet(CommandContext& context, const GetOptions& options) {
  auto format = ParseOutputFormat(options.output);
  if (!format.ok()) return format.status();
  auto filters = ResolveTypeFilters(options.types, "--type", context.registry);
  if (!filters.ok()) return filters.status();
  const std::string& ns = context.settings.namespace_;

  std::vector<Resource> resources;
  bool named = !options.names.empty() || !options.ids.empty();
  for (const std::string& id_flag : options.ids) {
    auto id = ParseIdFlag(id_flag);
    if (!id.ok()) return id.status();
    auto resource = context.store.Get(ns, *id);
    if (absl::IsNotFound(resource.status())) {
      return absl::NotFoundError(absl::StrCat("no resource with id ", *id, " in namespace ", ns));
    }
    if (!resource.ok()) return resource.status();
    resources.push_back(std::move(*resource));
  }
  for (const std::string& name : options.names) {
    auto found = FindByName(context, ns, name);
    if (!found.ok()) return found.status();
    size_t before = resources.size();
    for (Resource& resource : *found) {
      if (MatchesAny(*filters, resource, context.registry)) resources.push_back(std::move(resource));
    }
    if (resources.size() == before) {
      return absl::NotFoundError(absl::StrCat("no resource named \"", name, "\"",
                                              options.types.empty() ? "" : " of the given types",
                                              " in namespace ", ns));
    }
  }
  if (!named) {
    auto listing = context.store.List(ns, TypeUrlsOf(*filters), options.name_prefix);
    if (!listing.ok()) return listing.status();
    for (Resource& resource : listing->resources) {
      if (MatchesAny(*filters, resource, context.registry)) resources.push_back(std::move(resource));
    }
    std::sort(resources.begin(), resources.end(), [&](const Resource& a, const Resource& b) {
      return std::make_pair(a.name(), context.codec.Label(a)) <
             std::make_pair(b.name(), context.codec.Label(b));
    });
    if (resources.empty() && *format == OutputFormat::kTable) {
      context.err << "No resources found in namespace " << ns << ".\n";
      return absl::OkStatus();
    }
  }
  bool as_list = !named || resources.size() != 1;
  return PrintResources(context, resources, *format, as_list);
}

}  // namespace protomesh::ctl
