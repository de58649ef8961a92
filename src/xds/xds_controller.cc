#include "src/xds/xds_controller.h"

#include <chrono>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"
#include "src/xds/translate/translator.h"

namespace protomesh::xds {

XdsController::XdsController(std::string namespace_, server::SnapshotCache* cache,
                             metrics::Registry& registry)
    : namespace_(std::move(namespace_)),
      cache_(cache),
      translation_errors_(
          registry
              .AddGauge("protomesh_xds_translation_errors",
                        "Store resources the last translation could not serve (each is logged "
                        "once when it first fails)")
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

  std::vector<protomesh::types::v1::Resource> resources;
  resources.reserve(resources_by_id_.size());
  for (const auto& [id, resource] : resources_by_id_) resources.push_back(resource);
  Translation translation = Translate(resources, batch.revision);
  cache_->Update(translation.snapshots);

  std::set<std::string> current;
  for (const TranslationError& error : translation.errors) {
    std::string key = absl::StrCat(error.namespace_, "/", error.name, " (", error.id,
                                   "): ", error.message);
    if (reported_.count(key) == 0 && current.count(key) == 0) {
      spdlog::warn("cannot serve {}", key);
    }
    current.insert(std::move(key));
  }
  for (const std::string& key : reported_) {
    if (current.count(key) == 0) spdlog::info("resolved: {}", key);
  }
  reported_ = std::move(current);

  translation_errors_.Set(static_cast<double>(translation.errors.size()));
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
                 translation.snapshots.size(), translation.errors.size(), millis);
  } else {
    spdlog::debug("namespace {}: revision {}: {} updated, {} dropped, {} node cluster(s), {} "
                  "error(s), translated in {:.1f} ms",
                  namespace_, batch.revision, batch.updated.size(), batch.dropped.size(),
                  translation.snapshots.size(), translation.errors.size(), millis);
  }
}

}  // namespace protomesh::xds
