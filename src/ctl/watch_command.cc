#include <algorithm>
#include <chrono>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "src/ctl/command_support.h"
#include "src/ctl/commands.h"
#include "src/ctl/errors.h"
#include "src/ctl/type_filter.h"
#include "src/ctl/yaml_json.h"

namespace protomesh::ctl {
namespace {

using protomesh::types::v1::Resource;

// Consecutive failed reconnects before giving up.
constexpr int kMaxReconnects = 5;

class EventPrinter {
 public:
  EventPrinter(CommandContext& context, OutputFormat format) : context_(context), format_(format) {}

  // One line per event, "REVISION EVENT kind/name"; or the document with
  // status.event.
  void Print(const Resource& resource, int64_t revision, const char* event) {
    if (format_ == OutputFormat::kTable) {
      context_.out << revision << " " << event << " " << context_.codec.Label(resource) << "\n";
    } else {
      auto document = context_.codec.Write(resource);
      if (!document.ok()) {
        context_.err << "warning: skipped " << document.status().message() << "\n";
        return;
      }
      (*document)["status"]["event"] = StringNode(event);
      if (format_ == OutputFormat::kYaml) {
        if (printed_ > 0) context_.out << "---\n";
        PrintYamlDocument(*document, context_.out);
      } else {
        PrintJsonLine(*document, context_.out);
      }
    }
    ++printed_;
    context_.out.flush();
  }

 private:
  CommandContext& context_;
  const OutputFormat format_;
  int printed_ = 0;
};

}  // namespace

absl::Status RunWatch(CommandContext& context, const WatchOptions& options) {
  auto format = ParseOutputFormat(options.output);
  if (!format.ok()) return format.status();
  auto filters = ResolveTypeFilters(options.types, "--type", context.registry);
  if (!filters.ok()) return filters.status();
  if (options.since.has_value() && *options.since < 0) {
    return UsageError("--since: a revision is 0 or more");
  }
  const std::string& ns = context.settings.namespace_;
  EventPrinter printer(context, *format);

  // Ids that exist, so that a change can say ADDED or MODIFIED. With
  // --since N they are the namespace as of N.
  std::set<std::string> known;
  if (options.since.has_value() && *options.since > 0) {
    auto listing = context.store.List(ns, TypeUrlsOf(*filters), "", *options.since);
    if (!listing.ok()) return listing.status();
    for (const Resource& resource : listing->resources) known.insert(resource.id());
  }

  std::optional<int64_t> resume_after = options.since;
  int failures = 0;
  for (;;) {
    svc::WatchResourcesRequest request;
    request.set_namespace_(ns);
    for (const std::string& url : TypeUrlsOf(*filters)) request.add_type_urls(url);
    if (resume_after.has_value()) request.set_resume_after_revision(*resume_after);
    bool replaying = resume_after.has_value();  // no state: changes, then end_of_list
    bool synced = false;
    std::vector<Resource> state;

    grpc::ClientContext call;
    auto reader = context.store.Watch(call, request);
    svc::WatchResourcesResponse response;
    while (reader->Read(&response)) {
      failures = 0;
      if (response.end_of_list()) {
        if (!synced) {
          std::sort(state.begin(), state.end(), [&](const Resource& a, const Resource& b) {
            return std::make_pair(a.version().index(), context.codec.Label(a)) <
                   std::make_pair(b.version().index(), context.codec.Label(b));
          });
          for (const Resource& resource : state) {
            printer.Print(resource, resource.version().index(), "ADDED");
          }
          state.clear();
          synced = true;
          context.err << "watching namespace " << ns << " at revision " << response.revision()
                      << "\n";
        }
        resume_after = response.revision();
        continue;
      }
      if (!synced && !replaying) {  // a page of the namespace's state
        for (Resource& resource : *response.mutable_updated_resources()) {
          if (!MatchesAny(*filters, resource, context.registry)) continue;
          known.insert(resource.id());
          state.push_back(std::move(resource));
        }
        continue;
      }
      // One revision's events, in label order.
      std::vector<std::pair<const Resource*, const char*>> events;
      for (const Resource& resource : response.updated_resources()) {
        if (!MatchesAny(*filters, resource, context.registry)) continue;
        bool added = known.insert(resource.id()).second;
        events.emplace_back(&resource, added ? "ADDED" : "MODIFIED");
      }
      for (const Resource& resource : response.dropped_resources()) {
        if (!MatchesAny(*filters, resource, context.registry)) continue;
        known.erase(resource.id());
        events.emplace_back(&resource, "DELETED");
      }
      std::sort(events.begin(), events.end(), [&](const auto& a, const auto& b) {
        return context.codec.Label(*a.first) < context.codec.Label(*b.first);
      });
      for (const auto& [resource, event] : events) printer.Print(*resource, response.revision(), event);
      resume_after = response.revision();
    }
    grpc::Status status = reader->Finish();
    // The store cuts off a watcher that fell behind (RESOURCE_EXHAUSTED) or
    // goes away (UNAVAILABLE): resume where we were, a few times.
    bool resumable = status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED ||
                     status.error_code() == grpc::StatusCode::UNAVAILABLE;
    if (status.ok() || !resumable || !resume_after.has_value() || ++failures > kMaxReconnects) {
      return status.ok() ? absl::OkStatus() : context.store.Error(status);
    }
    context.err << "watch ended (" << context.store.Error(status).message() << "); resuming after revision "
                << *resume_after << "\n";
    std::this_thread::sleep_for(std::chrono::milliseconds(250) * (1 << failures));
  }
}

}  // namespace protomesh::ctl
