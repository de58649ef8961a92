#include "src/xds/xds_controller.h"

#include <chrono>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"

namespace protomesh::xds {

XdsController::XdsController(std::string namespace_, server::SnapshotCache* cache,
                             metrics::Registry& registry)
    : namespace_(std::move(namespace_)),
      cache_(cache),
      translation_errors_(
          registry
              .AddGauge("protomesh_xds_translation_errors",
                        "Problems the last translation found with store resources (each is "
                        "logged once when it first appears; protomeshctl xds-status lists them)")
              .Get()),
      resources_(registry
                     .AddGauge("protomesh_xds_store_resources",
                               "Store resources of the watched namespace held by the xDS server")
                     .Get()),
      revision_gauge_(registry
                          .AddGauge("protomesh_xds_store_revision",
                                    "Store revision of the last change applied")
                          .Get()),
      translations_(registry
                        .AddCounter("protomesh_xds_translations_total",
                                    "Translations of the namespace (one per store batch)")
                        .Get()) {}

size_t XdsController::resource_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return resources_by_id_.size();
}

std::vector<ResourceIssue> XdsController::issues() const {
  std::lock_guard<std::mutex> lock(mu_);
  return issues_;
}

void XdsController::Apply(const client::WatchBatch& batch) {
  std::lock_guard<std::mutex> lock(mu_);
  const auto started = std::chrono::steady_clock::now();
  if (batch.kind == client::WatchBatch::Kind::kSnapshot) {
    resources_by_id_.clear();
    for (const auto& resource : batch.updated) resources_by_id_[resource.id()] = resource;
  } else {
    for (const auto& resource : batch.dropped) resources_by_id_.erase(resource.id());
    for (const auto& resource : batch.updated) resources_by_id_[resource.id()] = resource;
  }

  ResourceRefs resources;
  resources.reserve(resources_by_id_.size());
  for (const auto& [id, resource] : resources_by_id_) resources.push_back(&resource);
  CheckedTranslation checked = translator_.Translate(resources, batch.revision);
  const Translation& translation = checked.translation;
  cache_->Update(translation.snapshots);

  std::set<std::string> current;
  for (const ResourceIssue& issue : checked.issues) {
    std::string line = absl::StrCat(issue.namespace_, "/", issue.name, " (", issue.id,
                                    ") at revision ", issue.revision, ": ", issue.message);
    if (issue.serving_revision != 0) {
      absl::StrAppend(&line, "; serving its last good version, revision ", issue.serving_revision);
    }
    if (reported_.count(line) == 0 && current.count(line) == 0) {
      spdlog::warn("cannot serve {}", line);
    }
    current.insert(std::move(line));
  }
  for (const std::string& line : reported_) {
    if (current.count(line) == 0) spdlog::info("resolved: {}", line);
  }
  reported_ = std::move(current);
  issues_ = std::move(checked.issues);

  translation_errors_.Set(static_cast<double>(issues_.size()));
  resources_.Set(static_cast<double>(resources_by_id_.size()));
  revision_gauge_.Set(static_cast<double>(batch.revision));
  translations_.Increment();
  revision_ = batch.revision;
  const bool first = !synced_.exchange(true);
  const double millis =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  if (first || batch.kind == client::WatchBatch::Kind::kSnapshot) {
    spdlog::info("namespace {}: snapshot at revision {}: {} resource(s), {} node cluster(s), {} "
                 "error(s), translated in {:.1f} ms",
                 namespace_, batch.revision, resources_by_id_.size(),
                 translation.snapshots.size(), issues_.size(), millis);
  } else {
    spdlog::debug("namespace {}: revision {}: {} updated, {} dropped, {} node cluster(s), {} "
                  "error(s), translated in {:.1f} ms",
                  namespace_, batch.revision, batch.updated.size(), batch.dropped.size(),
                  translation.snapshots.size(), issues_.size(), millis);
  }
}

}  // namespace protomesh::xds
