#include "bench/ads_client.h"

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <vector>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include "absl/strings/str_cat.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "src/xds/xds_snapshot.h"

namespace protomesh::bench {
namespace {

namespace discovery = envoy::service::discovery::v3;
using envoy::config::cluster::v3::Cluster;
using envoy::config::listener::v3::Listener;
using envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager;
using google::protobuf::Any;
using google::protobuf::internal::WireFormatLite;

using Names = std::set<std::string>;

int TypeOf(const std::string& type_url) {
  const auto& order = xds::TypeOrder();
  for (int i = 0; i < kAdsTypes; ++i) {
    if (order[i] == type_url) return i;
  }
  return -1;
}

// The string field `field` of a serialized message, read without parsing
// the rest (every resource type names itself in field 1). Envoy parses
// everything; the benchmark keeps its own CPU for the server.
std::string StringField(const std::string& bytes, int field) {
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                                            static_cast<int>(bytes.size()));
  while (uint32_t tag = in.ReadTag()) {
    if (WireFormatLite::GetTagFieldNumber(tag) == field &&
        WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      std::string value;
      if (WireFormatLite::ReadString(&in, &value)) return value;
      return "";
    }
    if (!WireFormatLite::SkipField(&in, tag)) break;
  }
  return "";
}

// What a resource makes Envoy subscribe to: a cluster's EDS name, a
// listener's route configuration names.
Names Implied(int type, const Any& resource) {
  Names names;
  if (type == kCds) {
    Cluster cluster;
    if (resource.UnpackTo(&cluster) && cluster.type() == Cluster::EDS) {
      const std::string& service = cluster.eds_cluster_config().service_name();
      names.insert(service.empty() ? cluster.name() : service);
    }
  } else if (type == kLds) {
    Listener listener;
    if (!resource.UnpackTo(&listener)) return names;
    auto add = [&](const Any& config) {
      HttpConnectionManager hcm;
      if (config.UnpackTo(&hcm) && hcm.has_rds()) names.insert(hcm.rds().route_config_name());
    };
    for (const auto& chain : listener.filter_chains()) {
      for (const auto& filter : chain.filters()) add(filter.typed_config());
    }
    if (listener.has_api_listener()) add(listener.api_listener().api_listener());
  }
  return names;
}

// The type that `type`'s resources make Envoy subscribe to, or -1.
int DependentType(int type) {
  if (type == kCds) return kEds;
  if (type == kLds) return kRds;
  return -1;
}

template <typename Request, typename Response>
class EnvoyStream final : public SimulatedEnvoy,
                          public grpc::ClientBidiReactor<Request, Response> {
 public:
  static constexpr bool kDelta = std::is_same_v<Request, discovery::DeltaDiscoveryRequest>;

  EnvoyStream(discovery::AggregatedDiscoveryService::Stub* stub, const std::string& node_id,
              const std::string& node_cluster) {
    node_.set_id(node_id);
    node_.set_cluster(node_cluster);
    node_.set_user_agent_name("envoy");
    node_.mutable_locality()->set_region("bench");
    if constexpr (kDelta) {
      stub->async()->DeltaAggregatedResources(&context_, this);
    } else {
      stub->async()->StreamAggregatedResources(&context_, this);
    }
    {
      std::lock_guard lock(mu_);
      // Envoy starts with CDS and LDS, both wildcard.
      QueueLocked(NewRequest(kCds), -1, "", 0);
      QueueLocked(NewRequest(kLds), -1, "", 0);
    }
    WriteNext();
    this->StartRead(&response_);
    this->StartCall();
  }

  ~EnvoyStream() override {
    context_.TryCancel();
    std::unique_lock lock(mu_);
    done_cv_.wait(lock, [&] { return done_; });
  }

  bool synced() const override {
    std::lock_guard lock(mu_);
    for (int t = 0; t < kAdsTypes; ++t) {
      const TypeState& s = types_[t];
      if (s.acks == 0 || s.acked_seq != s.response_seq) return false;
    }
    for (int t : {kEds, kRds}) {
      if (types_[t].have != types_[t].subscribed) return false;
    }
    return types_[kEds].subscribed == ImpliedLocked(kCds) &&
           types_[kRds].subscribed == ImpliedLocked(kLds);
  }

  TypeProgress progress(int type) const override {
    std::lock_guard lock(mu_);
    const TypeState& s = types_[type];
    return TypeProgress{s.acked_version, s.acked_at, s.response_seq, s.acks};
  }

  bool ended() const override {
    std::lock_guard lock(mu_);
    return done_;
  }
  std::string error() const override {
    std::lock_guard lock(mu_);
    return error_;
  }

  void Cancel() override {
    {
      std::lock_guard lock(mu_);
      cancelled_ = true;
    }
    context_.TryCancel();
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // OnDone follows
    HandleResponse();
    response_.Clear();
    // Within a reaction OnDone cannot run yet, so writing cannot race it.
    WriteNext();
    this->StartRead(&response_);
  }

  void OnWriteDone(bool ok) override {
    const auto now = Clock::now();
    {
      std::lock_guard lock(mu_);
      Pending& written = writes_.front();
      if (ok && written.ack_type >= 0) {
        TypeState& s = types_[written.ack_type];
        s.acked_version = std::move(written.ack_version);
        s.acked_at = now;
        s.acked_seq = written.ack_seq;
        ++s.acks;
      }
      writes_.pop_front();
      writing_ = false;
      if (!ok) return;  // the stream is ending; OnDone follows
    }
    WriteNext();
  }

  void OnDone(const grpc::Status& status) override {
    std::lock_guard lock(mu_);
    if (!cancelled_) {
      error_ = absl::StrCat("stream ended: ", status.error_code(), ": ", status.error_message());
    }
    done_ = true;
    done_cv_.notify_all();
  }

 private:
  struct TypeState {
    Names have;        // resources the client holds
    Names subscribed;  // EDS and RDS: names asked for
    // CDS and LDS: what each resource makes the client subscribe to.
    std::map<std::string, Names> implied;
    std::string last_nonce;
    std::string acked_version;
    Clock::time_point acked_at;
    uint64_t response_seq = 0;  // responses received
    uint64_t acked_seq = 0;     // the response the last written ACK answered
    uint64_t acks = 0;
  };
  struct Pending {
    Request request;
    int ack_type;  // -1: not an ACK
    std::string ack_version;
    uint64_t ack_seq;
  };

  Request NewRequest(int type) const {
    Request request;
    *request.mutable_node() = node_;
    request.set_type_url(xds::TypeOrder()[type]);
    return request;
  }

  void QueueLocked(Request request, int ack_type, std::string ack_version, uint64_t ack_seq) {
    writes_.push_back(Pending{std::move(request), ack_type, std::move(ack_version), ack_seq});
  }

  Names ImpliedLocked(int type) const {
    Names all;
    for (const auto& [name, names] : types_[type].implied) all.insert(names.begin(), names.end());
    return all;
  }

  void HandleResponse() {
    std::lock_guard lock(mu_);
    const int type = TypeOf(response_.type_url());
    if (type < 0) return;
    TypeState& s = types_[type];
    ++s.response_seq;
    s.last_nonce = response_.nonce();
    std::string version;
    if constexpr (kDelta) {
      version = response_.system_version_info();
      for (const auto& resource : response_.resources()) {
        s.have.insert(resource.name());
        if (DependentType(type) >= 0) s.implied[resource.name()] = Implied(type, resource.resource());
      }
      for (const auto& name : response_.removed_resources()) {
        s.have.erase(name);
        s.implied.erase(name);
      }
    } else {
      version = response_.version_info();
      s.have.clear();
      if (DependentType(type) >= 0) s.implied.clear();
      for (const auto& resource : response_.resources()) {
        std::string name = StringField(resource.value(), 1);
        if (DependentType(type) >= 0) s.implied[name] = Implied(type, resource);
        s.have.insert(std::move(name));
      }
    }
    // Envoy first subscribes to what the new clusters or listeners need,
    // then ACKs them.
    if (int dependent = DependentType(type); dependent >= 0) {
      Names wanted = ImpliedLocked(type);
      TypeState& d = types_[dependent];
      if (wanted != d.subscribed) {
        Request request = NewRequest(dependent);
        if constexpr (kDelta) {
          for (const auto& name : wanted) {
            if (!d.subscribed.count(name)) request.add_resource_names_subscribe(name);
          }
          for (const auto& name : d.subscribed) {
            if (!wanted.count(name)) {
              request.add_resource_names_unsubscribe(name);
              d.have.erase(name);
            }
          }
        } else {
          for (const auto& name : wanted) request.add_resource_names(name);
          request.set_version_info(d.acked_version);
          request.set_response_nonce(d.last_nonce);
        }
        d.subscribed = std::move(wanted);
        QueueLocked(std::move(request), -1, "", 0);
      }
    }
    Request ack = NewRequest(type);
    ack.set_response_nonce(s.last_nonce);
    if constexpr (!kDelta) {
      ack.set_version_info(version);
      for (const auto& name : s.subscribed) ack.add_resource_names(name);
    }
    QueueLocked(std::move(ack), type, std::move(version), s.response_seq);
  }

  // Starts the next queued write unless one is in flight.
  void WriteNext() {
    const Request* next = nullptr;
    {
      std::lock_guard lock(mu_);
      if (writing_ || writes_.empty() || cancelled_ || done_) return;
      writing_ = true;
      next = &writes_.front().request;  // stays put until OnWriteDone pops it
    }
    this->StartWrite(next);
  }

  envoy::config::core::v3::Node node_;
  grpc::ClientContext context_;
  Response response_;  // read into by one read at a time

  mutable std::mutex mu_;  // guards everything below
  std::array<TypeState, kAdsTypes> types_;
  std::deque<Pending> writes_;  // the front one is being written when writing_
  bool writing_ = false;
  bool cancelled_ = false;
  bool done_ = false;
  std::string error_;
  std::condition_variable done_cv_;
};

}  // namespace

std::unique_ptr<SimulatedEnvoy> ConnectEnvoy(discovery::AggregatedDiscoveryService::Stub* stub,
                                             const std::string& node_id,
                                             const std::string& node_cluster, AdsVariant variant) {
  if (variant == AdsVariant::kDelta) {
    return std::make_unique<
        EnvoyStream<discovery::DeltaDiscoveryRequest, discovery::DeltaDiscoveryResponse>>(
        stub, node_id, node_cluster);
  }
  return std::make_unique<EnvoyStream<discovery::DiscoveryRequest, discovery::DiscoveryResponse>>(
      stub, node_id, node_cluster);
}

}  // namespace protomesh::bench
