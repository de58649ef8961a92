#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "src/ctl/command_support.h"
#include "src/ctl/commands.h"
#include "src/ctl/errors.h"

namespace protomesh::ctl {

using protomesh::types::v1::Resource;

namespace {
constexpr size_t kMaxDropIds = 1000;
}  // namespace

absl::Status RunDelete(CommandContext& context, const DeleteOptions& options) {
  if (options.names.empty() && options.ids.empty() && options.files.empty()) {
    return UsageError("delete needs what to delete: names, --id ID or -f FILE");
  }
  const std::string& ns = context.settings.namespace_;
  std::vector<Resource> targets;
  std::set<std::pair<std::string, std::string>> seen;  // (namespace, id)
  std::vector<std::string> missing;
  auto add = [&](Resource resource) {
    if (seen.emplace(resource.namespace_(), resource.id()).second) {
      targets.push_back(std::move(resource));
    }
  };

  for (const std::string& name : options.names) {
    auto found = FindByName(context, ns, name);
    if (!found.ok()) return found.status();
    if (found->size() > 1) return AmbiguousNameError(ns, name, *found, "delete one with --id");
    if (found->empty()) {
      missing.push_back(absl::StrCat("no resource named \"", name, "\" in namespace ", ns));
    } else {
      add(std::move(found->front()));
    }
  }
  for (const std::string& id_flag : options.ids) {
    auto id = ParseIdFlag(id_flag);
    if (!id.ok()) return id.status();
    auto resource = context.store.Get(ns, *id);
    if (absl::IsNotFound(resource.status())) {
      missing.push_back(absl::StrCat("no resource with id ", *id, " in namespace ", ns));
    } else if (!resource.ok()) {
      return resource.status();
    } else {
      add(std::move(*resource));
    }
  }
  if (!options.files.empty()) {
    auto documents = ReadInput(context, options.files, options.recursive);
    if (!documents.ok()) return documents.status();
    for (const Document& document : *documents) {
      auto resource = context.store.Get(document.resource.namespace_(), document.resource.id());
      if (absl::IsNotFound(resource.status())) {
        missing.push_back(absl::StrCat(Describe(context, document.resource), " of ",
                                       DocumentName(document.source), " does not exist"));
      } else if (!resource.ok()) {
        return resource.status();
      } else {
        add(std::move(*resource));
      }
    }
  }
  if (!missing.empty()) {
    if (!options.ignore_not_found) {
      return absl::NotFoundError(
          absl::StrCat(absl::StrJoin(missing, "\n"), "\nnothing was deleted"));
    }
    for (const std::string& line : missing) context.err << line << " (ignored)\n";
  }
  if (targets.empty()) {
    context.out << "nothing to delete\n";
    return absl::OkStatus();
  }

  svc::ApplyRequest request;
  svc::DropResourcesRequest* drop = nullptr;
  std::map<std::string, const Resource*> by_key;  // "ns/id"
  for (const Resource& resource : targets) {
    if (drop == nullptr || drop->namespace_() != resource.namespace_() ||
        static_cast<size_t>(drop->resource_ids_size()) >= kMaxDropIds) {
      drop = request.add_operations()->mutable_drop();
      drop->set_namespace_(resource.namespace_());
    }
    drop->add_resource_ids(resource.id());
    by_key[absl::StrCat(resource.namespace_(), "/", resource.id())] = &resource;
  }
  auto response = context.store.Apply(request);
  if (!response.ok()) return response.status();
  int deleted = 0;
  std::set<std::string> dropped;
  for (int i = 0; i < response->results_size(); ++i) {
    const auto& result = response->results(i).drop();
    const std::string& drop_ns = request.operations(i).drop().namespace_();
    for (const std::string& id : result.dropped_ids()) {
      std::string key = absl::StrCat(drop_ns, "/", id);
      dropped.insert(key);
      auto it = by_key.find(key);
      if (it == by_key.end()) continue;
      ++deleted;
      context.out << Describe(context, *it->second) << " deleted at revision " << result.revision()
                  << "\n";
    }
  }
  for (const Resource& resource : targets) {
    if (dropped.count(absl::StrCat(resource.namespace_(), "/", resource.id())) == 0) {
      context.out << Describe(context, resource) << " was already gone\n";
    }
  }
  if (response->revision() > 0) {
    context.out << "deleted " << deleted << " at revision " << response->revision() << "\n";
  }
  return absl::OkStatus();
}

}  // namespace protomesh::ctl
