#include <algorithm>
#include <map>
#include <regex>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "src/ctl/command_support.h"
#include "src/ctl/commands.h"
#include "src/ctl/document_loader.h"
#include "src/ctl/errors.h"
#include "src/ctl/type_filter.h"

namespace protomesh::ctl {
namespace {

using protomesh::types::v1::Resource;

// The store's limits: operations per Apply, ids per drop.
constexpr size_t kMaxOperations = 1000;
constexpr size_t kMaxDropIds = 1000;

bool SameContent(const Resource& a, const Resource& b) {
  return a.name() == b.name() && a.spec().type_url() == b.spec().type_url() &&
         a.spec().value() == b.spec().value();
}

absl::Status CheckPruneFlags(const ApplyOptions& options) {
  bool selector = !options.prune_types.empty() || !options.prune_prefix.empty();
  if (!options.prune) {
    if (selector || options.prune_all) {
      return UsageError("--prune-type, --prune-prefix and --prune-all only go with --prune");
    }
    return absl::OkStatus();
  }
  if (options.prune_all && selector) {
    return UsageError("--prune-all prunes by namespace alone: drop --prune-type and --prune-prefix, "
                      "or --prune-all");
  }
  if (!selector && !options.prune_all) {
    return UsageError(
        "--prune needs a selector, so that nothing is deleted by accident: --prune-type KIND, "
        "--prune-prefix NAME_PREFIX, or --prune-all for every resource of the namespace that the "
        "files do not contain");
  }
  return absl::OkStatus();
}

// A store error about operations[N] names the document it came from.
absl::Status AnnotateStoreError(const absl::Status& status, const std::vector<Document>& documents) {
  static const std::regex operation_re(R"(operations\[([0-9]+)\])");
  std::string message(status.message());
  std::smatch match;
  if (std::regex_search(message, match, operation_re)) {
    size_t index = std::stoul(match[1].str());
    if (index < documents.size()) {
      return absl::Status(status.code(), absl::StrCat(DocumentName(documents[index].source), " (line ",
                                                      documents[index].line, "): ", message));
    }
  }
  return status;
}

}  // namespace

absl::Status RunApply(CommandContext& context, const ApplyOptions& options) {
  if (auto status = CheckPruneFlags(options); !status.ok()) return status;
  auto filters = ResolveTypeFilters(options.prune_types, "--prune-type", context.registry);
  if (!filters.ok()) return filters.status();
  auto read = ReadInput(context, options.files, options.recursive);
  if (!read.ok()) return read.status();
  const std::vector<Document>& documents = *read;
  if (documents.empty() && !options.prune) {
    return absl::InvalidArgumentError(
        absl::StrCat("no resources in ", absl::StrJoin(options.files, ", ")));
  }

  // The namespaces the input touches (prune's scope); with no documents,
  // the namespace of the settings.
  std::set<std::string> namespaces;
  std::set<std::pair<std::string, std::string>> applied;  // (namespace, id)
  for (const Document& document : documents) {
    namespaces.insert(document.resource.namespace_());
    applied.emplace(document.resource.namespace_(), document.resource.id());
  }
  if (namespaces.empty()) namespaces.insert(context.settings.namespace_);

  // What the store holds, for --dry-run and --prune.
  std::map<std::string, std::map<std::string, Resource>> current;  // namespace -> id -> resource
  if (options.dry_run || options.prune) {
    for (const std::string& ns : namespaces) {
      auto listing = context.store.List(ns);
      if (!listing.ok()) return listing.status();
      for (Resource& resource : listing->resources) {
        std::string id = resource.id();
        current[ns].emplace(std::move(id), std::move(resource));
      }
    }
  }

  std::vector<Resource> prunes;
  if (options.prune) {
    for (const auto& [ns, resources] : current) {
      for (const auto& [id, resource] : resources) {
        if (applied.count({ns, id}) > 0) continue;
        if (!MatchesAny(*filters, resource, context.registry)) continue;
        if (!absl::StartsWith(resource.name(), options.prune_prefix)) continue;
        prunes.push_back(resource);
      }
    }
    std::sort(prunes.begin(), prunes.end(), [&](const Resource& a, const Resource& b) {
      return std::make_pair(a.namespace_(), context.codec.Label(a)) <
             std::make_pair(b.namespace_(), context.codec.Label(b));
    });
  }

  // One Apply: a put per document, then the prune drops (per namespace, at
  // most kMaxDropIds ids each), each a compare-and-swap against the listing
  // so that a resource changed meanwhile is not dropped blindly.
  svc::ApplyRequest request;
  for (const Document& document : documents) {
    *request.add_operations()->mutable_put()->mutable_resource() = document.resource;
  }
  std::map<std::string, const Resource*> pruned_by_id;  // "ns/id" -> resource
  svc::DropResourcesRequest* drop = nullptr;
  for (const Resource& resource : prunes) {
    if (drop == nullptr || drop->namespace_() != resource.namespace_() ||
        static_cast<size_t>(drop->resource_ids_size()) >= kMaxDropIds) {
      drop = request.add_operations()->mutable_drop();
      drop->set_namespace_(resource.namespace_());
    }
    drop->add_resource_ids(resource.id());
    (*drop->mutable_expected_revisions())[resource.id()] = resource.version().index();
    pruned_by_id[absl::StrCat(resource.namespace_(), "/", resource.id())] = &resource;
  }
  if (static_cast<size_t>(request.operations_size()) > kMaxOperations) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the input makes ", request.operations_size(), " operations (", documents.size(),
        " resources", prunes.empty() ? "" : " and the prune drops",
        "), and the store applies at most ", kMaxOperations,
        " in one transaction: split the input into several applies"));
  }

  int created = 0, updated = 0, unchanged = 0;
  if (options.dry_run) {
    for (const Document& document : documents) {
      const Resource& resource = document.resource;
      const auto& existing = current[resource.namespace_()];
      auto it = existing.find(resource.id());
      const char* outcome = "created";
      if (it == existing.end()) {
        ++created;
      } else if (SameContent(it->second, resource)) {
        outcome = "unchanged";
        ++unchanged;
      } else {
        outcome = "updated";
        ++updated;
      }
      context.out << Describe(context, resource) << " " << outcome << " (dry run)\n";
    }
    for (const Resource& resource : prunes) {
      context.out << Describe(context, resource) << " pruned (dry run)\n";
    }
    context.out << "dry run: " << created << " to create, " << updated << " to update, "
                << unchanged << " unchanged, " << prunes.size()
                << " to prune; nothing was written\n";
    return absl::OkStatus();
  }

  auto response = context.store.Apply(request);
  if (!response.ok()) return AnnotateStoreError(response.status(), documents);
  int pruned = 0;
  for (int i = 0; i < response->results_size(); ++i) {
    const svc::ApplyResult& result = response->results(i);
    if (result.has_put()) {
      const Resource& resource = documents[static_cast<size_t>(i)].resource;
      const svc::PutResourceResponse& put = result.put();
      const char* outcome = put.created() ? "created" : put.unchanged() ? "unchanged" : "updated";
      (put.created() ? created : put.unchanged() ? unchanged : updated)++;
      context.out << Describe(context, resource) << " " << outcome << " at revision "
                  << put.version().index() << "\n";
    } else if (result.has_drop()) {
      const std::string& ns = request.operations(i).drop().namespace_();
      for (const std::string& id : result.drop().dropped_ids()) {
        auto it = pruned_by_id.find(absl::StrCat(ns, "/", id));
        if (it == pruned_by_id.end()) continue;
        ++pruned;
        context.out << Describe(context, *it->second) << " pruned at revision "
                    << result.drop().revision() << "\n";
      }
    }
  }
  if (response->revision() > 0) {
    context.out << "applied at revision " << response->revision() << ": ";
  } else {
    context.out << "no changes: ";
  }
  context.out << created << " created, " << updated << " updated, " << unchanged << " unchanged, "
              << pruned << " pruned\n";
  return absl::OkStatus();
}

}  // namespace protomesh::ctl
