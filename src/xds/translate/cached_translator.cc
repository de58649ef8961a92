#include "src/xds/translate/cached_translator.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "src/xds/translate/internal.h"

namespace protomesh::xds {
namespace {

using translate::Inputs;
using translate::RawResource;
using translate::Typed;
using types::v1::Resource;

// What one node cluster's translation reads, pointing into the namespace's
// Inputs, each list in Classify's (claim) order.
struct Parts {
  std::vector<const Typed<types::v1::HttpIngress>*> ingresses;
  std::vector<const Typed<types::v1::Service>*> services;
  std::vector<const Typed<types::v1::RoutingPolicy>*> policies;
  std::vector<const RawResource*> raw;
  std::vector<const Typed<types::v1::InstanceSet>*> instance_sets;

  // The resources behind them, in a fixed order.
  std::vector<const Resource*> Sources() const {
    std::vector<const Resource*> sources;
    sources.reserve(ingresses.size() + services.size() + policies.size() + raw.size() +
                    instance_sets.size());
    for (const auto* x : ingresses) sources.push_back(x->resource);
    for (const auto* x : services) sources.push_back(x->resource);
    for (const auto* x : policies) sources.push_back(x->resource);
    for (const auto* x : raw) sources.push_back(x->resource);
    for (const auto* x : instance_sets) sources.push_back(x->resource);
    return sources;
  }

  Inputs Copy(const std::string& node_cluster) const {
    Inputs inputs;
    inputs.node_clusters.insert(node_cluster);
    for (const auto* x : ingresses) inputs.ingresses.push_back(*x);
    for (const auto* x : services) inputs.services.push_back(*x);
    for (const auto* x : policies) inputs.policies.push_back(*x);
    for (const auto* x : raw) inputs.raw.push_back(*x);
    for (const auto* x : instance_sets) inputs.instance_sets.push_back(*x);
    return inputs;
  }
};

}  // namespace

CachedTranslator::CachedTranslator() : specs_(std::make_unique<translate::ParsedSpecs>()) {}
CachedTranslator::~CachedTranslator() = default;
CachedTranslator::CachedTranslator(CachedTranslator&&) noexcept = default;
CachedTranslator& CachedTranslator::operator=(CachedTranslator&&) noexcept = default;

Translation CachedTranslator::Translate(const ResourceRefs& resources, int64_t revision) {
  translate::Errors errors;  // those of no node cluster: parsing, instance sets
  const Inputs all = translate::Classify(resources, errors, *specs_);

  std::map<std::string, Parts> parts;
  for (const std::string& node_cluster : all.node_clusters) parts[node_cluster];
  for (const auto& x : all.ingresses) parts[x.spec.xds_cluster_name()].ingresses.push_back(&x);
  for (const auto& x : all.services) parts[x.spec.xds_cluster_name()].services.push_back(&x);
  for (const auto& x : all.policies) parts[x.spec.xds_cluster_name()].policies.push_back(&x);
  for (const auto& x : all.raw) {
    if (!x.xds_cluster_name.empty()) {
      parts[x.xds_cluster_name].raw.push_back(&x);
    } else {
      for (auto& [node_cluster, part] : parts) part.raw.push_back(&x);
    }
  }

  // An instance set that cannot be served is reported once, here, and is
  // no node cluster's input; a valid one is an input of every node cluster
  // that could serve a name it matches.
  absl::flat_hash_map<std::string, std::vector<size_t>> sets_by_name;
  for (size_t i = 0; i < all.instance_sets.size(); ++i) {
    const auto& set = all.instance_sets[i];
    absl::Status status = translate::CheckInstanceSet(set.spec);
    if (!status.ok()) {
      errors.Report(*set.resource, std::string(status.message()));
      continue;
    }
    for (const std::string& name : set.spec.match_service_names()) sets_by_name[name].push_back(i);
  }
  for (auto& [node_cluster, part] : parts) {
    std::set<std::string> names;
    for (const auto* service : part.services) names.insert(service->spec.service_name());
    for (const auto* raw : part.raw) {
      if (raw->eds_name.has_value()) names.insert(*raw->eds_name);
    }
    std::vector<size_t> sets;
    for (const std::string& name : names) {
      auto it = sets_by_name.find(name);
      if (it != sets_by_name.end()) sets.insert(sets.end(), it->second.begin(), it->second.end());
    }
    std::sort(sets.begin(), sets.end());
    sets.erase(std::unique(sets.begin(), sets.end()), sets.end());
    for (size_t i : sets) part.instance_sets.push_back(&all.instance_sets[i]);
  }

  last_translated_.clear();
  std::map<std::string, NodeCluster> next;
  for (const auto& [node_cluster, part] : parts) {
    const std::vector<const Resource*> sources = part.Sources();
    auto cached = node_clusters_.find(node_cluster);
    const bool same =
        cached != node_clusters_.end() && cached->second.inputs.size() == sources.size() &&
        std::equal(sources.begin(), sources.end(), cached->second.inputs.begin(),
                   [](const Resource* r, const Input& in) {
                     return r->id() == in.id && r->name() == in.name &&
                            r->namespace_() == in.namespace_ &&
                            r->spec().type_url() == in.type_url && r->spec().value() == in.value;
                   });
    if (same) {
      next.emplace(node_cluster, std::move(cached->second));
      continue;
    }
    last_translated_.push_back(node_cluster);
    NodeCluster entry;
    entry.inputs.reserve(sources.size());
    for (const Resource* r : sources) {
      entry.inputs.push_back(
          Input{r->namespace_(), r->id(), r->name(), r->spec().type_url(), r->spec().value()});
    }
    translate::Nodes nodes;
    nodes[node_cluster];
    translate::Errors node_errors;
    translate::RunStages(part.Copy(node_cluster), nodes, node_errors);
    entry.snapshot = translate::Freeze(nodes[node_cluster]);
    entry.errors = node_errors.Take();
    next.emplace(node_cluster, std::move(entry));
  }
  node_clusters_ = std::move(next);

  Translation translation;
  translation.revision = revision;
  translation.errors = errors.Take();
  for (const auto& [node_cluster, entry] : node_clusters_) {
    translation.snapshots[node_cluster] = entry.snapshot;
    translation.errors.insert(translation.errors.end(), entry.errors.begin(), entry.errors.end());
  }
  return translation;
}

}  // namespace protomesh::xds
