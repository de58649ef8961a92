// The ADS server's protocol, tested through the real gRPC server on a port-0
// listener with raw client streams: ACK/NACK and nonces, wildcard and named
// subscriptions, delta removals and reconnects, make-before-break ordering,
// scoping by node cluster, the per-type services, metrics and config dump.
//
// Whether the server sent something is observed on the client (responses
// are read on a thread into a vector the test waits on); whether it sent
// nothing is observed on the server: an update reaches every stream before
// SnapshotCache::Update returns, so once a stream has no write in flight
// (XdsServer::Streams) any response an update causes is built, and counted,
// by the time Update returns.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/config/route/v3/route.pb.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "src/common/admin_server.h"
#include "src/common/metrics.h"
#include "src/xds/server/ads_service.h"
#include "src/xds/server/snapshot_cache.h"
#include "src/xds/server/xds_server_metrics.h"
#include "tests/support/wait.h"

namespace protomesh::xds::server {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using discovery::DeltaDiscoveryRequest;
using discovery::DeltaDiscoveryResponse;
using discovery::DiscoveryRequest;
using discovery::DiscoveryResponse;
using envoy::config::core::v3::Node;

constexpr auto kTimeout = std::chrono::seconds(10);
constexpr int kCds = 0, kEds = 1, kLds = 2, kRds = 3;

// --- Resources and snapshots, built by hand --------------------------------

std::string ContentHash(const std::string& bytes) {
  uint64_t hash = 14695981039346656037ULL;
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  return absl::StrCat(absl::Hex(hash, absl::kZeroPad16));
}

XdsResourcePtr Packed(const std::string& name, const google::protobuf::Message& message) {
  auto resource = std::make_shared<XdsResource>();
  resource->name = name;
  resource->resource.PackFrom(message);
  resource->version = ContentHash(resource->resource.value());
  return resource;
}

// `generation` varies the content, hence the version.
XdsResourcePtr Cluster(const std::string& name, int generation = 1) {
  envoy::config::cluster::v3::Cluster cluster;
  cluster.set_name(name);
  cluster.set_type(envoy::config::cluster::v3::Cluster::EDS);
  cluster.mutable_eds_cluster_config()->mutable_eds_config()->mutable_ads();
  cluster.mutable_connect_timeout()->set_seconds(generation);
  return Packed(name, cluster);
}

XdsResourcePtr Endpoints(const std::string& cluster_name, int port = 8080) {
  envoy::config::endpoint::v3::ClusterLoadAssignment assignment;
  assignment.set_cluster_name(cluster_name);
  auto* address = assignment.add_endpoints()
                      ->add_lb_endpoints()
                      ->mutable_endpoint()
                      ->mutable_address()
                      ->mutable_socket_address();
  address->set_address("10.0.0.1");
  address->set_port_value(port);
  return Packed(cluster_name, assignment);
}

XdsResourcePtr Listener(const std::string& name, int port = 10000) {
  envoy::config::listener::v3::Listener listener;
  listener.set_name(name);
  auto* address = listener.mutable_address()->mutable_socket_address();
  address->set_address("0.0.0.0");
  address->set_port_value(port);
  return Packed(name, listener);
}

XdsResourcePtr Routes(const std::string& name, const std::string& cluster = "a") {
  envoy::config::route::v3::RouteConfiguration routes;
  routes.set_name(name);
  auto* host = routes.add_virtual_hosts();
  host->set_name("all");
  host->add_domains("*");
  auto* route = host->add_routes();
  route->mutable_match()->set_prefix("/");
  route->mutable_route()->set_cluster(cluster);
  return Packed(name, routes);
}

// Every type present; type versions are hashes of the names and versions.
NodeSnapshotPtr Snapshot(const std::vector<XdsResourcePtr>& resources) {
  auto snapshot = std::make_shared<NodeSnapshot>();
  for (const auto& type : TypeOrder()) snapshot->resources[type];
  for (const auto& resource : resources) {
    snapshot->resources[resource->resource.type_url()][resource->name] = resource;
  }
  for (const auto& [type, by_name] : snapshot->resources) {
    std::string all;
    for (const auto& [name, resource] : by_name) absl::StrAppend(&all, name, "=", resource->version, ";");
    snapshot->type_versions[type] = ContentHash(all);
  }
  return snapshot;
}

// The name of a packed Cluster, ClusterLoadAssignment, Listener or
// RouteConfiguration.
std::string NameOf(const google::protobuf::Any& any) {
  envoy::config::cluster::v3::Cluster cluster;
  envoy::config::endpoint::v3::ClusterLoadAssignment assignment;
  envoy::config::listener::v3::Listener listener;
  envoy::config::route::v3::RouteConfiguration routes;
  if (any.UnpackTo(&cluster)) return cluster.name();
  if (any.UnpackTo(&assignment)) return assignment.cluster_name();
  if (any.UnpackTo(&listener)) return listener.name();
  if (any.UnpackTo(&routes)) return routes.name();
  return "<unknown " + any.type_url() + ">";
}

std::vector<std::string> Names(const DiscoveryResponse& response) {
  std::vector<std::string> names;
  for (const auto& any : response.resources()) names.push_back(NameOf(any));
  return names;
}

std::vector<std::string> Names(const DeltaDiscoveryResponse& response) {
  std::vector<std::string> names;
  for (const auto& resource : response.resources()) names.push_back(resource.name());
  return names;
}

std::vector<std::string> Removed(const DeltaDiscoveryResponse& response) {
  return {response.removed_resources().begin(), response.removed_resources().end()};
}

// Whether the response carries exactly this resource (same content).
bool Carries(const DiscoveryResponse& response, const XdsResourcePtr& resource) {
  for (const auto& any : response.resources()) {
    if (any.type_url() == resource->resource.type_url() &&
        any.value() == resource->resource.value()) {
      return true;
    }
  }
  return false;
}

bool Carries(const DeltaDiscoveryResponse& response, const XdsResourcePtr& resource) {
  for (const auto& r : response.resources()) {
    if (r.name() == resource->name && r.version() == resource->version &&
        r.resource().value() == resource->resource.value()) {
      return true;
    }
  }
  return false;
}

// --- Requests -----------------------------------------------------------------

Node MakeNode(const std::string& id, const std::string& cluster) {
  Node node;
  node.set_id(id);
  node.set_cluster(cluster);
  return node;
}

DiscoveryRequest Sotw(const std::string& type_url, const std::vector<std::string>& names,
                      const std::string& nonce = "", const std::string& version = "") {
  DiscoveryRequest request;
  request.set_type_url(type_url);
  for (const auto& name : names) request.add_resource_names(name);
  request.set_response_nonce(nonce);
  request.set_version_info(version);
  return request;
}

DiscoveryRequest WithNode(DiscoveryRequest request, const Node& node) {
  *request.mutable_node() = node;
  return request;
}

DiscoveryRequest Ack(const DiscoveryResponse& response, const std::vector<std::string>& names) {
  return Sotw(response.type_url(), names, response.nonce(), response.version_info());
}

DiscoveryRequest Nack(const DiscoveryResponse& response, const std::vector<std::string>& names,
                      const std::string& kept_version, const std::string& error) {
  DiscoveryRequest request = Sotw(response.type_url(), names, response.nonce(), kept_version);
  request.mutable_error_detail()->set_code(3);
  request.mutable_error_detail()->set_message(error);
  return request;
}

DeltaDiscoveryRequest Delta(const std::string& type_url,
                            const std::vector<std::string>& subscribe = {},
                            const std::vector<std::string>& unsubscribe = {},
                            const std::string& nonce = "") {
  DeltaDiscoveryRequest request;
  request.set_type_url(type_url);
  for (const auto& name : subscribe) request.add_resource_names_subscribe(name);
  for (const auto& name : unsubscribe) request.add_resource_names_unsubscribe(name);
  request.set_response_nonce(nonce);
  return request;
}

DeltaDiscoveryRequest WithNode(DeltaDiscoveryRequest request, const Node& node) {
  *request.mutable_node() = node;
  return request;
}

DeltaDiscoveryRequest DeltaAck(const DeltaDiscoveryResponse& response) {
  return Delta(response.type_url(), {}, {}, response.nonce());
}

// --- A raw client stream --------------------------------------------------------

// One client stream; responses are read on a thread into a vector that the
// test consumes in order, waiting on a condition variable.
template <typename Request, typename Response>
class RawStream {
 public:
  using Opener = std::function<std::unique_ptr<grpc::ClientReaderWriter<Request, Response>>(
      grpc::ClientContext*)>;

  explicit RawStream(const Opener& open) : stream_(open(&context_)) {
    reader_ = std::thread([this] {
      Response response;
      while (stream_->Read(&response)) {
        std::lock_guard lock(mu_);
        responses_.push_back(response);
        changed_.notify_all();
      }
      grpc::Status status = stream_->Finish();
      std::lock_guard lock(mu_);
      status_ = status;
      changed_.notify_all();
    });
  }
  ~RawStream() {
    context_.TryCancel();
    reader_.join();
  }

  void Send(const Request& request) { ASSERT_TRUE(stream_->Write(request)) << "stream closed"; }
  // For a stream the server may already have ended.
  bool TrySend(const Request& request) { return stream_->Write(request); }

  // The next response not yet taken, once it arrives; nothing if the stream
  // ends or the time runs out first.
  std::optional<Response> Next() {
    std::unique_lock lock(mu_);
    changed_.wait_for(lock, kTimeout, [&] { return taken_ < responses_.size() || status_; });
    if (taken_ < responses_.size()) return responses_[taken_++];
    return std::nullopt;
  }

  // Responses received but not yet taken.
  size_t untaken() const {
    std::lock_guard lock(mu_);
    return responses_.size() - taken_;
  }

  // The stream's final status once it ends.
  std::optional<grpc::Status> WaitForEnd() {
    std::unique_lock lock(mu_);
    changed_.wait_for(lock, kTimeout, [&] { return status_.has_value(); });
    return status_;
  }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<Request, Response>> stream_;
  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::vector<Response> responses_;
  size_t taken_ = 0;
  std::optional<grpc::Status> status_;
  std::thread reader_;
};

using SotwStream = RawStream<DiscoveryRequest, DiscoveryResponse>;
using DeltaStream = RawStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>;

// Takes the next response of `stream` into `var`, failing the test if none comes.
#define NEXT(var, stream)                                          \
  auto var##_next = (stream)->Next();                              \
  ASSERT_TRUE(var##_next.has_value()) << "no response on " #stream; \
  const auto& var = *var##_next

class AdsProtocolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    xds_.RegisterServices(builder);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port_, 0);
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port_),
                                   grpc::InsecureChannelCredentials());
    ads_ = discovery::AggregatedDiscoveryService::NewStub(channel_);
  }

  void TearDown() override {
    xds_.Shutdown();
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  }

  std::unique_ptr<SotwStream> OpenSotw() {
    return std::make_unique<SotwStream>(
        [this](grpc::ClientContext* context) { return ads_->StreamAggregatedResources(context); });
  }
  std::unique_ptr<DeltaStream> OpenDelta() {
    return std::make_unique<DeltaStream>(
        [this](grpc::ClientContext* context) { return ads_->DeltaAggregatedResources(context); });
  }

  // The status of the stream of node `node_id` once it has nothing left to
  // write and `condition` holds; fails the test otherwise.
  StreamStatus Settled(const std::string& node_id,
                       const std::function<bool(const StreamStatus&)>& condition =
                           [](const StreamStatus&) { return true; }) {
    StreamStatus found;
    bool held = protomesh::testing::WaitUntil([&] {
      for (const StreamStatus& stream : xds_.Streams()) {
        if (stream.node_id == node_id && !stream.writing && !stream.pending && condition(stream)) {
          found = stream;
          return true;
        }
      }
      return false;
    });
    EXPECT_TRUE(held) << "the stream of " << node_id << " did not settle:\n" << xds_.ConfigDump();
    return found;
  }

  // The stream's state of one type; all empty if it has not subscribed.
  static TypeStatus TypeOf(const StreamStatus& stream, const std::string& type_url) {
    for (const auto& type : stream.types) {
      if (type.type_url == type_url) return type;
    }
    return {};
  }

  // Responses written so far, all types and variants.
  double Responses() {
    double total = 0;
    for (int type = 0; type < 4; ++type) {
      for (Variant v : {Variant::kSotw, Variant::kDelta}) {
        total += metrics_.For(type, v).responses->Value();
      }
    }
    return total;
  }

  // A SotW stream of node `id` in cluster `cluster` that has fetched and
  // ACKed a wildcard CDS; its response is returned in `cds`.
  std::unique_ptr<SotwStream> SotwWithClusters(const std::string& id, const std::string& cluster,
                                               DiscoveryResponse* cds) {
    auto stream = OpenSotw();
    stream->Send(WithNode(Sotw(kClusterType, {}), MakeNode(id, cluster)));
    auto response = stream->Next();
    EXPECT_TRUE(response.has_value()) << "no CDS response for " << id;
    if (!response) return stream;
    *cds = *response;
    stream->Send(Ack(*cds, {}));
    Settled(id, [&](const StreamStatus& s) {
      return TypeOf(s, kClusterType).acked_version == cds->version_info();
    });
    return stream;
  }

  metrics::Registry registry_;
  XdsServerMetrics metrics_{registry_};
  SnapshotCache cache_{&metrics_};
  XdsServer xds_{&cache_, &metrics_};
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<discovery::AggregatedDiscoveryService::Stub> ads_;
};

// --- State of the world -----------------------------------------------------------

TEST_F(AdsProtocolTest, SotwInitialFetchOfEveryTypeThenAckAndNothingWithoutChange) {
  auto edge = Snapshot({Cluster("a"), Cluster("b"), Endpoints("a"), Endpoints("b"),
                        Listener("http"), Routes("routes")});
  cache_.Update({{"edge", edge}});
  auto s = OpenSotw();

  // The way Envoy starts: CDS, then EDS for its clusters, LDS, RDS.
  s->Send(WithNode(Sotw(kClusterType, {}), MakeNode("envoy-1", "edge")));
  NEXT(cds, s);
  EXPECT_EQ(cds.type_url(), kClusterType);
  EXPECT_THAT(Names(cds), ElementsAre("a", "b"));
  EXPECT_EQ(cds.version_info(), edge->type_versions.at(kClusterType));
  EXPECT_FALSE(cds.nonce().empty());
  s->Send(Ack(cds, {}));
  s->Send(Sotw(kEndpointType, {"a", "b"}));
  NEXT(eds, s);
  EXPECT_EQ(eds.type_url(), kEndpointType);
  EXPECT_THAT(Names(eds), ElementsAre("a", "b"));
  EXPECT_NE(eds.nonce(), cds.nonce());
  s->Send(Ack(eds, {"a", "b"}));
  s->Send(Sotw(kListenerType, {}));
  NEXT(lds, s);
  EXPECT_EQ(lds.type_url(), kListenerType);
  EXPECT_THAT(Names(lds), ElementsAre("http"));
  s->Send(Ack(lds, {}));
  s->Send(Sotw(kRouteType, {"routes"}));
  NEXT(rds, s);
  EXPECT_EQ(rds.type_url(), kRouteType);
  EXPECT_THAT(Names(rds), ElementsAre("routes"));
  EXPECT_TRUE(Carries(rds, Routes("routes")));
  s->Send(Ack(rds, {"routes"}));

  StreamStatus status = Settled("envoy-1", [&](const StreamStatus& st) {
    return TypeOf(st, kRouteType).acked_version == rds.version_info();
  });
  EXPECT_EQ(status.cluster, "edge");
  for (const auto& [type, response] :
       std::vector<std::pair<std::string, DiscoveryResponse>>{
           {kClusterType, cds}, {kEndpointType, eds}, {kListenerType, lds}, {kRouteType, rds}}) {
    TypeStatus t = TypeOf(status, type);
    EXPECT_EQ(t.acked_version, response.version_info()) << type;
    EXPECT_EQ(t.sent_nonce, response.nonce()) << type;
    EXPECT_EQ(t.acks, 1u) << type;
    EXPECT_FALSE(t.rejected) << type;
  }
  EXPECT_EQ(metrics_.For(kCds, Variant::kSotw).acks->Value(), 1);
  EXPECT_EQ(metrics_.For(kRds, Variant::kSotw).acks->Value(), 1);
  EXPECT_EQ(metrics_.For(kEds, Variant::kSotw).subscriptions->Value(), 1);
  EXPECT_EQ(metrics_.Streams(ServiceKind::kAds, Variant::kSotw).Value(), 1);

  // The same content again (new objects, same versions), and a change to
  // another node cluster: nothing for this stream.
  const double before = Responses();
  cache_.Update({{"edge", Snapshot({Cluster("a"), Cluster("b"), Endpoints("a"), Endpoints("b"),
                                    Listener("http"), Routes("routes")})},
                 {"other", Snapshot({Cluster("z")})}});
  EXPECT_EQ(Responses(), before);
  StreamStatus after = Settled("envoy-1");
  EXPECT_EQ(TypeOf(after, kClusterType).sent_nonce, cds.nonce());
  EXPECT_EQ(TypeOf(after, kRouteType).sent_nonce, rds.nonce());

  // The next response is the one a real change causes.
  cache_.Update({{"edge", Snapshot({Cluster("a"), Cluster("b", 2), Endpoints("a"), Endpoints("b"),
                                    Listener("http"), Routes("routes")})}});
  NEXT(change, s);
  EXPECT_EQ(change.type_url(), kClusterType);
  EXPECT_TRUE(Carries(change, Cluster("b", 2)));
  EXPECT_EQ(s->untaken(), 0u);
  // Its push latency is observed once the write completes.
  EXPECT_TRUE(protomesh::testing::WaitUntil([&] { return metrics_.push_seconds.Count() == 1; }))
      << metrics_.push_seconds.Count();
}

TEST_F(AdsProtocolTest, ChangeIsPushedWithNewNonceAndNackKeepsTheAckedVersion) {
  cache_.Update({{"edge", Snapshot({Cluster("a"), Cluster("b")})}});
  DiscoveryResponse first;
  auto s = SotwWithClusters("envoy-1", "edge", &first);

  cache_.Update({{"edge", Snapshot({Cluster("a", 2), Cluster("b")})}});
  NEXT(second, s);
  EXPECT_EQ(second.type_url(), kClusterType);
  EXPECT_NE(second.nonce(), first.nonce());
  EXPECT_NE(second.version_info(), first.version_info());
  EXPECT_TRUE(Carries(second, Cluster("a", 2)));

  s->Send(Nack(second, {}, first.version_info(), "cluster \"a\": bad\nconnect_timeout"));
  StreamStatus status = Settled("envoy-1", [](const StreamStatus& st) {
    return TypeOf(st, kClusterType).nacks == 1;
  });
  TypeStatus cds = TypeOf(status, kClusterType);
  EXPECT_EQ(cds.acked_version, first.version_info());
  EXPECT_EQ(cds.sent_version, second.version_info());
  EXPECT_TRUE(cds.rejected);
  EXPECT_EQ(cds.last_nack_error, "cluster \"a\": bad\nconnect_timeout");
  EXPECT_EQ(cds.last_nack_version, second.version_info());
  EXPECT_EQ(cds.last_nack_nonce, second.nonce());
  EXPECT_EQ(metrics_.For(kCds, Variant::kSotw).nacks->Value(), 1);
  EXPECT_EQ(metrics_.For(kCds, Variant::kSotw).acks->Value(), 1);
  // The rejected version is not sent again...
  EXPECT_EQ(metrics_.For(kCds, Variant::kSotw).responses->Value(), 2);
  // ...and the dump shows the NACK.
  google::protobuf::Struct dump;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(xds_.ConfigDump(), &dump).ok());
  const auto& stream = dump.fields().at("streams").list_value().values(0).struct_value().fields();
  EXPECT_EQ(stream.at("node_id").string_value(), "envoy-1");
  EXPECT_EQ(stream.at("cluster").string_value(), "edge");
  const auto& type =
      stream.at("types").struct_value().fields().at(kClusterType).struct_value().fields();
  EXPECT_EQ(type.at("acked_version").string_value(), first.version_info());
  EXPECT_EQ(type.at("sent_version").string_value(), second.version_info());
  EXPECT_TRUE(type.at("rejected").bool_value());
  EXPECT_EQ(type.at("last_nack").struct_value().fields().at("error").string_value(),
            "cluster \"a\": bad\nconnect_timeout");
  ASSERT_EQ(type.at("resources").list_value().values_size(), 2);
  const auto& a = type.at("resources").list_value().values(0).struct_value().fields();
  EXPECT_EQ(a.at("name").string_value(), "a");
  EXPECT_EQ(a.at("version").string_value(), Cluster("a", 2)->version);

  // A fixed version is pushed and ACKed; the last NACK stays on record.
  cache_.Update({{"edge", Snapshot({Cluster("a", 3), Cluster("b")})}});
  NEXT(third, s);
  EXPECT_TRUE(Carries(third, Cluster("a", 3)));
  s->Send(Ack(third, {}));
  status = Settled("envoy-1", [&](const StreamStatus& st) {
    return TypeOf(st, kClusterType).acked_version == third.version_info();
  });
  cds = TypeOf(status, kClusterType);
  EXPECT_FALSE(cds.rejected);
  EXPECT_EQ(cds.nacks, 1u);
  EXPECT_EQ(cds.acks, 2u);
  EXPECT_EQ(cds.last_nack_error, "cluster \"a\": bad\nconnect_timeout");
}

TEST_F(AdsProtocolTest, AStaleRequestIsNoAnswerButItsSubscriptionApplies) {
  cache_.Update({{"edge", Snapshot({Cluster("a"), Endpoints("a"), Endpoints("b")})}});
  auto s = OpenSotw();
  s->Send(WithNode(Sotw(kClusterType, {}), MakeNode("envoy-1", "edge")));
  NEXT(cds1, s);
  s->Send(Sotw(kEndpointType, {"a"}));
  NEXT(eds1, s);
  EXPECT_THAT(Names(eds1), ElementsAre("a"));

  cache_.Update({{"edge", Snapshot({Cluster("a", 2), Endpoints("a", 9090), Endpoints("b")})}});
  NEXT(cds2, s);
  NEXT(eds2, s);
  ASSERT_EQ(cds2.type_url(), kClusterType);
  ASSERT_EQ(eds2.type_url(), kEndpointType);

  // Answers to the superseded responses: a NACK, and a subscription change.
  s->Send(Nack(cds1, {}, "", "too late to matter"));
  s->Send(Sotw(kEndpointType, {"a", "b"}, eds1.nonce(), eds1.version_info()));
  // The NACK is not counted; the new subscription is answered.
  NEXT(eds3, s);
  ASSERT_EQ(eds3.type_url(), kEndpointType);
  EXPECT_THAT(Names(eds3), ElementsAre("a", "b"));
  s->Send(Ack(cds2, {}));
  s->Send(Ack(eds3, {"a", "b"}));
  StreamStatus status = Settled("envoy-1", [&](const StreamStatus& st) {
    return TypeOf(st, kEndpointType).acked_version == eds3.version_info() &&
           TypeOf(st, kClusterType).acked_version == cds2.version_info();
  });
  TypeStatus cds = TypeOf(status, kClusterType);
  EXPECT_EQ(cds.nacks, 0u);
  EXPECT_FALSE(cds.rejected);
  EXPECT_EQ(metrics_.For(kCds, Variant::kSotw).nacks->Value(), 0);
  EXPECT_EQ(metrics_.For(kCds, Variant::kSotw).stale_requests->Value(), 1);
  EXPECT_EQ(metrics_.For(kEds, Variant::kSotw).stale_requests->Value(), 1);
  TypeStatus eds = TypeOf(status, kEndpointType);
  EXPECT_THAT(eds.names, ElementsAre("a", "b"));
  // Only eds3 was ACKed: the stale request counted as no answer.
  EXPECT_EQ(eds.acks, 1u);
  EXPECT_EQ(s->untaken(), 0u);
}

// gRPC's xDS client drops a resource it unsubscribes from, and ignores one
// that arrives while it is unsubscribed. Here the client unsubscribes from
// "b" while a response carrying "b" is on its way, then subscribes to "b"
// again in its ACK of that response: "b" must be sent again. (This lost
// a re-added service for good in the xds_e2e_test under load.)
TEST_F(AdsProtocolTest, ANameSubscribedAgainAfterARaceWithAResponseIsSentAgain) {
  cache_.Update({{"edge", Snapshot({Endpoints("a"), Endpoints("b")})}});
  auto s = OpenSotw();
  s->Send(WithNode(Sotw(kEndpointType, {"a", "b"}), MakeNode("grpc-1", "edge")));
  NEXT(eds1, s);
  EXPECT_THAT(Names(eds1), ElementsAre("a", "b"));
  s->Send(Ack(eds1, {"a", "b"}));

  cache_.Update({{"edge", Snapshot({Endpoints("a", 9090), Endpoints("b")})}});
  NEXT(eds2, s);
  EXPECT_THAT(Names(eds2), ElementsAre("a", "b"));
  // Sent before the client read eds2, so with eds1's nonce.
  s->Send(Sotw(kEndpointType, {"a"}, eds1.nonce(), eds1.version_info()));
  // The client read eds2 while unsubscribed from "b", then subscribed again.
  s->Send(Ack(eds2, {"a", "b"}));
  NEXT(eds3, s);
  EXPECT_THAT(Names(eds3), ElementsAre("a", "b"));
  EXPECT_TRUE(Carries(eds3, Endpoints("b")));
  s->Send(Ack(eds3, {"a", "b"}));
  Settled("grpc-1", [&](const StreamStatus& st) {
    return TypeOf(st, kEndpointType).acked_version == eds3.version_info();
  });
  EXPECT_EQ(s->untaken(), 0u);
}

// Unsubscribing needs no answer: the client has dropped what it left.
TEST_F(AdsProtocolTest, UnsubscribingSendsNothing) {
  cache_.Update({{"edge", Snapshot({Endpoints("a"), Endpoints("b")})}});
  auto s = OpenSotw();
  s->Send(WithNode(Sotw(kEndpointType, {"a", "b"}), MakeNode("grpc-1", "edge")));
  NEXT(eds1, s);
  s->Send(Ack(eds1, {"a"}));
  StreamStatus status = Settled("grpc-1", [&](const StreamStatus& st) {
    return TypeOf(st, kEndpointType).names.size() == 1;
  });
  EXPECT_EQ(TypeOf(status, kEndpointType).sent_nonce, eds1.nonce());
  // Subscribing to it again brings it back.
  s->Send(Ack(eds1, {"a", "b"}));
  NEXT(eds2, s);
  EXPECT_THAT(Names(eds2), ElementsAre("a", "b"));
  EXPECT_EQ(s->untaken(), 0u);
}

TEST_F(AdsProtocolTest, WildcardAndNamedEndpointSubscriptions) {
  cache_.Update({{"edge", Snapshot({Cluster("a"), Cluster("b"), Endpoints("a"), Endpoints("b")})}});
  auto wild = OpenSotw();
  wild->Send(WithNode(Sotw(kEndpointType, {}), MakeNode("wild", "edge")));
  NEXT(w1, wild);
  EXPECT_THAT(Names(w1), ElementsAre("a", "b"));
  auto named = OpenSotw();
  named->Send(WithNode(Sotw(kEndpointType, {"a"}), MakeNode("named", "edge")));
  NEXT(n1, named);
  EXPECT_THAT(Names(n1), ElementsAre("a"));

  // Subscribing to a name that does not exist yet changes nothing sent...
  named->Send(Ack(n1, {"a", "c"}));
  StreamStatus status = Settled("named", [](const StreamStatus& st) {
    return TypeOf(st, kEndpointType).names.size() == 2;
  });
  EXPECT_THAT(TypeOf(status, kEndpointType).names, ElementsAre("a", "c"));
  EXPECT_EQ(TypeOf(status, kEndpointType).sent_nonce, n1.nonce());
  EXPECT_EQ(metrics_.For(kEds, Variant::kSotw).responses->Value(), 2);

  // A change to a resource it did not subscribe to: nothing for it, while
  // the wildcard stream gets it.
  Settled("wild");
  const double before = Responses();
  cache_.Update({{"edge", Snapshot({Cluster("a"), Cluster("b"), Endpoints("a"),
                                    Endpoints("b", 9090)})}});
  EXPECT_EQ(Responses(), before + 1);
  NEXT(w_b, wild);
  EXPECT_THAT(Names(w_b), ElementsAre("a", "b"));
  EXPECT_TRUE(Carries(w_b, Endpoints("b", 9090)));
  EXPECT_EQ(TypeOf(Settled("named"), kEndpointType).sent_nonce, n1.nonce());
  EXPECT_EQ(named->untaken(), 0u);

  // ...until it is created: both streams get it, each its own subscription.
  Settled("wild");
  cache_.Update({{"edge", Snapshot({Cluster("a"), Cluster("b"), Cluster("c"), Endpoints("a"),
                                    Endpoints("b", 9090), Endpoints("c")})}});
  NEXT(w2, wild);
  EXPECT_THAT(Names(w2), ElementsAre("a", "b", "c"));
  NEXT(n2, named);
  EXPECT_THAT(Names(n2), ElementsAre("a", "c"));
  EXPECT_NE(n2.nonce(), n1.nonce());

  // A subscription change is answered with the new set.
  named->Send(Ack(n2, {"b"}));
  NEXT(n3, named);
  EXPECT_THAT(Names(n3), ElementsAre("b"));
  // Empty names after named ones unsubscribe from everything (only the
  // first request's empty list means wildcard). The client drops what it
  // unsubscribes from, so there is nothing to tell it.
  named->Send(Ack(n3, {}));
  status = Settled("named", [&](const StreamStatus& st) {
    return TypeOf(st, kEndpointType).names.empty();
  });
  EXPECT_FALSE(TypeOf(status, kEndpointType).wildcard);
  EXPECT_TRUE(TypeOf(Settled("wild"), kEndpointType).wildcard);

  // An explicit "*" is wildcard too, whatever else is named. (Had the
  // unsubscription been answered, that answer would come first here.)
  named->Send(Ack(n3, {"*", "a"}));
  NEXT(n4, named);
  EXPECT_THAT(Names(n4), ElementsAre("a", "b", "c"));
  EXPECT_EQ(named->untaken(), 0u);
}

TEST_F(AdsProtocolTest, ClustersAndListenersAlwaysCarryTheFullSet) {
  cache_.Update({{"edge", Snapshot({Cluster("a"), Cluster("b"), Cluster("c"), Listener("l1"),
                                    Endpoints("a"), Endpoints("b"), Endpoints("c")})}});
  DiscoveryResponse cds1;
  auto s = SotwWithClusters("envoy-1", "edge", &cds1);
  s->Send(Sotw(kListenerType, {}));
  NEXT(lds1, s);
  EXPECT_THAT(Names(lds1), ElementsAre("l1"));
  s->Send(Ack(lds1, {}));
  s->Send(Sotw(kEndpointType, {"a", "b", "c"}));
  NEXT(eds1, s);
  s->Send(Ack(eds1, {"a", "b", "c"}));
  Settled("envoy-1", [&](const StreamStatus& st) {
    return TypeOf(st, kEndpointType).acked_version == eds1.version_info();
  });

  // One cluster changes, one listener is added, one endpoint set changes.
  cache_.Update({{"edge", Snapshot({Cluster("a"), Cluster("b", 2), Cluster("c"), Listener("l1"),
                                    Listener("l2", 10001), Endpoints("a"), Endpoints("b", 9090),
                                    Endpoints("c")})}});
  NEXT(cds2, s);
  ASSERT_EQ(cds2.type_url(), kClusterType);
  EXPECT_THAT(Names(cds2), ElementsAre("a", "b", "c"));
  EXPECT_TRUE(Carries(cds2, Cluster("b", 2)));
  EXPECT_TRUE(Carries(cds2, Cluster("a")));
  NEXT(eds2, s);
  ASSERT_EQ(eds2.type_url(), kEndpointType);
  EXPECT_THAT(Names(eds2), ElementsAre("a", "b", "c"));
  EXPECT_TRUE(Carries(eds2, Endpoints("b", 9090)));
  NEXT(lds2, s);
  ASSERT_EQ(lds2.type_url(), kListenerType);
  EXPECT_THAT(Names(lds2), ElementsAre("l1", "l2"));
}

TEST_F(AdsProtocolTest, NodesGetOnlyTheirClustersSnapshot) {
  cache_.Update({{"edge", Snapshot({Cluster("a")})}, {"mesh", Snapshot({Cluster("m")})}});
  DiscoveryResponse edge_cds, mesh_cds, lone_cds;
  auto edge = SotwWithClusters("edge-1", "edge", &edge_cds);
  auto mesh = SotwWithClusters("mesh-1", "mesh", &mesh_cds);
  auto lone = SotwWithClusters("lone-1", "nowhere", &lone_cds);
  EXPECT_THAT(Names(edge_cds), ElementsAre("a"));
  EXPECT_THAT(Names(mesh_cds), ElementsAre("m"));
  // A node cluster without resources is answered, with nothing.
  EXPECT_THAT(Names(lone_cds), IsEmpty());

  // A change to mesh reaches mesh only.
  const double edge_before = Responses();
  cache_.Update({{"edge", Snapshot({Cluster("a")})}, {"mesh", Snapshot({Cluster("m"), Cluster("m2")})}});
  EXPECT_EQ(Responses(), edge_before + 1);
  NEXT(mesh2, mesh);
  EXPECT_THAT(Names(mesh2), ElementsAre("m", "m2"));
  EXPECT_EQ(TypeOf(Settled("edge-1"), kClusterType).sent_nonce, edge_cds.nonce());
  EXPECT_EQ(TypeOf(Settled("lone-1"), kClusterType).sent_nonce, lone_cds.nonce());
  mesh->Send(Ack(mesh2, {}));
  Settled("mesh-1", [&](const StreamStatus& st) {
    return TypeOf(st, kClusterType).acked_version == mesh2.version_info();
  });

  // A node cluster that is no longer translated loses its resources.
  cache_.Update({{"edge", Snapshot({Cluster("a")})}});
  NEXT(mesh3, mesh);
  EXPECT_EQ(mesh3.type_url(), kClusterType);
  EXPECT_THAT(Names(mesh3), IsEmpty());
  EXPECT_EQ(TypeOf(Settled("edge-1"), kClusterType).sent_nonce, edge_cds.nonce());
}

TEST_F(AdsProtocolTest, StreamWithoutNodeClusterIsRejected) {
  auto no_node = OpenSotw();
  no_node->Send(Sotw(kClusterType, {}));
  auto status = no_node->WaitForEnd();
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status->error_message(), HasSubstr("node.cluster"));

  auto no_cluster = OpenSotw();
  no_cluster->Send(WithNode(Sotw(kClusterType, {}), MakeNode("envoy-1", "")));
  status = no_cluster->WaitForEnd();
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  auto delta = OpenDelta();
  delta->Send(Delta(kClusterType));
  status = delta->WaitForEnd();
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  EXPECT_EQ(metrics_.rejected_streams.WithLabels({"no_node_cluster"}).Value(), 3);
  EXPECT_THAT(xds_.Streams(), IsEmpty());
}

TEST_F(AdsProtocolTest, ARequestThatDoesNotParseEndsTheStreamWithInvalidArgument) {
  // Bytes no client library would send: a field whose length runs past the end.
  const std::string garbage("\x0a\xff\xff\xff\xff\x0f", 6);
  grpc::GenericStub generic(channel_);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + kTimeout);
  grpc::CompletionQueue cq;
  auto call = generic.PrepareCall(
      &context, "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources",
      &cq);
  auto next = [&](intptr_t expected) {
    void* tag = nullptr;
    bool ok = false;
    EXPECT_TRUE(cq.Next(&tag, &ok));
    EXPECT_EQ(reinterpret_cast<intptr_t>(tag), expected);
    return ok;
  };
  call->StartCall(reinterpret_cast<void*>(1));
  ASSERT_TRUE(next(1));
  grpc::Slice slice(garbage);
  grpc::ByteBuffer request(&slice, 1);
  call->Write(request, reinterpret_cast<void*>(2));
  next(2);
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(3));
  next(3);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(),
              HasSubstr("not a valid envoy.service.discovery.v3.DiscoveryRequest"));
  EXPECT_THAT(xds_.Streams(), IsEmpty());
  cq.Shutdown();
  void* tag;
  bool ok;
  while (cq.Next(&tag, &ok)) {
  }
}

TEST_F(AdsProtocolTest, ResourcesAndResponsesAreSharedNotCopiedPerStream) {
  cache_.Update({{"edge", Snapshot({Cluster("a"), Endpoints("a"), Endpoints("b")})}});
  ServedSnapshotPtr before = cache_.Get("edge");
  DiscoveryResponse c1, c2, c3;
  auto s1 = SotwWithClusters("envoy-1", "edge", &c1);
  auto s2 = SotwWithClusters("envoy-2", "edge", &c2);
  auto s3 = SotwWithClusters("envoy-3", "edge", &c3);

  // Only clusters change: the endpoints of the new snapshot are the old
  // ones, by pointer.
  cache_.Update({{"edge", Snapshot({Cluster("a", 2), Endpoints("a"), Endpoints("b")})}});
  ServedSnapshotPtr after = cache_.Get("edge");
  EXPECT_NE(after->types[kCds], before->types[kCds]);
  EXPECT_EQ(after->types[kEds], before->types[kEds]);
  EXPECT_EQ(after->types[kLds], before->types[kLds]);

  // Every wildcard stream is written the same response, built once: one
  // nonce for all of them.
  NEXT(r1, s1);
  NEXT(r2, s2);
  NEXT(r3, s3);
  EXPECT_TRUE(Carries(r1, Cluster("a", 2)));
  EXPECT_EQ(r2.nonce(), r1.nonce());
  EXPECT_EQ(r3.nonce(), r1.nonce());
  auto full = after->types[kCds]->FullResponse();
  EXPECT_EQ(full->message->nonce(), r1.nonce());
  // ...and serialized once: its bytes are what each stream was written.
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(grpc::ByteBuffer(full->bytes).Dump(&slices).ok());
  std::string bytes;
  for (const auto& slice : slices) bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  EXPECT_EQ(bytes, r2.SerializeAsString());
  // And the resources each stream was sent are the snapshot's own.
  EXPECT_EQ(after->types[kCds]->resources->at(0)->version, Cluster("a", 2)->version);

  // Within a type that changed, what did not change stays the object the
  // streams already hold, although the translator made a new one.
  cache_.Update({{"edge", Snapshot({Cluster("a", 2), Endpoints("a"), Endpoints("b", 9090)})}});
  ServedSnapshotPtr third = cache_.Get("edge");
  ASSERT_NE(third->types[kEds], after->types[kEds]);
  EXPECT_EQ(third->types[kEds]->resources->at(0), after->types[kEds]->resources->at(0));
  EXPECT_NE(third->types[kEds]->resources->at(1), after->types[kEds]->resources->at(1));
  EXPECT_EQ(third->types[kEds]->resources->at(1)->version, Endpoints("b", 9090)->version);
}

// --- Make-before-break --------------------------------------------------------------

TEST_F(AdsProtocolTest, SotwAddsInTypeOrderAndRemovesInReverse) {
  cache_.Update({{"edge", Snapshot({})}});
  auto s = OpenSotw();
  s->Send(WithNode(Sotw(kClusterType, {}), MakeNode("envoy-1", "edge")));
  for (const char* type : {kEndpointType, kListenerType, kRouteType}) s->Send(Sotw(type, {}));
  for (int i = 0; i < 4; ++i) {
    NEXT(empty, s);
    EXPECT_THAT(Names(empty), IsEmpty());
  }
  Settled("envoy-1", [](const StreamStatus& st) { return st.types.size() == 4; });

  // Everything at once: clusters first, routes last.
  cache_.Update({{"edge", Snapshot({Routes("r1", "a"), Listener("l1"), Endpoints("a"),
                                    Cluster("a")})}});
  std::vector<std::string> order;
  for (int i = 0; i < 4; ++i) {
    NEXT(response, s);
    order.push_back(response.type_url());
    EXPECT_EQ(Names(response).size(), 1u);
  }
  EXPECT_THAT(order, ElementsAre(kClusterType, kEndpointType, kListenerType, kRouteType));
  Settled("envoy-1");

  // Replace every resource: the new ones are added first, the old ones
  // removed after, routes to clusters.
  cache_.Update({{"edge", Snapshot({Routes("r2", "b"), Listener("l2"), Endpoints("b"),
                                    Cluster("b")})}});
  std::vector<std::pair<std::string, std::vector<std::string>>> pushes;
  for (int i = 0; i < 7; ++i) {
    NEXT(response, s);
    pushes.emplace_back(response.type_url(), Names(response));
  }
  using P = std::pair<std::string, std::vector<std::string>>;
  EXPECT_THAT(pushes, ElementsAre(P{kClusterType, {"a", "b"}}, P{kEndpointType, {"a", "b"}},
                                  P{kListenerType, {"l1", "l2"}}, P{kRouteType, {"r2"}},
                                  P{kListenerType, {"l2"}}, P{kEndpointType, {"b"}},
                                  P{kClusterType, {"b"}}));
  StreamStatus status = Settled("envoy-1");
  EXPECT_EQ(s->untaken(), 0u);
  for (const auto& type : status.types) EXPECT_EQ(type.resources.size(), 1u) << type.type_url;
}

TEST_F(AdsProtocolTest, DeltaAddsInTypeOrderAndRemovesInReverse) {
  cache_.Update({{"edge", Snapshot({Routes("r1", "a"), Listener("l1"), Endpoints("a"),
                                    Cluster("a")})}});
  auto d = OpenDelta();
  d->Send(WithNode(Delta(kClusterType), MakeNode("envoy-1", "edge")));
  for (const char* type : {kEndpointType, kListenerType, kRouteType}) d->Send(Delta(type));
  for (int i = 0; i < 4; ++i) {
    NEXT(initial, d);
    EXPECT_EQ(Names(initial).size(), 1u);
  }
  Settled("envoy-1", [](const StreamStatus& st) { return st.types.size() == 4; });

  cache_.Update({{"edge", Snapshot({Routes("r2", "b"), Listener("l2"), Endpoints("b"),
                                    Cluster("b")})}});
  struct Push {
    std::string type;
    std::vector<std::string> added;
    std::vector<std::string> removed;
    bool operator==(const Push&) const = default;
  };
  std::vector<Push> pushes;
  for (int i = 0; i < 7; ++i) {
    NEXT(response, d);
    pushes.push_back({response.type_url(), Names(response), Removed(response)});
  }
  EXPECT_TRUE((pushes == std::vector<Push>{{kClusterType, {"b"}, {}},
                                           {kEndpointType, {"b"}, {}},
                                           {kListenerType, {"l2"}, {}},
                                           {kRouteType, {"r2"}, {"r1"}},
                                           {kListenerType, {}, {"l1"}},
                                           {kEndpointType, {}, {"a"}},
                                           {kClusterType, {}, {"a"}}}))
      << [&] {
           std::string all;
           for (const auto& p : pushes) {
             absl::StrAppend(&all, p.type, " +", p.added.size(), " -", p.removed.size(), "\n");
           }
           return all;
         }();
}

// --- Delta --------------------------------------------------------------------------

TEST_F(AdsProtocolTest, DeltaSendsOnlyWhatChangedAndRemovals) {
  cache_.Update({{"edge", Snapshot({Cluster("a"), Cluster("b")})}});
  auto d = OpenDelta();
  d->Send(WithNode(Delta(kClusterType), MakeNode("envoy-1", "edge")));
  NEXT(r1, d);
  EXPECT_EQ(r1.type_url(), kClusterType);
  EXPECT_THAT(Names(r1), ElementsAre("a", "b"));
  EXPECT_TRUE(Carries(r1, Cluster("a")));
  EXPECT_TRUE(Carries(r1, Cluster("b")));
  EXPECT_THAT(Removed(r1), IsEmpty());
  EXPECT_FALSE(r1.nonce().empty());
  d->Send(DeltaAck(r1));
  Settled("envoy-1", [](const StreamStatus& st) { return TypeOf(st, kClusterType).acks == 1; });

  cache_.Update({{"edge", Snapshot({Cluster("a", 2), Cluster("b")})}});
  NEXT(r2, d);
  EXPECT_THAT(Names(r2), ElementsAre("a"));
  EXPECT_TRUE(Carries(r2, Cluster("a", 2)));
  EXPECT_THAT(Removed(r2), IsEmpty());
  EXPECT_NE(r2.nonce(), r1.nonce());
  d->Send(DeltaAck(r2));
  // Handled before the next update, which would make its nonce stale.
  Settled("envoy-1", [](const StreamStatus& st) { return TypeOf(st, kClusterType).acks == 2; });

  cache_.Update({{"edge", Snapshot({Cluster("a", 2)})}});
  NEXT(r3, d);
  EXPECT_THAT(Names(r3), IsEmpty());
  EXPECT_THAT(Removed(r3), ElementsAre("b"));
  d->Send(DeltaAck(r3));

  StreamStatus status = Settled("envoy-1", [](const StreamStatus& st) {
    return TypeOf(st, kClusterType).acks == 3;
  });
  TypeStatus cds = TypeOf(status, kClusterType);
  EXPECT_TRUE(cds.wildcard);
  EXPECT_EQ(cds.acked_version, r3.system_version_info());
  ASSERT_EQ(cds.resources.size(), 1u);
  EXPECT_EQ(cds.resources[0].first, "a");
  EXPECT_EQ(cds.resources[0].second, Cluster("a", 2)->version);
  EXPECT_EQ(metrics_.For(kCds, Variant::kDelta).acks->Value(), 3);
  EXPECT_EQ(metrics_.Streams(ServiceKind::kAds, Variant::kDelta).Value(), 1);

  // A delta NACK is recorded like a SotW one.
  cache_.Update({{"edge", Snapshot({Cluster("a", 3)})}});
  NEXT(r4, d);
  DeltaDiscoveryRequest nack = DeltaAck(r4);
  nack.mutable_error_detail()->set_message("cluster a: rejected");
  d->Send(nack);
  status = Settled("envoy-1", [](const StreamStatus& st) { return TypeOf(st, kClusterType).nacks == 1; });
  EXPECT_EQ(TypeOf(status, kClusterType).acked_version, r3.system_version_info());
  EXPECT_EQ(TypeOf(status, kClusterType).last_nack_error, "cluster a: rejected");
  EXPECT_EQ(metrics_.For(kCds, Variant::kDelta).nacks->Value(), 1);
}

TEST_F(AdsProtocolTest, DeltaUnknownNamesAreRemovedAndSentOnceTheyExist) {
  cache_.Update({{"edge", Snapshot({Endpoints("a")})}});
  auto d = OpenDelta();
  d->Send(WithNode(Delta(kEndpointType, {"a", "ghost"}), MakeNode("envoy-1", "edge")));
  NEXT(r1, d);
  EXPECT_THAT(Names(r1), ElementsAre("a"));
  EXPECT_THAT(Removed(r1), ElementsAre("ghost"));
  d->Send(DeltaAck(r1));
  Settled("envoy-1", [](const StreamStatus& st) { return TypeOf(st, kEndpointType).acks == 1; });

  cache_.Update({{"edge", Snapshot({Endpoints("a"), Endpoints("ghost")})}});
  NEXT(r2, d);
  EXPECT_THAT(Names(r2), ElementsAre("ghost"));
  EXPECT_THAT(Removed(r2), IsEmpty());
  d->Send(DeltaAck(r2));

  // A later subscription to an unknown name; the subscription change is
  // honoured without a nonce.
  d->Send(Delta(kEndpointType, {"ghost2"}));
  NEXT(r3, d);
  EXPECT_THAT(Names(r3), IsEmpty());
  EXPECT_THAT(Removed(r3), ElementsAre("ghost2"));

  // Unsubscribing needs no answer; the client drops the resource itself.
  StreamStatus before = Settled("envoy-1", [&](const StreamStatus& st) {
    return TypeOf(st, kEndpointType).sent_nonce == r3.nonce();
  });
  d->Send(Delta(kEndpointType, {}, {"a"}));
  StreamStatus after = Settled("envoy-1", [](const StreamStatus& st) {
    return TypeOf(st, kEndpointType).names.size() == 2;
  });
  EXPECT_THAT(TypeOf(after, kEndpointType).names, ElementsAre("ghost", "ghost2"));
  EXPECT_EQ(TypeOf(after, kEndpointType).sent_nonce, TypeOf(before, kEndpointType).sent_nonce);
  ASSERT_EQ(TypeOf(after, kEndpointType).resources.size(), 1u);
  EXPECT_EQ(TypeOf(after, kEndpointType).resources[0].first, "ghost");

  // An unsubscribed resource's changes are not sent; a subscribed one's are.
  cache_.Update({{"edge", Snapshot({Endpoints("a", 1), Endpoints("ghost", 2), Endpoints("ghost2")})}});
  NEXT(r4, d);
  EXPECT_THAT(Names(r4), ElementsAre("ghost", "ghost2"));
  EXPECT_THAT(Removed(r4), IsEmpty());
}

TEST_F(AdsProtocolTest, DeltaReconnectSendsOnlyWhatDiffers) {
  cache_.Update({{"edge", Snapshot({Cluster("a"), Cluster("b"), Cluster("c")})}});
  {
    auto d = OpenDelta();
    d->Send(WithNode(Delta(kClusterType), MakeNode("envoy-1", "edge")));
    NEXT(r1, d);
    EXPECT_THAT(Names(r1), ElementsAre("a", "b", "c"));
  }  // disconnects
  ASSERT_TRUE(protomesh::testing::WaitUntil([&] { return xds_.Streams().empty(); }));

  cache_.Update({{"edge", Snapshot({Cluster("a"), Cluster("b", 2), Cluster("d")})}});
  auto d = OpenDelta();
  DeltaDiscoveryRequest reconnect = WithNode(Delta(kClusterType), MakeNode("envoy-1", "edge"));
  (*reconnect.mutable_initial_resource_versions())["a"] = Cluster("a")->version;
  (*reconnect.mutable_initial_resource_versions())["b"] = Cluster("b")->version;
  (*reconnect.mutable_initial_resource_versions())["c"] = Cluster("c")->version;
  d->Send(reconnect);
  NEXT(r2, d);
  EXPECT_THAT(Names(r2), ElementsAre("b", "d"));
  EXPECT_TRUE(Carries(r2, Cluster("b", 2)));
  EXPECT_THAT(Removed(r2), ElementsAre("c"));
  EXPECT_EQ(d->untaken(), 0u);

  // A client that already has everything gets nothing.
  const double before = Responses();
  auto current = OpenDelta();
  DeltaDiscoveryRequest in_sync = WithNode(Delta(kClusterType), MakeNode("envoy-2", "edge"));
  (*in_sync.mutable_initial_resource_versions())["a"] = Cluster("a")->version;
  (*in_sync.mutable_initial_resource_versions())["b"] = Cluster("b", 2)->version;
  (*in_sync.mutable_initial_resource_versions())["d"] = Cluster("d")->version;
  current->Send(in_sync);
  StreamStatus status = Settled("envoy-2", [](const StreamStatus& st) { return !st.types.empty(); });
  EXPECT_EQ(TypeOf(status, kClusterType).type_url, kClusterType);
  EXPECT_EQ(TypeOf(status, kClusterType).sent_nonce, "");
  EXPECT_EQ(TypeOf(status, kClusterType).resources.size(), 3u);
  EXPECT_EQ(Responses(), before);
  // It is pushed the next change like anyone.
  cache_.Update({{"edge", Snapshot({Cluster("a"), Cluster("b", 2), Cluster("d", 2)})}});
  NEXT(r3, current);
  EXPECT_THAT(Names(r3), ElementsAre("d"));
  EXPECT_EQ(current->untaken(), 0u);
}

// --- Per-type services --------------------------------------------------------------

TEST_F(AdsProtocolTest, ClusterDiscoveryServiceServesClustersOnly) {
  cache_.Update({{"edge", Snapshot({Cluster("a"), Listener("l1")})}});
  auto cds_stub = envoy::service::cluster::v3::ClusterDiscoveryService::NewStub(channel_);
  SotwStream s([&](grpc::ClientContext* context) { return cds_stub->StreamClusters(context); });
  // The type_url may be left out on a per-type service.
  s.Send(WithNode(Sotw("", {}), MakeNode("envoy-1", "edge")));
  auto r1 = s.Next();
  ASSERT_TRUE(r1.has_value());
  EXPECT_EQ(r1->type_url(), kClusterType);
  EXPECT_THAT(Names(*r1), ElementsAre("a"));
  s.Send(Ack(*r1, {}));
  StreamStatus status = Settled("envoy-1", [](const StreamStatus& st) {
    return !st.types.empty() && st.types[0].acks == 1;
  });
  EXPECT_EQ(status.service, "cds");
  EXPECT_EQ(status.variant, "sotw");
  EXPECT_EQ(metrics_.Streams(ServiceKind::kCds, Variant::kSotw).Value(), 1);
  EXPECT_EQ(metrics_.Streams(ServiceKind::kAds, Variant::kSotw).Value(), 0);

  cache_.Update({{"edge", Snapshot({Cluster("a"), Cluster("b"), Listener("l1")})}});
  auto r2 = s.Next();
  ASSERT_TRUE(r2.has_value());
  EXPECT_THAT(Names(*r2), ElementsAre("a", "b"));

  // Another type on it ends the stream.
  s.Send(Sotw(kListenerType, {}));
  auto end = s.WaitForEnd();
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(end->error_message(), HasSubstr(kClusterType));

  // Delta on the same service.
  DeltaStream d([&](grpc::ClientContext* context) { return cds_stub->DeltaClusters(context); });
  d.Send(WithNode(Delta(""), MakeNode("envoy-2", "edge")));
  auto r3 = d.Next();
  ASSERT_TRUE(r3.has_value());
  EXPECT_EQ(r3->type_url(), kClusterType);
  EXPECT_THAT(Names(*r3), ElementsAre("a", "b"));
  EXPECT_EQ(metrics_.Streams(ServiceKind::kCds, Variant::kDelta).Value(), 1);

  // And the unary fetch.
  grpc::ClientContext context;
  DiscoveryResponse fetched;
  grpc::Status fetch = cds_stub->FetchClusters(
      &context, WithNode(Sotw("", {"b"}), MakeNode("envoy-3", "edge")), &fetched);
  ASSERT_TRUE(fetch.ok()) << fetch.error_message();
  EXPECT_THAT(Names(fetched), ElementsAre("b"));
}

TEST_F(AdsProtocolTest, MetricsAreRendered) {
  cache_.Update({{"edge", Snapshot({Cluster("a")})}});
  DiscoveryResponse cds;
  auto s = SotwWithClusters("envoy-1", "edge", &cds);
  std::string text = registry_.Render();
  EXPECT_THAT(text, HasSubstr("protomesh_xds_streams{service=\"ads\",variant=\"sotw\"} 1"));
  EXPECT_THAT(text, HasSubstr("protomesh_xds_responses_total{type=\"cds\",variant=\"sotw\"} 1"));
  EXPECT_THAT(text, HasSubstr("protomesh_xds_acks_total{type=\"cds\",variant=\"sotw\"} 1"));
  EXPECT_THAT(text, HasSubstr("protomesh_xds_subscriptions{type=\"cds\",variant=\"sotw\"} 1"));
  EXPECT_THAT(text, HasSubstr("protomesh_xds_snapshot_updates_total 1"));
  EXPECT_THAT(text, HasSubstr("protomesh_xds_node_clusters 1"));
  s.reset();
  EXPECT_TRUE(protomesh::testing::WaitUntil([&] {
    return metrics_.Streams(ServiceKind::kAds, Variant::kSotw).Value() == 0 &&
           metrics_.For(kCds, Variant::kSotw).subscriptions->Value() == 0;
  }));
}

TEST_F(AdsProtocolTest, ConfigDumpIsServedOnTheAdminPort) {
  cache_.Update({{"edge", Snapshot({Cluster("a")})}});
  DiscoveryResponse cds;
  auto s = SotwWithClusters("envoy-\"1\"", "edge", &cds);
  auto admin = admin::AdminServer::Start("127.0.0.1:0", &registry_, [] { return absl::OkStatus(); });
  ASSERT_TRUE(admin.ok()) << admin.status();
  xds_.AddAdminHandlers(**admin);
  httplib::Client client("127.0.0.1", (*admin)->port());
  auto response = client.Get("/config_dump");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->get_header_value("Content-Type"), "application/json");
  google::protobuf::Struct dump;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(response->body, &dump).ok())
      << response->body;
  const auto& streams = dump.fields().at("streams").list_value();
  ASSERT_EQ(streams.values_size(), 1);
  const auto& stream = streams.values(0).struct_value().fields();
  EXPECT_EQ(stream.at("node_id").string_value(), "envoy-\"1\"");
  EXPECT_EQ(stream.at("variant").string_value(), "sotw");
  const auto& type =
      stream.at("types").struct_value().fields().at(kClusterType).struct_value().fields();
  EXPECT_EQ(type.at("acked_version").string_value(), cds.version_info());
  EXPECT_EQ(type.at("sent_nonce").string_value(), cds.nonce());
  EXPECT_TRUE(type.at("wildcard").bool_value());
  (*admin)->Stop();
}

TEST_F(AdsProtocolTest, ShutdownEndsStreamsWithUnavailable) {
  cache_.Update({{"edge", Snapshot({Cluster("a")})}});
  DiscoveryResponse cds;
  auto s = SotwWithClusters("envoy-1", "edge", &cds);
  xds_.Shutdown();
  auto end = s->WaitForEnd();
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->error_code(), grpc::StatusCode::UNAVAILABLE);
  // New streams are refused the same way.
  auto late = OpenSotw();
  late->TrySend(WithNode(Sotw(kClusterType, {}), MakeNode("envoy-2", "edge")));
  end = late->WaitForEnd();
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->error_code(), grpc::StatusCode::UNAVAILABLE);
}

}  // namespace
}  // namespace protomesh::xds::server
