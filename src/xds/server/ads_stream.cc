#include "src/xds/server/ads_stream.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <optional>
#include <set>
#include <string_view>
#include <vector>

#include <grpcpp/impl/codegen/proto_utils.h>

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"

namespace protomesh::xds::server {
namespace {

using envoy::config::core::v3::Node;
using envoy::service::discovery::v3::DeltaDiscoveryRequest;
using envoy::service::discovery::v3::DeltaDiscoveryResponse;
using envoy::service::discovery::v3::DiscoveryRequest;
using envoy::service::discovery::v3::DiscoveryResponse;
using Clock = std::chrono::steady_clock;

const ResourceListPtr& EmptyList() {
  static const ResourceListPtr empty = std::make_shared<const ResourceList>();
  return empty;
}

// The type a per-type service is restricted to, or -1 for ADS.
int OnlyType(ServiceKind service) {
  return service == ServiceKind::kAds ? -1 : static_cast<int>(service) - 1;
}

// Whether `list` (sorted by name) has a resource called `name`.
bool Contains(const ResourceList& list, const std::string& name) {
  auto it = std::lower_bound(list.begin(), list.end(), name,
                             [](const XdsResourcePtr& r, const std::string& n) { return r->name < n; });
  return it != list.end() && (*it)->name == name;
}

// What bringing a client from `have` to `want` takes: resources to add or
// update, resources to remove. Both lists are sorted by name.
struct Change {
  bool updates = false;
  bool removals = false;
};
Change Compare(const ResourceList& have, const ResourceList& want) {
  Change change;
  if (&have == &want) return change;
  size_t i = 0, j = 0;
  while ((i < have.size() || j < want.size()) && !(change.updates && change.removals)) {
    if (i < have.size() && j < want.size() && have[i] == want[j]) {
      // The same resource object: the same name and version.
      ++i;
      ++j;
    } else if (j == want.size() || (i < have.size() && have[i]->name < want[j]->name)) {
      change.removals = true;
      ++i;
    } else if (i == have.size() || want[j]->name < have[i]->name) {
      change.updates = true;
      ++j;
    } else {
      if (have[i]->version != want[j]->version) change.updates = true;
      ++i;
      ++j;
    }
  }
  return change;
}

// `want` plus what `have` has beyond it, at the version the client has:
// the make-before-break step that adds without removing.
ResourceListPtr KeepRemoved(const ResourceList& have, const ResourceListPtr& want) {
  auto merged = std::make_shared<ResourceList>();
  merged->reserve(std::max(have.size(), want->size()));
  size_t i = 0, j = 0;
  while (i < have.size() || j < want->size()) {
    if (j == want->size() || (i < have.size() && have[i]->name < (*want)[j]->name)) {
      merged->push_back(have[i++]);
    } else if (i == have.size() || (*want)[j]->name < have[i]->name) {
      merged->push_back((*want)[j++]);
    } else {
      merged->push_back((*want)[j++]);
      ++i;
    }
  }
  return merged;
}

// Per resource type, what the client asked for and what it was sent.
struct TypeState {
  bool subscribed = false;  // the client has requested the type
  bool wildcard = false;
  bool legacy_wildcard = false;  // SotW: wildcard by an empty first request
  std::set<std::string> names;   // explicit subscriptions
  // What the client has as far as we know, sorted by name: what it was last
  // sent (SotW), or the result of every response so far applied to its
  // initial_resource_versions (delta).
  ResourceListPtr sent = EmptyList();
  ServedTypePtr served;  // the snapshot's type `sent` was last brought up to date with
  bool dirty = false;    // something may need sending: the pending-push flag
  bool must_respond = false;  // the first request of the type waits for an answer
  std::vector<std::string> absent;  // delta: newly subscribed names to report as removed
  std::string sent_version;
  std::string sent_nonce;
  std::string answered_nonce;  // the last nonce ACKed or NACKed
  std::string acked_version;
  uint64_t acks = 0;
  uint64_t nacks = 0;
  bool rejected = false;
  std::string nack_error;
  std::string nack_version;
  std::string nack_nonce;
};

// A response to write: the message, and its bytes when it was serialized
// once for many streams (null: the writer serializes it). Either way it
// stays alive while held.
struct Outgoing {
  std::shared_ptr<const google::protobuf::Message> message;
  const grpc::ByteBuffer* bytes = nullptr;  // points into what `message` keeps alive
  explicit operator bool() const { return message != nullptr; }
};

// The reactor's side, as the stream sees it.
class StreamWriter {
 public:
  virtual void Write(const Outgoing& response) = 0;
  virtual void End(const grpc::Status& status) = 0;

 protected:
  ~StreamWriter() = default;
};

std::atomic<uint64_t> next_stream_id{1};

}  // namespace

class AdsStream final : public SnapshotWatcher, public std::enable_shared_from_this<AdsStream> {
 public:
  AdsStream(StreamRegistry* registry, ServiceKind service, Variant variant, std::string peer,
            StreamWriter* writer)
      : registry_(registry),
        metrics_(registry->metrics()),
        service_(service),
        variant_(variant),
        only_type_(OnlyType(service)),
        id_(next_stream_id.fetch_add(1)),
        peer_(std::move(peer)),
        writer_(writer) {
    metrics_->Streams(service_, variant_).Add(1);
  }

  // Called by the reactor once constructed; false if the stream is refused.
  bool Start() {
    if (registry_->Add(shared_from_this())) return true;
    EndWith(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the xDS server is shutting down"));
    return false;
  }

  // Returns whether to read the next request.
  template <typename Request>  // DiscoveryRequest or DeltaDiscoveryRequest
  bool OnRequest(const Request& request) {
    {
      absl::MutexLock lock(&mu_);
      if (finishing_) return false;
      if (AcceptNodeLocked(request.node())) {
        int type = ResolveTypeLocked(request.type_url());
        if (type >= 0) HandleLocked(request, type);
      }
    }
    Flush();
    absl::MutexLock lock(&mu_);
    return !finishing_;
  }

  // The client will send nothing more (half-close) or the call is gone.
  void OnReadsDone() { EndWith(grpc::Status::OK); }
  void OnCancel() { EndWith(grpc::Status(grpc::StatusCode::CANCELLED, "stream cancelled")); }

  void OnWriteDone(bool ok) {
    {
      absl::MutexLock lock(&mu_);
      in_flight_ = Outgoing{};
      if (!ok && !finishing_) {
        finishing_ = grpc::Status(grpc::StatusCode::CANCELLED, "stream closed");
      }
    }
    Flush();
  }

  // gRPC is done with the stream; the reactor is about to go.
  void OnDone() {
    std::string cluster;
    bool watching;
    {
      absl::MutexLock lock(&mu_);
      writer_ = nullptr;
      cluster = cluster_;
      watching = watching_;
      watching_ = false;
      for (int i = 0; i < kTypeCount; ++i) {
        if (types_[i].subscribed) metrics_->For(i, variant_).subscriptions->Add(-1);
      }
    }
    if (watching) registry_->cache()->Unwatch(cluster, this);
    registry_->Remove(this);
    metrics_->Streams(service_, variant_).Add(-1);
    spdlog::debug("xDS stream {} of node '{}' (cluster '{}') closed", id_, node_id_, cluster);
  }

  void OnSnapshot(const ServedSnapshotPtr& snapshot) override {
    {
      absl::MutexLock lock(&mu_);
      if (!writer_ || finishing_) return;
      if (!ApplySnapshotLocked(snapshot)) return;
    }
    Flush();
  }

  void EndWith(grpc::Status status) {
    {
      absl::MutexLock lock(&mu_);
      if (!finishing_) finishing_ = std::move(status);
    }
    Flush();
  }

  // Empty node id and cluster until the first request was accepted.
  StreamStatus Status() const {
    absl::MutexLock lock(&mu_);
    StreamStatus status;
    status.id = id_;
    status.node_id = node_id_;
    status.cluster = cluster_;
    status.service = ServiceName(service_);
    status.variant = VariantName(variant_);
    status.peer = peer_;
    status.writing = static_cast<bool>(in_flight_);
    for (int i = 0; i < kTypeCount; ++i) {
      const TypeState& t = types_[i];
      if (!t.subscribed) continue;
      status.pending = status.pending || t.dirty;
      TypeStatus& out = status.types.emplace_back();
      out.type_url = TypeOrder()[i];
      out.wildcard = t.wildcard;
      out.names.assign(t.names.begin(), t.names.end());
      out.sent_version = t.sent_version;
      out.sent_nonce = t.sent_nonce;
      out.acked_version = t.acked_version;
      out.acks = t.acks;
      out.nacks = t.nacks;
      out.rejected = t.rejected;
      out.last_nack_error = t.nack_error;
      out.last_nack_version = t.nack_version;
      out.last_nack_nonce = t.nack_nonce;
      out.resources.reserve(t.sent->size());
      for (const auto& resource : *t.sent) out.resources.emplace_back(resource->name, resource->version);
    }
    return status;
  }

 private:
  // The first request names the node; later ones need not. False (and the
  // stream finishing) when the first has no node.cluster.
  bool AcceptNodeLocked(const Node& node) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (watching_) return true;
    if (node.cluster().empty()) {
      metrics_->rejected_streams.WithLabels({"no_node_cluster"}).Increment();
      finishing_ = grpc::Status(
          grpc::StatusCode::INVALID_ARGUMENT,
          "the first request of an xDS stream must carry node.cluster: the server sends each "
          "node the resources whose xds_cluster_name is its cluster");
      return false;
    }
    node_id_ = node.id();
    cluster_ = node.cluster();
    watching_ = true;
    ApplySnapshotLocked(registry_->cache()->Watch(cluster_, shared_from_this()));
    spdlog::debug("xDS {} stream {} on {} from node '{}' (cluster '{}', {})",
                  VariantName(variant_), id_, ServiceName(service_), node_id_, cluster_, peer_);
    return true;
  }

  // The index of the request's type, or -1 to ignore the request (a type
  // this server does not serve) or when the stream is finishing (a type the
  // service does not carry).
  int ResolveTypeLocked(const std::string& type_url) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (only_type_ >= 0) {
      if (type_url.empty() || type_url == TypeOrder()[only_type_]) return only_type_;
      metrics_->rejected_streams.WithLabels({"wrong_type"}).Increment();
      finishing_ = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                absl::StrCat("this service serves only ", TypeOrder()[only_type_],
                                             ", not ", type_url));
      return -1;
    }
    if (type_url.empty()) {
      metrics_->rejected_streams.WithLabels({"no_type_url"}).Increment();
      finishing_ = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                "requests on the aggregated service must carry a type_url");
      return -1;
    }
    int type = TypeIndex(type_url);
    if (type < 0) {
      spdlog::debug("xDS stream {} of node '{}': ignoring a request for {}, which is not served",
                    id_, node_id_, type_url);
    }
    return type;
  }

  // ACK or NACK of the latest response of type `type`.
  void AnswerLocked(int type, const std::string& nonce, const google::rpc::Status* error)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    TypeState& t = types_[type];
    auto& m = metrics_->For(type, variant_);
    // A later request with the same nonce only changes the subscription.
    if (t.answered_nonce == nonce) return;
    t.answered_nonce = nonce;
    if (error) {
      ++t.nacks;
      m.nacks->Increment();
      t.rejected = true;
      t.nack_error = error->message();
      t.nack_version = t.sent_version;
      t.nack_nonce = nonce;
      spdlog::warn(
          "xDS NACK from node '{}' (cluster '{}') of {} version {} (nonce {}): {}; it keeps "
          "version '{}'",
          node_id_, cluster_, TypeOrder()[type], t.sent_version, nonce, error->message(),
          t.acked_version);
    } else {
      ++t.acks;
      m.acks->Increment();
      t.rejected = false;
      t.acked_version = t.sent_version;
    }
  }

  void SubscribeLocked(int type) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    types_[type].subscribed = true;
    types_[type].dirty = true;
    metrics_->For(type, variant_).subscriptions->Add(1);
  }

  void HandleLocked(const DiscoveryRequest& request, int type)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    TypeState& t = types_[type];
    const bool first = !t.subscribed;
    if (first) {
      SubscribeLocked(type);
      t.must_respond = true;
    } else if (request.response_nonce() != t.sent_nonce) {
      // Not an answer to the latest response, but its resource_names are
      // the client's subscription now: ignoring them could leave the
      // server believing the client holds a resource it has dropped.
      metrics_->For(type, variant_).stale_requests->Increment();
      spdlog::debug(
          "xDS stream {} of node '{}': stale nonce '{}' for {} (latest '{}'): not an ACK or "
          "NACK; its subscription applies",
          id_, node_id_, request.response_nonce(), request.type_url(), t.sent_nonce);
    } else {
      AnswerLocked(type, request.response_nonce(),
                   request.has_error_detail() ? &request.error_detail() : nullptr);
    }
    // The request carries the whole subscription. An ACK repeats it, so
    // the names are compared before anything is built from them.
    bool wildcard = false;
    std::vector<std::string_view> names(request.resource_names().begin(),
                                        request.resource_names().end());
    if (names.empty()) {
      // Empty names mean everything only while in legacy wildcard mode.
      wildcard = first || t.legacy_wildcard;
      t.legacy_wildcard = wildcard;
    } else {
      t.legacy_wildcard = false;
      std::sort(names.begin(), names.end());
      names.erase(std::unique(names.begin(), names.end()), names.end());
      if (auto star = std::lower_bound(names.begin(), names.end(), "*");
          star != names.end() && *star == "*") {
        wildcard = true;
        names.erase(star);
      }
    }
    const bool same_names =
        names.size() == t.names.size() && std::equal(names.begin(), names.end(), t.names.begin());
    if (wildcard != t.wildcard || !same_names) {
      t.wildcard = wildcard;
      if (!same_names) t.names = std::set<std::string>(names.begin(), names.end());
      DropUnsubscribedLocked(t);
      t.dirty = true;
    }
  }

  // The client drops what it does not subscribe to, including what it was
  // sent while unsubscribed: a name it subscribes to again must be sent
  // again.
  static void DropUnsubscribedLocked(TypeState& t) {
    if (t.wildcard) return;
    auto kept = std::make_shared<ResourceList>();
    for (const auto& resource : *t.sent) {
      if (t.names.count(resource->name)) kept->push_back(resource);
    }
    if (kept->size() != t.sent->size()) t.sent = std::move(kept);
  }

  void HandleLocked(const DeltaDiscoveryRequest& request, int type)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    TypeState& t = types_[type];
    if (!request.response_nonce().empty()) {
      if (t.subscribed && request.response_nonce() == t.sent_nonce) {
        AnswerLocked(type, request.response_nonce(),
                     request.has_error_detail() ? &request.error_detail() : nullptr);
      } else {
        metrics_->For(type, variant_).stale_requests->Increment();
        spdlog::debug("xDS stream {} of node '{}': stale nonce '{}' for {} (latest '{}')", id_,
                      node_id_, request.response_nonce(), request.type_url(), t.sent_nonce);
      }
    }
    if (!t.subscribed) {
      SubscribeLocked(type);
      // Legacy wildcard: the first request names nothing.
      t.wildcard = request.resource_names_subscribe().empty();
      if (request.initial_resource_versions().empty()) {
        t.must_respond = true;
      } else {
        // What the client kept from an earlier stream; only what differs
        // from it is sent.
        auto have = std::make_shared<ResourceList>();
        for (const auto& [name, version] : request.initial_resource_versions()) {
          have->push_back(std::make_shared<const XdsResource>(XdsResource{name, version, {}}));
        }
        std::sort(have->begin(), have->end(),
                  [](const XdsResourcePtr& a, const XdsResourcePtr& b) { return a->name < b->name; });
        t.sent = std::move(have);
      }
    }
    const ServedType& served = *snapshot_->types[type];
    for (const auto& name : request.resource_names_subscribe()) {
      t.dirty = true;
      if (name == "*") {
        t.wildcard = true;
        continue;
      }
      if (!t.names.insert(name).second) continue;
      // Unknown now: told so in removed_resources, remembered for later.
      if (!served.Find(name) && !Contains(*t.sent, name)) t.absent.push_back(name);
    }
    bool unsubscribed = false;
    for (const auto& name : request.resource_names_unsubscribe()) {
      unsubscribed = true;
      if (name == "*") {
        t.wildcard = false;
      } else {
        t.names.erase(name);
        t.absent.erase(std::remove(t.absent.begin(), t.absent.end(), name), t.absent.end());
      }
    }
    if (unsubscribed && !t.wildcard) {
      DropUnsubscribedLocked(t);
      t.dirty = true;
    }
  }

  // Adopts `snapshot` unless it is older than the one the stream has; true
  // if a subscribed type changed.
  bool ApplySnapshotLocked(const ServedSnapshotPtr& snapshot) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (snapshot_ && snapshot->generation <= snapshot_->generation) return false;
    snapshot_ = snapshot;
    bool changed = false;
    for (int i = 0; i < kTypeCount; ++i) {
      TypeState& t = types_[i];
      if (t.subscribed && t.served != snapshot->types[i]) {
        t.dirty = true;
        changed = true;
      }
    }
    if (changed && !push_since_) {
      push_since_ = snapshot->updated_at;
      push_wrote_ = false;
    }
    return changed;
  }

  // What the client should have of type `type` now.
  ResourceListPtr WantedLocked(int type) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const TypeState& t = types_[type];
    const ServedType& served = *snapshot_->types[type];
    if (t.wildcard) return served.resources;
    // Both are sorted by name: walk them together. Most streams subscribe
    // to everything there is (Envoy's EDS and RDS names are what its
    // clusters and listeners name), so a list of their own is only built
    // at the first served resource they lack.
    const ResourceList& all = *served.resources;
    std::shared_ptr<ResourceList> wanted;
    auto name = t.names.begin();
    for (size_t i = 0; i < all.size(); ++i) {
      int order = 1;  // of the next subscribed name against this resource's
      while (name != t.names.end() && (order = name->compare(all[i]->name)) < 0) ++name;
      const bool subscribed = name != t.names.end() && order == 0;
      if (subscribed && wanted) wanted->push_back(all[i]);
      if (!subscribed && !wanted) {
        wanted = std::make_shared<ResourceList>(all.begin(), all.begin() + static_cast<long>(i));
      }
    }
    // Everything of the type: share the snapshot's list.
    if (!wanted) return served.resources;
    return wanted;
  }

  // Delta: subscribed names that do not exist and the client has not yet
  // been told about.
  std::vector<std::string> AbsentLocked(int type, const ResourceList& wanted) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    std::vector<std::string> absent;
    for (const auto& name : types_[type].absent) {
      if (!Contains(wanted, name)) absent.push_back(name);
    }
    return absent;
  }

  // The next response to write, or null when every type is up to date.
  Outgoing NextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!snapshot_) return {};
    struct Plan {
      ResourceListPtr wanted;
      Change change;
    };
    std::array<std::optional<Plan>, kTypeCount> plans;
    for (int i = 0; i < kTypeCount; ++i) {
      TypeState& t = types_[i];
      if (!t.subscribed || !t.dirty) continue;
      ResourceListPtr wanted = WantedLocked(i);
      Change change = Compare(*t.sent, *wanted);
      if (t.must_respond) change.updates = true;
      if (variant_ == Variant::kDelta && !t.absent.empty() && !AbsentLocked(i, *wanted).empty()) {
        change.removals = true;
      }
      if (!change.updates && !change.removals) {
        // Up to date; a change of content without a change of set (same
        // names and versions) needs nothing either.
        t.dirty = false;
        t.served = snapshot_->types[i];
        t.absent.clear();
        continue;
      }
      plans[i] = Plan{std::move(wanted), change};
    }
    // Additions in TypeOrder, then removals in reverse.
    int pick = -1;
    bool keep_removed = false;
    for (int i = 0; i < kTypeCount && pick < 0; ++i) {
      if (plans[i] && plans[i]->change.updates) pick = i;
    }
    if (pick >= 0) {
      bool later_additions = false;
      for (int j = pick + 1; j < kTypeCount; ++j) {
        if (plans[j] && plans[j]->change.updates) later_additions = true;
      }
      keep_removed = later_additions && plans[pick]->change.removals;
    } else {
      for (int i = kTypeCount - 1; i >= 0 && pick < 0; --i) {
        if (plans[i] && plans[i]->change.removals) pick = i;
      }
    }
    if (pick < 0) return {};
    metrics_->For(pick, variant_).responses->Increment();
    if (variant_ == Variant::kSotw) return BuildSotwLocked(pick, plans[pick]->wanted, keep_removed);
    return {BuildDeltaLocked(pick, plans[pick]->wanted, keep_removed)};
  }

  Outgoing BuildSotwLocked(int type, const ResourceListPtr& wanted, bool keep_removed)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    TypeState& t = types_[type];
    const ServedTypePtr& served = snapshot_->types[type];
    ResourceListPtr next = keep_removed ? KeepRemoved(*t.sent, wanted) : wanted;
    std::shared_ptr<const DiscoveryResponse> response;
    const grpc::ByteBuffer* bytes = nullptr;
    if (next == served->resources) {
      // The whole type: one response shared by every such stream.
      std::shared_ptr<const SharedResponse> full = served->FullResponse();
      if (full->message->nonce() != t.sent_nonce) {
        response = std::shared_ptr<const DiscoveryResponse>(full, full->message.get());
        if (full->bytes.Valid()) bytes = &full->bytes;
      }
    }
    if (!response) {
      auto built = std::make_shared<DiscoveryResponse>();
      built->set_version_info(keep_removed ? absl::StrCat(served->version, "+kept-removed")
                                           : served->version);
      built->set_type_url(TypeOrder()[type]);
      built->set_nonce(NextNonce());
      built->mutable_resources()->Reserve(static_cast<int>(next->size()));
      for (const auto& resource : *next) *built->add_resources() = resource->resource;
      response = std::move(built);
    }
    t.sent = std::move(next);
    t.sent_version = response->version_info();
    t.sent_nonce = response->nonce();
    t.must_respond = false;
    if (!keep_removed) {
      t.dirty = false;
      t.served = served;
    }
    return {std::move(response), bytes};
  }

  std::shared_ptr<const google::protobuf::Message> BuildDeltaLocked(
      int type, const ResourceListPtr& wanted, bool keep_removed) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    TypeState& t = types_[type];
    const ServedTypePtr& served = snapshot_->types[type];
    ResourceListPtr next = keep_removed ? KeepRemoved(*t.sent, wanted) : wanted;
    auto response = std::make_shared<DeltaDiscoveryResponse>();
    response->set_system_version_info(served->version);
    response->set_type_url(TypeOrder()[type]);
    response->set_nonce(NextNonce());
    const ResourceList& have = *t.sent;
    size_t i = 0, j = 0;
    while (i < have.size() || j < next->size()) {
      if (j == next->size() || (i < have.size() && have[i]->name < (*next)[j]->name)) {
        response->add_removed_resources(have[i++]->name);
        continue;
      }
      const XdsResourcePtr& resource = (*next)[j];
      bool changed = i == have.size() || resource->name < have[i]->name ||
                     resource->version != have[i]->version;
      if (i < have.size() && resource->name == have[i]->name) ++i;
      ++j;
      if (!changed) continue;
      auto* out = response->add_resources();
      out->set_name(resource->name);
      out->set_version(resource->version);
      *out->mutable_resource() = resource->resource;
    }
    if (!keep_removed) {
      for (auto& name : AbsentLocked(type, *next)) response->add_removed_resources(std::move(name));
      t.absent.clear();
      t.dirty = false;
      t.served = served;
    }
    t.sent = std::move(next);
    t.sent_version = served->version;
    t.sent_nonce = response->nonce();
    t.must_respond = false;
    return response;
  }

  // Starts the next write, or finishes the stream, unless a write is in
  // flight. Never holds the lock while calling into gRPC, which may run
  // reactions inline.
  void Flush() {
    StreamWriter* writer = nullptr;
    Outgoing to_write;
    std::optional<grpc::Status> to_finish;
    std::optional<Clock::duration> push_latency;
    {
      absl::MutexLock lock(&mu_);
      if (!writer_ || in_flight_ || finish_called_) return;
      if (!finishing_) in_flight_ = NextLocked();
      if (in_flight_) {
        to_write = in_flight_;
        if (push_since_) push_wrote_ = true;
      } else if (finishing_) {
        finish_called_ = true;
        to_finish = finishing_;
      } else {
        // Up to date: the push of the latest update, if any, is complete.
        if (push_since_ && push_wrote_) push_latency = Clock::now() - *push_since_;
        push_since_.reset();
      }
      writer = writer_;
    }
    if (push_latency) {
      metrics_->push_seconds.Observe(std::chrono::duration<double>(*push_latency).count());
    }
    if (to_write) {
      writer->Write(to_write);
    } else if (to_finish) {
      if (!to_finish->ok()) {
        spdlog::debug("xDS stream {} of node '{}' ends: {}", id_, node_id_,
                      to_finish->error_message());
      }
      writer->End(*to_finish);
    }
  }

  StreamRegistry* const registry_;
  XdsServerMetrics* const metrics_;
  const ServiceKind service_;
  const Variant variant_;
  const int only_type_;
  const uint64_t id_;
  const std::string peer_;

  mutable absl::Mutex mu_;  // guards everything below
  StreamWriter* writer_ ABSL_GUARDED_BY(mu_);  // null once gRPC is done with the stream
  bool watching_ ABSL_GUARDED_BY(mu_) = false;  // the node was accepted
  std::string node_id_ ABSL_GUARDED_BY(mu_);
  std::string cluster_ ABSL_GUARDED_BY(mu_);
  ServedSnapshotPtr snapshot_ ABSL_GUARDED_BY(mu_);
  std::array<TypeState, kTypeCount> types_ ABSL_GUARDED_BY(mu_);
  Outgoing in_flight_ ABSL_GUARDED_BY(mu_);
  // The update time of the oldest snapshot not yet fully pushed, and
  // whether anything was written for it.
  std::optional<Clock::time_point> push_since_ ABSL_GUARDED_BY(mu_);
  bool push_wrote_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<grpc::Status> finishing_ ABSL_GUARDED_BY(mu_);
  bool finish_called_ ABSL_GUARDED_BY(mu_) = false;
};

namespace {

// gRPC's side of one stream. The methods are registered raw (bytes in and
// out), so that a response serialized once is written to every stream as
// it is.
template <typename Request>
class Reactor final : public RawStreamReactor, public StreamWriter {
 public:
  Reactor(grpc::CallbackServerContext* context, StreamRegistry* registry, ServiceKind service,
          Variant variant)
      : stream_(std::make_shared<AdsStream>(registry, service, variant, context->peer(), this)) {
    if (stream_->Start()) this->StartRead(&in_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      stream_->OnReadsDone();
      return;
    }
    bool more = false;
    {
      // Envoy sends its node, extensions and all, on every request: the
      // request is parsed here and kept no longer than it is handled.
      Request request;
      if (grpc::SerializationTraits<Request>::Deserialize(&in_, &request).ok()) {
        more = stream_->OnRequest(request);
      } else {
        stream_->EndWith(grpc::Status(
            grpc::StatusCode::INVALID_ARGUMENT,
            absl::StrCat("a request is not a valid ", Request::descriptor()->full_name())));
      }
    }
    if (more) this->StartRead(&in_);
  }
  void OnWriteDone(bool ok) override {
    out_.Clear();
    stream_->OnWriteDone(ok);
  }
  void OnCancel() override { stream_->OnCancel(); }
  void OnDone() override {
    stream_->OnDone();
    delete this;
  }

  void Write(const Outgoing& response) override {
    if (response.bytes) {
      out_ = *response.bytes;  // references the shared bytes, copies none
    } else {
      bool own_buffer;
      grpc::Status status = grpc::SerializationTraits<google::protobuf::Message>::Serialize(
          *response.message, &out_, &own_buffer);
      if (!status.ok()) {
        stream_->EndWith(grpc::Status(
            grpc::StatusCode::INTERNAL,
            absl::StrCat("a response could not be serialized: ", status.error_message())));
        stream_->OnWriteDone(false);
        return;
      }
    }
    this->StartWrite(&out_);
  }
  void End(const grpc::Status& status) override { this->Finish(status); }

 private:
  grpc::ByteBuffer in_;   // the request being read
  grpc::ByteBuffer out_;  // the response being written
  std::shared_ptr<AdsStream> stream_;
};

}  // namespace

bool StreamRegistry::Add(const std::shared_ptr<AdsStream>& stream) {
  absl::MutexLock lock(&mu_);
  if (shutting_down_) return false;
  streams_.emplace(stream.get(), stream);
  return true;
}

void StreamRegistry::Remove(const AdsStream* stream) {
  absl::MutexLock lock(&mu_);
  streams_.erase(stream);
}

size_t StreamRegistry::size() const {
  absl::MutexLock lock(&mu_);
  return streams_.size();
}

std::vector<StreamStatus> StreamRegistry::Status() const {
  std::vector<std::shared_ptr<AdsStream>> streams;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [key, stream] : streams_) streams.push_back(stream);
  }
  std::vector<StreamStatus> out;
  for (const auto& stream : streams) {
    StreamStatus status = stream->Status();
    if (!status.cluster.empty()) out.push_back(std::move(status));
  }
  std::sort(out.begin(), out.end(),
            [](const StreamStatus& a, const StreamStatus& b) { return a.id < b.id; });
  return out;
}

void StreamRegistry::Shutdown(const grpc::Status& status) {
  std::vector<std::shared_ptr<AdsStream>> streams;
  {
    absl::MutexLock lock(&mu_);
    shutting_down_ = true;
    for (const auto& [key, stream] : streams_) streams.push_back(stream);
  }
  for (const auto& stream : streams) stream->EndWith(status);
}

RawStreamReactor* StartSotwStream(grpc::CallbackServerContext* context, StreamRegistry* registry,
                                  ServiceKind service) {
  return new Reactor<DiscoveryRequest>(context, registry, service, Variant::kSotw);
}

RawStreamReactor* StartDeltaStream(grpc::CallbackServerContext* context, StreamRegistry* registry,
                                   ServiceKind service) {
  return new Reactor<DeltaDiscoveryRequest>(context, registry, service, Variant::kDelta);
}

}  // namespace protomesh::xds::server
