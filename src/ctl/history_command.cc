#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "src/ctl/command_support.h"
#include "src/ctl/commands.h"
#include "src/ctl/errors.h"
#include "src/ctl/yaml_json.h"

namespace protomesh::ctl {
namespace {

using protomesh::types::v1::Resource;

absl::Status CheckTarget(const std::string& name, const std::string& id, const char* command) {
  if (name.empty() == id.empty()) {
    return UsageError(absl::StrCat(command, " takes a NAME or --id ID (one of them)"));
  }
  return absl::OkStatus();
}

std::string Target(const std::string& name, const std::string& id) {
  return name.empty() ? absl::StrCat("id ", id) : absl::StrCat("\"", name, "\"");
}

}  // namespace

absl::Status RunHistory(CommandContext& context, const HistoryOptions& options) {
  if (auto status = CheckTarget(options.name, options.id, "history"); !status.ok()) return status;
  auto format = ParseOutputFormat(options.output);
  if (!format.ok()) return format.status();
  const std::string& ns = context.settings.namespace_;
  auto id = ResolveId(context, options.name, options.id);
  if (!id.ok()) return id.status();
  auto changes = context.store.History(ns, *id);
  if (absl::IsNotFound(changes.status())) {
    return absl::NotFoundError(
        absl::StrCat("no history for ", Target(options.name, *id), " in namespace ", ns));
  }
  if (!changes.ok()) return changes.status();

  // What each change did. Newest first: a put is "created" when the change
  // before it is a drop, or when the resource did not exist just before it;
  // for the oldest change kept, the store is asked. "changed" when that
  // revision is compacted away.
  std::vector<std::string> what(changes->size());
  for (size_t i = 0; i < changes->size(); ++i) {
    const svc::ResourceChange& change = (*changes)[i];
    if (change.dropped()) {
      what[i] = "deleted";
    } else if (i + 1 < changes->size()) {
      what[i] = (*changes)[i + 1].dropped() ? "created" : "updated";
    } else {
      int64_t before = change.resource().version().index() - 1;
      auto previous = context.store.Get(ns, *id, before);
      if (before <= 0 || absl::IsNotFound(previous.status())) {
        what[i] = "created";
      } else if (previous.ok()) {
        what[i] = "updated";
      } else if (absl::IsOutOfRange(previous.status())) {
        what[i] = "changed";
      } else {
        return previous.status();
      }
    }
  }

  if (*format == OutputFormat::kTable) {
    Table table({"REVISION", "CHANGE", "TIMESTAMP", "KIND", "NAME"});
    for (size_t i = 0; i < changes->size(); ++i) {
      const Resource& resource = (*changes)[i].resource();
      table.AddRow({absl::StrCat(resource.version().index()), what[i],
                    google::protobuf::util::TimeUtil::ToString(resource.version().timestamp()),
                    context.codec.KindName(resource), resource.name()});
    }
    table.Print(context.out);
    return absl::OkStatus();
  }
  std::vector<YAML::Node> documents;
  for (size_t i = 0; i < changes->size(); ++i) {
    auto document = context.codec.Write((*changes)[i].resource());
    if (!document.ok()) return document.status();
    (*document)["status"]["change"] = StringNode(what[i]);
    documents.push_back(*document);
  }
  if (*format == OutputFormat::kYaml) {
    PrintYaml(documents, context.out);
  } else {
    PrintJson(documents, /*as_list=*/true, context.out);
  }
  return absl::OkStatus();
}

absl::Status RunRollback(CommandContext& context, const RollbackOptions& options) {
  if (auto status = CheckTarget(options.name, options.id, "rollback"); !status.ok()) return status;
  if (options.to_revision <= 0) return UsageError("--to-revision: a revision is 1 or more");
  const std::string& ns = context.settings.namespace_;
  auto id = ResolveId(context, options.name, options.id);
  if (!id.ok()) return id.status();

  auto old = context.store.Get(ns, *id, options.to_revision);
  if (absl::IsNotFound(old.status())) {
    return absl::NotFoundError(absl::StrCat(
        Target(options.name, *id), " did not exist in namespace ", ns, " at revision ",
        options.to_revision, "; protomeshctl history lists its versions"));
  }
  if (absl::IsOutOfRange(old.status())) {
    return absl::NotFoundError(absl::StrCat("revision ", options.to_revision,
                                            " cannot be read: ", old.status().message()));
  }
  if (!old.ok()) return old.status();

  // Compare-and-swap against the current version, so that a change made
  // meanwhile is not overwritten unseen.
  svc::ApplyRequest request;
  svc::PutResourceRequest* put = request.add_operations()->mutable_put();
  auto current = context.store.Get(ns, *id);
  if (current.ok()) {
    put->set_expected_revision(current->version().index());
  } else if (absl::IsNotFound(current.status())) {
    put->set_expected_revision(0);
  } else {
    return current.status();
  }
  Resource* resource = put->mutable_resource();
  resource->set_namespace_(ns);
  resource->set_id(*id);
  resource->set_name(old->name());
  *resource->mutable_spec() = old->spec();

  auto response = context.store.Apply(request);
  if (absl::IsAborted(response.status())) {
    return absl::AbortedError(absl::StrCat(response.status().message(),
                                           "\nit changed while rolling back; nothing was written"));
  }
  if (!response.ok()) return response.status();
  const svc::PutResourceResponse& result = response->results(0).put();
  const char* outcome = result.created() ? "created" : result.unchanged() ? "unchanged" : "updated";
  context.out << Describe(context, *resource) << " rolled back to revision " << options.to_revision
              << ": " << outcome << " at revision " << result.version().index() << "\n";
  return absl::OkStatus();
}

}  // namespace protomesh::ctl
