#include "src/xds/server/snapshot_cache.h"

#include <algorithm>
#include <atomic>
#include <utility>

#include <grpcpp/impl/codegen/proto_utils.h>

#include "absl/strings/str_cat.h"
#include "envoy/service/discovery/v3/discovery.pb.h"
#include "src/xds/server/xds_server_metrics.h"

namespace protomesh::xds::server {
namespace {

using envoy::service::discovery::v3::DiscoveryResponse;

// FNV-1a, 64 bits: stable across processes, unlike std::hash.
void Fnv(uint64_t& hash, std::string_view bytes) {
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  hash ^= 0xff;  // separator, so ("ab","c") and ("a","bc") differ
  hash *= 1099511628211ULL;
}

// The version of a type the translator did not give one: a hash of the
// names and versions of its resources.
std::string HashVersion(const std::map<std::string, XdsResourcePtr>& resources) {
  uint64_t hash = 14695981039346656037ULL;
  for (const auto& [name, resource] : resources) {
    Fnv(hash, name);
    Fnv(hash, resource ? resource->version : std::string());
  }
  return absl::StrCat("h", absl::Hex(hash, absl::kZeroPad16));
}

// `source` served as of `generation`; types whose version equals the one in
// `previous` are taken from it. Returns `previous` itself when nothing
// changed.
ServedSnapshotPtr Serve(const NodeSnapshot& source, const ServedSnapshotPtr& previous,
                        uint64_t generation, std::chrono::steady_clock::time_point now) {
  static const std::map<std::string, XdsResourcePtr> kNone;
  auto served = std::make_shared<ServedSnapshot>();
  served->generation = generation;
  served->updated_at = now;
  bool changed = previous == nullptr;
  for (int i = 0; i < kTypeCount; ++i) {
    const std::string& type_url = TypeOrder()[i];
    auto found = source.resources.find(type_url);
    const auto& resources = found == source.resources.end() ? kNone : found->second;
    auto given = source.type_versions.find(type_url);
    std::string version = given != source.type_versions.end() && !given->second.empty()
                              ? given->second
                              : HashVersion(resources);
    if (previous && previous->types[i]->version == version) {
      served->types[i] = previous->types[i];
      continue;
    }
    changed = true;
    auto type = std::make_shared<ServedType>();
    type->type_url = type_url;
    type->version = std::move(version);
    // A resource whose version did not change keeps the object the streams
    // already hold: they tell it unchanged by pointer, and the copy the
    // translator made goes.
    static const ResourceList kEmpty;
    const ResourceList& before = previous ? *previous->types[i]->resources : kEmpty;
    auto list = std::make_shared<ResourceList>();
    list->reserve(resources.size());
    size_t k = 0;
    for (const auto& [name, resource] : resources) {
      if (!resource) continue;
      while (k < before.size() && before[k]->name < resource->name) ++k;
      const bool unchanged = k < before.size() && before[k]->name == resource->name &&
                             before[k]->version == resource->version;
      list->push_back(unchanged ? before[k] : resource);
    }
    type->resources = std::move(list);
    served->types[i] = std::move(type);
  }
  return changed ? served : previous;
}

}  // namespace

int TypeIndex(std::string_view type_url) {
  const auto& order = TypeOrder();
  for (int i = 0; i < kTypeCount; ++i) {
    if (order[i] == type_url) return i;
  }
  return -1;
}

XdsResourcePtr ServedType::Find(std::string_view name) const {
  auto it = std::lower_bound(resources->begin(), resources->end(), name,
                             [](const XdsResourcePtr& r, std::string_view n) { return r->name < n; });
  if (it == resources->end() || (*it)->name != name) return nullptr;
  return *it;
}

SharedResponse::SharedResponse(std::unique_ptr<const DiscoveryResponse> message)
    : message(std::move(message)) {
  bool own_buffer;
  // Fails only for a message over 2 GB; `bytes` then stays invalid and a
  // stream writes `message` itself, which fails the write.
  grpc::SerializationTraits<DiscoveryResponse>::Serialize(*this->message, &bytes, &own_buffer)
      .IgnoreError();
}

std::shared_ptr<const SharedResponse> ServedType::FullResponse() const {
  std::call_once(full_response_once_, [this] {
    auto response = std::make_unique<DiscoveryResponse>();
    response->set_version_info(version);
    response->mutable_resources()->Reserve(static_cast<int>(resources->size()));
    for (const auto& resource : *resources) *response->add_resources() = resource->resource;
    response->set_type_url(type_url);
    response->set_nonce(NextNonce());
    full_response_ = std::make_shared<const SharedResponse>(std::move(response));
  });
  return full_response_;
}

std::string NextNonce() {
  static std::atomic<uint64_t> next{1};
  return absl::StrCat(next.fetch_add(1, std::memory_order_relaxed));
}

SnapshotCache::SnapshotCache(XdsServerMetrics* metrics)
    : metrics_(metrics), empty_(Serve(NodeSnapshot{}, nullptr, 0, {})) {}

void SnapshotCache::Update(const std::map<std::string, NodeSnapshotPtr>& snapshots) {
  absl::MutexLock serialize(&update_mu_);
  const auto now = std::chrono::steady_clock::now();
  std::vector<std::pair<std::shared_ptr<SnapshotWatcher>, ServedSnapshotPtr>> notify;
  {
    absl::MutexLock lock(&mu_);
    const uint64_t generation = ++generation_;
    auto install = [&](Entry& entry, const NodeSnapshot& source) {
      ServedSnapshotPtr served = Serve(source, entry.snapshot, generation, now);
      if (served == entry.snapshot) return;
      entry.snapshot = served;
      for (const auto& [key, watcher] : entry.watchers) notify.emplace_back(watcher, served);
    };
    for (auto& [cluster, entry] : entries_) entry.translated = false;
    for (const auto& [cluster, snapshot] : snapshots) {
      Entry& entry = entries_[cluster];
      entry.translated = true;
      if (!entry.snapshot) entry.snapshot = empty_;
      install(entry, snapshot ? *snapshot : NodeSnapshot{});
    }
    for (auto it = entries_.begin(); it != entries_.end();) {
      Entry& entry = it->second;
      if (!entry.translated) {
        if (entry.watchers.empty()) {
          entries_.erase(it++);
          continue;
        }
        install(entry, NodeSnapshot{});
      }
      ++it;
    }
    if (metrics_) {
      metrics_->snapshot_updates.Increment();
      metrics_->node_clusters.Set(static_cast<double>(snapshots.size()));
    }
  }
  // Outside the data lock: a watcher may watch or unwatch from here.
  for (const auto& [watcher, snapshot] : notify) watcher->OnSnapshot(snapshot);
}

ServedSnapshotPtr SnapshotCache::Watch(const std::string& node_cluster,
                                       std::shared_ptr<SnapshotWatcher> watcher) {
  absl::MutexLock lock(&mu_);
  Entry& entry = entries_[node_cluster];
  if (!entry.snapshot) entry.snapshot = empty_;
  const SnapshotWatcher* key = watcher.get();
  entry.watchers.emplace(key, std::move(watcher));
  return entry.snapshot;
}

void SnapshotCache::Unwatch(const std::string& node_cluster, const SnapshotWatcher* watcher) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(node_cluster);
  if (it == entries_.end()) return;
  it->second.watchers.erase(watcher);
  if (it->second.watchers.empty() && !it->second.translated) entries_.erase(it);
}

ServedSnapshotPtr SnapshotCache::Get(const std::string& node_cluster) const {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(node_cluster);
  return it == entries_.end() ? empty_ : it->second.snapshot;
}

}  // namespace protomesh::xds::server
