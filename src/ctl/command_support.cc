#include "src/ctl/command_support.h"

#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "src/common/uuid.h"
#include "src/ctl/document_loader.h"
#include "src/ctl/errors.h"
#include "src/ctl/resource_id.h"

namespace protomesh::ctl {

using protomesh::types::v1::Resource;

absl::StatusOr<std::vector<Document>> ReadInput(CommandContext& context,
                                                const std::vector<std::string>& files,
                                                bool recursive) {
  auto sources = LoadDocuments(files, recursive, context.in);
  if (!sources.ok()) return sources.status();
  DocumentDefaults defaults;
  defaults.namespace_ = context.settings.namespace_;
  defaults.namespace_explicit = context.settings.namespace_from_flag;
  return context.codec.Read(*sources, defaults);
}

std::string Describe(const CommandContext& context, const Resource& resource) {
  return absl::StrCat(context.codec.Label(resource), " (ns ", resource.namespace_(), ")");
}

absl::StatusOr<std::vector<Resource>> FindByName(CommandContext& context, const std::string& ns,
                                                 const std::string& name) {
  auto listing = context.store.List(ns, {}, name);
  if (!listing.ok()) return listing.status();
  std::vector<Resource> found;
  for (Resource& resource : listing->resources) {
    if (resource.name() == name) found.push_back(std::move(resource));
  }
  return found;
}

absl::StatusOr<std::string> ParseIdFlag(const std::string& id) {
  auto parsed = uuid::Parse(id);
  if (!parsed.ok()) return UsageError(absl::StrCat("--id: ", parsed.status().message()));
  return uuid::Format(*parsed);
}

absl::Status AmbiguousNameError(const std::string& ns, const std::string& name,
                                const std::vector<Resource>& found, const std::string& remedy) {
  std::vector<std::string> ids;
  for (const Resource& resource : found) ids.push_back(resource.id());
  return UsageError(absl::StrCat("the name \"", name, "\" matches ", found.size(),
                                 " resources in namespace ", ns, " (ids ", absl::StrJoin(ids, ", "),
                                 "): ", remedy));
}

absl::StatusOr<std::string> ResolveId(CommandContext& context, const std::string& name,
                                      const std::string& id) {
  if (!id.empty()) return ParseIdFlag(id);
  const std::string& ns = context.settings.namespace_;
  auto found = FindByName(context, ns, name);
  if (!found.ok()) return found.status();
  if (found->size() > 1) return AmbiguousNameError(ns, name, *found, "give one with --id");
  if (found->size() == 1) return found->front().id();
  return DeriveResourceId(ns, name);
}

absl::Status PrintResources(CommandContext& context, const std::vector<Resource>& resources,
                            OutputFormat format, bool as_list) {
  if (format == OutputFormat::kTable) {
    Table table({"NAMESPACE", "NAME", "KIND", "ID", "REVISION", "AGE"});
    absl::Time now = absl::Now();
    for (const Resource& resource : resources) {
      table.AddRow({resource.namespace_(), resource.name(), context.codec.KindName(resource),
                    resource.id(), absl::StrCat(resource.version().index()),
                    AgeOf(resource.version().timestamp(), now)});
    }
    table.Print(context.out);
    return absl::OkStatus();
  }
  std::vector<YAML::Node> documents;
  int unprintable = 0;
  for (const Resource& resource : resources) {
    auto document = context.codec.Write(resource);
    if (!document.ok()) {
      context.err << "warning: skipped " << document.status().message() << "\n";
      ++unprintable;
      continue;
    }
    documents.push_back(*document);
  }
  if (format == OutputFormat::kYaml) {
    PrintYaml(documents, context.out);
  } else {
    PrintJson(documents, as_list, context.out);
  }
  if (unprintable > 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        unprintable, " resource(s) not printed: their spec types are not in the type registry"));
  }
  return absl::OkStatus();
}

}  // namespace protomesh::ctl
