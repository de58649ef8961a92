// xds_scale: protomesh-xds with thousands of simulated Envoys (issue 5).
//
// Starts a private PostgreSQL (fsync on) and protomesh-store, fills one
// namespace with a mesh of several node clusters, and then, for each client
// count N, a fresh protomesh-xds on it: its memory before any client, with
// N simulated Envoys (ads_client.h) connected and synced, and after they
// all disconnect; and, with them connected, the time from a store put to
// the last affected Envoy having ACKed the change. Then repeated
// connect/disconnect cycles on another fresh protomesh-xds, and its memory
// after each. Prints one table with the goals. See bench/README.md.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <optional>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "api/services/v1/resource_store.grpc.pb.h"
#include "api/types/v1/networking.pb.h"
#include "bench/ads_client.h"
#include "bench/bench_util.h"
#include "bench/servers.h"
#include "bench/systems.h"
#include "src/common/abseil_runtime.h"
#include "src/common/config.h"

namespace protomesh::bench {
namespace {

namespace svc = protomesh::services::v1;
namespace types = protomesh::types::v1;
using envoy::service::discovery::v3::AggregatedDiscoveryService;

constexpr char kNamespace[] = "mesh";

struct Settings {
  std::string clients = "1000,10000";
  int reps = 3;
  int node_clusters = 10;
  int services = 5;
  int instances = 3;
  int streams_per_connection = 100;
  std::string variant = "sotw";
  int updates = 20;
  absl::Duration update_pause = absl::Milliseconds(200);
  int churn_cycles = 20;
  int churn_clients = 1000;
  absl::Duration settle = absl::Seconds(3);
  absl::Duration sync_timeout = absl::Minutes(3);
  absl::Duration update_timeout = absl::Seconds(30);
  std::string xds_bin = PROTOMESH_XDS_BIN;
  std::string xds_args;
  CommonSettings common;  // store_bin: the one built next to this benchmark
};

// ---------------------------------------------------------------------------
// The mesh in the store. Per node cluster "nc-<c>": `services` services
// with an instance set each, a service "common" whose instances come from
// one instance set shared by every node cluster, an HTTP ingress on port
// 10000 and a routing policy with a route to each service. Every resource
// has a fixed id, so a put of a new version replaces it.

class Mesh {
 public:
  // Node cluster c's resource ids are Id(c, slot): its services from slot
  // 0, their instance sets from kInstancesSlot, then the ingress, the
  // "common" service and the routing policy in the last three slots.
  static constexpr int64_t kIdsPerNodeCluster = 100'000;
  static constexpr int64_t kInstancesSlot = kIdsPerNodeCluster / 2;
  static constexpr int64_t kIngressSlot = kIdsPerNodeCluster - 3;
  static constexpr int64_t kCommonSlot = kIdsPerNodeCluster - 2;
  static constexpr int64_t kRoutesSlot = kIdsPerNodeCluster - 1;
  static constexpr int kMaxServices = kIngressSlot - kInstancesSlot;
  static constexpr int kMaxNodeClusters = 999;
  static int64_t Id(int c, int64_t slot) { return c * kIdsPerNodeCluster + slot; }

  Mesh(int node_clusters, int services, int instances)
      : node_clusters_(node_clusters), services_(services), instances_(instances) {}

  int node_clusters() const { return node_clusters_; }
  static std::string NodeCluster(int c) { return absl::StrCat("nc-", c); }

  std::vector<types::Resource> All() const {
    std::vector<types::Resource> all;
    for (int c = 0; c < node_clusters_; ++c) {
      for (int s = 0; s < services_; ++s) {
        all.push_back(ServiceResource(c, s));
        all.push_back(InstancesOfService(c, s, 0));
      }
      all.push_back(CommonService(c));
      all.push_back(Ingress(c));
      all.push_back(Routes(c));
    }
    all.push_back(CommonInstances(0));
    return all;
  }

  // Version `v` of the instances of node cluster c's first service: a put
  // that changes the endpoints of node cluster c only.
  types::Resource NodeClusterChange(int c, int v) const { return InstancesOfService(c, 0, v); }
  // Version `v` of the instances of "common": changes every node cluster.
  types::Resource CommonChange(int v) const { return CommonInstances(v); }

 private:
  static std::string ServiceName(int c, int s) { return absl::StrCat("nc", c, "-svc", s); }

  static types::Resource Wrap(int64_t id, const std::string& name,
                              const types::NetworkingNode& node) {
    types::Resource resource;
    resource.set_namespace_(kNamespace);
    resource.set_id(KeyId(id));
    resource.set_name(name);
    resource.mutable_spec()->PackFrom(node);
    return resource;
  }

  types::Resource ServiceResource(int c, int s) const {
    types::NetworkingNode node;
    auto* service = node.mutable_service();
    service->set_service_name(ServiceName(c, s));
    service->set_xds_cluster_name(NodeCluster(c));
    service->mutable_connect_timeout()->set_seconds(2);
    service->set_lb_policy(s % 2 == 0 ? types::Service::LB_POLICY_ROUND_ROBIN
                                      : types::Service::LB_POLICY_LEAST_REQUEST);
    service->mutable_circuit_breakers()->set_max_connections(1000);
    service->mutable_circuit_breakers()->set_max_requests(1000);
    service->mutable_outlier_detection()->set_consecutive_5xx(5);
    if (s % 2 == 1) service->mutable_instance_http2_options()->set_max_concurrent_streams(100);
    return Wrap(Id(c, s), absl::StrCat("nc-", c, "-svc-", s), node);
  }

  types::Resource CommonService(int c) const {
    types::NetworkingNode node;
    auto* service = node.mutable_service();
    service->set_service_name("common");
    service->set_xds_cluster_name(NodeCluster(c));
    return Wrap(Id(c, kCommonSlot), absl::StrCat("nc-", c, "-common"), node);
  }

  void AddInstances(types::InstanceSet* set, int a, int b, int v) const {
    for (int i = 0; i < instances_; ++i) {
      auto* instance = set->add_instances();
      instance->set_address(absl::StrCat("10.", a % 256, ".", b % 256, ".", i + 1));
      instance->set_port(8080 + v);  // every version moves the port
      instance->set_region(absl::StrCat("region-", i % 2));
      instance->set_zone(absl::StrCat("zone-", i % 3));
    }
  }

  types::Resource InstancesOfService(int c, int s, int v) const {
    types::NetworkingNode node;
    auto* set = node.mutable_instance_set();
    set->add_match_service_names(ServiceName(c, s));
    AddInstances(set, c, s, v);
    return Wrap(Id(c, kInstancesSlot + s), absl::StrCat("nc-", c, "-svc-", s, "-instances"), node);
  }

  types::Resource CommonInstances(int v) const {
    types::NetworkingNode node;
    auto* set = node.mutable_instance_set();
    set->add_match_service_names("common");
    AddInstances(set, 200, 0, v);
    return Wrap(Id(kMaxNodeClusters + 1, 0), "common-instances", node);
  }

  types::Resource Ingress(int c) const {
    types::NetworkingNode node;
    auto* ingress = node.mutable_http_ingress();
    ingress->set_xds_cluster_name(NodeCluster(c));
    ingress->set_ingress_name("public");
    ingress->set_listen_port(10000);
    ingress->add_http_filters()->mutable_health_check()->set_path("/healthz");
    ingress->set_access_log_stdout_format("[%START_TIME%] %REQ(:METHOD)% %REQ(:PATH)% %RESPONSE_CODE%\n");
    return Wrap(Id(c, kIngressSlot), absl::StrCat("nc-", c, "-ingress"), node);
  }

  types::Resource Routes(int c) const {
    types::NetworkingNode node;
    auto* policy = node.mutable_routing_policy();
    policy->set_ingress_name("public");
    policy->set_xds_cluster_name(NodeCluster(c));
    policy->set_domain("*");
    for (int s = 0; s < services_; ++s) {
      auto* route = policy->add_routes();
      route->set_match_prefix(absl::StrCat("/svc", s, "/"));
      route->set_target_service(ServiceName(c, s));
      route->mutable_timeout()->set_seconds(5);
      route->mutable_retry_policy()->set_num_retries(2);
    }
    auto* fallback = policy->add_routes();
    fallback->set_match_prefix("/");
    fallback->set_target_service("common");
    return Wrap(Id(c, kRoutesSlot), absl::StrCat("nc-", c, "-routes"), node);
  }

  const int node_clusters_;
  const int services_;
  const int instances_;
};

// Puts the mesh in applies of at most the store's 1000 operations each.
absl::Status Populate(svc::ResourceStore::Stub& store, const Mesh& mesh) {
  constexpr int kMaxOperations = 1000;
  std::vector<types::Resource> all = mesh.All();
  for (size_t start = 0; start < all.size(); start += kMaxOperations) {
    svc::ApplyRequest request;
    for (size_t i = start; i < std::min(all.size(), start + kMaxOperations); ++i) {
      *request.add_operations()->mutable_put()->mutable_resource() = std::move(all[i]);
    }
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    svc::ApplyResponse response;
    grpc::Status status = store.Apply(&context, request, &response);
    if (!status.ok()) return absl::InternalError(absl::StrCat("Apply: ", status.error_message()));
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// The simulated Envoys.

class Fleet {
 public:
  // Envoy i is node "envoy-<i>" of node cluster i mod node_clusters, on
  // connection i mod connections.
  Fleet(const std::string& address, int clients, int node_clusters, int streams_per_connection,
        AdsVariant variant) {
    const int connections = (clients + streams_per_connection - 1) / streams_per_connection;
    for (auto& channel : MakeChannels(address, connections)) {
      stubs_.push_back(AggregatedDiscoveryService::NewStub(channel));
    }
    envoys_.reserve(static_cast<size_t>(clients));
    for (int i = 0; i < clients && !g_interrupted; ++i) {
      node_cluster_.push_back(i % node_clusters);
      envoys_.push_back(ConnectEnvoy(stubs_[static_cast<size_t>(i % connections)].get(),
                                     absl::StrCat("envoy-", i), Mesh::NodeCluster(i % node_clusters),
                                     variant));
    }
  }
  ~Fleet() { Disconnect(); }

  size_t size() const { return envoys_.size(); }
  int node_cluster(size_t i) const { return node_cluster_[i]; }
  SimulatedEnvoy& envoy(size_t i) { return *envoys_[i]; }

  // Waits until every Envoy is synced; an error if one ended or time ran out.
  absl::Status WaitSynced(std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    size_t next = 0;  // Envoys before it are synced
    while (next < envoys_.size()) {
      if (envoys_[next]->ended()) {
        return absl::UnavailableError(absl::StrCat("envoy-", next, ": ", envoys_[next]->error()));
      }
      if (envoys_[next]->synced()) {
        ++next;
        continue;
      }
      if (Clock::now() > deadline || g_interrupted) {
        return absl::DeadlineExceededError(
            absl::StrCat(envoys_.size() - next, " of ", envoys_.size(), " Envoys not synced"));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return absl::OkStatus();
  }

  // Responses received, all Envoys and types together.
  uint64_t TotalResponses() const {
    uint64_t total = 0;
    for (const auto& envoy : envoys_) {
      for (int t = 0; t < kAdsTypes; ++t) total += envoy->progress(t).responses;
    }
    return total;
  }

  // Cancels every stream, waits until gRPC is done with them, and closes
  // the connections.
  void Disconnect() {
    for (auto& envoy : envoys_) envoy->Cancel();
    envoys_.clear();
    stubs_.clear();
  }

 private:
  std::vector<std::unique_ptr<AggregatedDiscoveryService::Stub>> stubs_;
  std::vector<std::unique_ptr<SimulatedEnvoy>> envoys_;
  std::vector<int> node_cluster_;
};

// ---------------------------------------------------------------------------
// Measurements.

double Mb(int64_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

struct UpdateResult {
  std::vector<double> client_ms;  // put start -> ACK written, every affected Envoy and put
  std::vector<double> first_ms;   // put start -> the first affected Envoy's ACK, per put
  std::vector<double> last_ms;    // put start -> the last affected Envoy's ACK, per put
  std::vector<double> put_ms;     // the put call itself
  double server_cpu_ms = 0;  // protomesh-xds CPU per put, the pause after it included
  double client_cpu_ms = 0;  // the same for this process (the simulated Envoys)
  int64_t missing = 0;  // affected Envoys that never ACKed a change
  int64_t extra = 0;    // responses beyond one per affected Envoy
  int64_t affected = 0;
};

struct ScaleResult {
  int clients = 0;
  int64_t rss_baseline = 0;
  int64_t rss_connected = 0;
  int64_t rss_disconnected = 0;
  double sync_seconds = 0;
  double disconnect_seconds = 0;
  UpdateResult one;  // a change to one node cluster
  UpdateResult all;  // a change to every node cluster
  std::string error;
};

struct ChurnResult {
  int64_t rss_baseline = 0;
  int64_t rss_peak = 0;           // connected, first cycle
  std::vector<int64_t> rss_after;  // after each cycle's disconnect
  std::string error;
};

class Runner {
 public:
  // `version` numbers the changes, across runners: a put of content the
  // store already has changes nothing.
  Runner(const Settings& settings, const std::string& work_dir, const Server& store,
         const Mesh& mesh, AdsVariant variant, int* version)
      : settings_(settings),
        work_dir_(work_dir),
        store_(store),
        mesh_(mesh),
        variant_(variant),
        version_(version),
        store_stub_(svc::ResourceStore::NewStub(
            grpc::CreateChannel(store.grpc_address, grpc::InsecureChannelCredentials()))) {}

  ScaleResult Scale(int clients) {
    ScaleResult result;
    result.clients = clients;
    auto xds = StartXds(absl::StrCat("xds-", VariantName(), "-", clients), &result.rss_baseline);
    if (!xds.ok()) {
      result.error = std::string(xds.status().message());
      return result;
    }
    const pid_t pid = xds->process->pid();
    Log(absl::StrFormat("%d clients: protomesh-xds baseline %.1f MB", clients, Mb(result.rss_baseline)));

    auto started = Clock::now();
    auto fleet = std::make_unique<Fleet>(xds->grpc_address, clients, mesh_.node_clusters(),
                                         settings_.streams_per_connection, variant_);
    if (absl::Status s = fleet->WaitSynced(Millis(settings_.sync_timeout)); !s.ok()) {
      result.error = absl::StrCat("connecting ", clients, " Envoys: ", s.message());
      return result;
    }
    result.sync_seconds = MillisBetween(started, Clock::now()) / 1000;
    if (absl::Status s = WaitStreams(*xds, clients); !s.ok()) {
      result.error = std::string(s.message());
      return result;
    }
    SleepFor(Millis(settings_.settle));
    result.rss_connected = RssBytes(pid);
    Log(absl::StrFormat("%d clients: connected and synced in %.2f s, %.1f MB (%.1f KB per stream)",
                        clients, result.sync_seconds, Mb(result.rss_connected),
                        static_cast<double>(result.rss_connected - result.rss_baseline) / 1024 /
                            clients));

    for (int all = 0; all < 2; ++all) {
      UpdateResult& updates = all ? result.all : result.one;
      const double cpu_before = CpuSeconds(pid);
      const double client_cpu_before = CpuSeconds(getpid());
      int rep = 0;
      for (; rep < settings_.updates && !g_interrupted && result.error.empty(); ++rep) {
        const int c = all ? -1 : rep % mesh_.node_clusters();
        const types::Resource change =
            all ? mesh_.CommonChange(++*version_) : mesh_.NodeClusterChange(c, ++*version_);
        result.error = Update(*fleet, change, c, updates);
      }
      if (rep > 0) {
        updates.server_cpu_ms = (CpuSeconds(pid) - cpu_before) * 1000 / rep;
        updates.client_cpu_ms = (CpuSeconds(getpid()) - client_cpu_before) * 1000 / rep;
      }
      if (!updates.client_ms.empty()) {
        LogUpdates(clients, all ? "all node clusters" : "one node cluster", updates);
      }
    }

    started = Clock::now();
    fleet.reset();
    result.disconnect_seconds = MillisBetween(started, Clock::now()) / 1000;
    if (absl::Status s = WaitStreams(*xds, 0); !s.ok()) {
      if (result.error.empty()) result.error = std::string(s.message());
      return result;
    }
    SleepFor(Millis(settings_.settle));
    result.rss_disconnected = RssBytes(pid);
    Log(absl::StrFormat("%d clients: all disconnected: %.1f MB (baseline %.1f MB)", clients,
                        Mb(result.rss_disconnected), Mb(result.rss_baseline)));
    xds->process->Stop();
    return result;
  }

  ChurnResult Churn() {
    ChurnResult result;
    auto xds = StartXds(absl::StrCat("xds-", VariantName(), "-churn"), &result.rss_baseline);
    if (!xds.ok()) {
      result.error = std::string(xds.status().message());
      return result;
    }
    const pid_t pid = xds->process->pid();
    for (int cycle = 0; cycle < settings_.churn_cycles && !g_interrupted; ++cycle) {
      {
        Fleet fleet(xds->grpc_address, settings_.churn_clients, mesh_.node_clusters(),
                    settings_.streams_per_connection, variant_);
        absl::Status s = fleet.WaitSynced(Millis(settings_.sync_timeout));
        if (s.ok()) s = WaitStreams(*xds, settings_.churn_clients);
        if (!s.ok()) {
          result.error = absl::StrCat("churn cycle ", cycle + 1, ": ", s.message());
          return result;
        }
        if (cycle == 0) result.rss_peak = RssBytes(pid);
      }
      if (absl::Status s = WaitStreams(*xds, 0); !s.ok()) {
        result.error = absl::StrCat("churn cycle ", cycle + 1, ": ", s.message());
        return result;
      }
      SleepFor(Millis(settings_.settle));
      result.rss_after.push_back(RssBytes(pid));
      Log(absl::StrFormat("churn cycle %d: %d clients connected, synced, disconnected: %.1f MB",
                          cycle + 1, settings_.churn_clients, Mb(result.rss_after.back())));
    }
    xds->process->Stop();
    return result;
  }

  std::string VariantName() const { return variant_ == AdsVariant::kSotw ? "sotw" : "delta"; }

 private:
  // A fresh protomesh-xds, ready (it has translated the store's mesh), and
  // its memory once settled.
  absl::StatusOr<Server> StartXds(const std::string& name, int64_t* rss) {
    std::vector<std::string> argv = {settings_.xds_bin, "--store-address=" + store_.grpc_address,
                                     absl::StrCat("--namespace=", kNamespace), "--log-level=warn"};
    for (absl::string_view arg : absl::StrSplit(settings_.xds_args, ' ', absl::SkipWhitespace())) {
      argv.emplace_back(arg);
    }
    auto xds = StartServer(argv, absl::StrCat(work_dir_, "/", name, ".log"));
    if (!xds.ok()) return xds.status();
    SleepFor(Millis(settings_.settle));
    *rss = RssBytes(xds->process->pid());
    return xds;
  }

  // Waits until protomesh-xds counts `count` open ADS streams.
  absl::Status WaitStreams(const Server& xds, int count) {
    const std::string series =
        absl::StrCat("protomesh_xds_streams{service=\"ads\",variant=\"", VariantName(), "\"}");
    auto deadline = Clock::now() + std::chrono::seconds(60);
    double seen = -1;
    while (Clock::now() < deadline && !g_interrupted) {
      seen = xds.Metric(series);
      if (seen == count) return absl::OkStatus();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return absl::DeadlineExceededError(
        absl::StrCat("protomesh-xds has ", seen, " streams open, expected ", count));
  }

  absl::Status PutAll(const std::vector<types::Resource>& resources) {
    for (const auto& resource : resources) {
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
      svc::PutResourceRequest request;
      *request.mutable_resource() = resource;
      svc::PutResourceResponse response;
      grpc::Status status = store_stub_->Put(&context, request, &response);
      if (!status.ok()) return absl::InternalError(absl::StrCat("Put: ", status.error_message()));
    }
    return absl::OkStatus();
  }

  // Puts `change` and waits until every Envoy of node cluster `c` (every
  // Envoy when c < 0) has ACKed an EDS version other than the one it had.
  // Returns an error message, empty when all went well.
  std::string Update(Fleet& fleet, const types::Resource& change, int c,
                     UpdateResult& result) {
    std::vector<size_t> affected;
    for (size_t i = 0; i < fleet.size(); ++i) {
      if (c < 0 || fleet.node_cluster(i) == c) affected.push_back(i);
    }
    std::vector<std::string> before;
    before.reserve(affected.size());
    for (size_t i : affected) before.push_back(fleet.envoy(i).progress(kEds).acked_version);
    const uint64_t responses_before = fleet.TotalResponses();

    const auto start = Clock::now();
    if (absl::Status s = PutAll({change}); !s.ok()) return std::string(s.message());
    result.put_ms.push_back(MillisBetween(start, Clock::now()));

    auto deadline = start + Millis(settings_.update_timeout);
    size_t next = 0;  // Envoys before it have ACKed the change
    while (next < affected.size() && Clock::now() < deadline && !g_interrupted) {
      if (fleet.envoy(affected[next]).progress(kEds).acked_version != before[next]) {
        ++next;
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
    double first = std::nan(""), last = 0;
    for (size_t k = 0; k < affected.size(); ++k) {
      TypeProgress p = fleet.envoy(affected[k]).progress(kEds);
      if (p.acked_version == before[k]) {
        ++result.missing;
        continue;
      }
      double ms = MillisBetween(start, p.acked_at);
      result.client_ms.push_back(ms);
      first = std::isnan(first) ? ms : std::min(first, ms);
      last = std::max(last, ms);
    }
    result.first_ms.push_back(first);
    result.last_ms.push_back(last);
    result.affected = static_cast<int64_t>(affected.size());
    // Anything else the change causes arrives during the pause.
    SleepFor(Millis(settings_.update_pause));
    const int64_t responses = static_cast<int64_t>(fleet.TotalResponses() - responses_before);
    result.extra += std::max<int64_t>(0, responses - static_cast<int64_t>(affected.size()));
    if (next < affected.size()) {
      return absl::StrCat(affected.size() - next, " of ", affected.size(),
                          " Envoys did not ACK a change within ",
                          absl::FormatDuration(settings_.update_timeout));
    }
    return "";
  }

  void LogUpdates(int clients, const std::string& what, UpdateResult r) {
    Log(absl::StrFormat(
        "%d clients, change to %s (%d Envoys each): put → ACK p50 %.1f ms p99 %.1f ms; to the "
        "last Envoy p50 %.1f ms max %.1f ms; CPU per change: server %.1f ms, clients %.1f ms",
        clients, what, r.affected, Quantile(r.client_ms, 0.5), Quantile(r.client_ms, 0.99),
        Quantile(r.last_ms, 0.5), Max(r.last_ms), r.server_cpu_ms, r.client_cpu_ms));
  }

  static void Log(const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); }

  const Settings& settings_;
  const std::string work_dir_;
  const Server& store_;
  const Mesh& mesh_;
  const AdsVariant variant_;
  int* const version_;
  std::unique_ptr<svc::ResourceStore::Stub> store_stub_;
};

// ---------------------------------------------------------------------------
// The report.

struct Row {
  std::string scope;
  std::string metric;
  std::string value;
  std::string goal;
  std::string verdict;  // "met", "missed" or empty
};

std::string Verdict(bool met) { return met ? "met" : "**missed**"; }

std::string F(const char* spec, double value) {
  if (std::isnan(value)) return "–";
  return absl::StrFormat(*absl::ParsedFormat<'f'>::New(spec), value);
}

// The figures of one repetition at one client count.
struct ScaleFigures {
  struct Change {
    double client_p50, client_p99, client_max;  // put → ACK over Envoys
    double last_p50, last_p99;                  // put → last Envoy's ACK over puts
    double put_p50, first_p50;
    double server_cpu_ms, client_cpu_ms;
  };
  double rss_baseline_mb, rss_connected_mb, per_stream_kb, sync_s;
  std::optional<Change> one, all;
  double rss_disconnected_mb, above_mb, above_share, disconnect_s;
};

ScaleFigures Figures(const ScaleResult& r) {
  ScaleFigures f{};
  const double streams_kb = static_cast<double>(r.rss_connected - r.rss_baseline) / 1024;
  f.rss_baseline_mb = Mb(r.rss_baseline);
  f.rss_connected_mb = Mb(r.rss_connected);
  f.per_stream_kb = streams_kb / r.clients;
  f.sync_s = r.sync_seconds;
  auto change = [](UpdateResult u) -> std::optional<ScaleFigures::Change> {
    if (u.client_ms.empty()) return std::nullopt;
    return ScaleFigures::Change{Quantile(u.client_ms, 0.5), Quantile(u.client_ms, 0.99),
                                Max(u.client_ms),           Quantile(u.last_ms, 0.5),
                                Quantile(u.last_ms, 0.99),  Median(u.put_ms),
                                Median(u.first_ms),         u.server_cpu_ms,
                                u.client_cpu_ms};
  };
  f.one = change(r.one);
  f.all = change(r.all);
  const double above_kb = static_cast<double>(r.rss_disconnected - r.rss_baseline) / 1024;
  f.rss_disconnected_mb = r.rss_disconnected > 0 ? Mb(r.rss_disconnected) : std::nan("");
  f.above_mb = r.rss_disconnected > 0 ? above_kb / 1024 : std::nan("");
  f.above_share = r.rss_disconnected > 0 && streams_kb > 0 ? 100 * above_kb / streams_kb : std::nan("");
  f.disconnect_s = r.rss_disconnected > 0 ? r.disconnect_seconds : std::nan("");
  return f;
}

// The medians of the repetitions at one client count.
void AddScaleRows(const std::vector<ScaleResult>& reps, const std::string& variant, int largest,
                  std::vector<Row>& rows) {
  const int clients = reps.front().clients;
  const std::string scope = absl::StrCat(clients, " clients (", variant, ")");
  const bool judged = clients >= 10000 || clients == largest;
  std::vector<ScaleFigures> figures;
  for (const ScaleResult& r : reps) {
    if (!r.error.empty()) rows.push_back({scope, "error", r.error, "", Verdict(false)});
    if (r.rss_connected > 0) figures.push_back(Figures(r));
  }
  if (figures.empty()) return;
  auto median = [&](auto field) {
    std::vector<double> values;
    for (const ScaleFigures& f : figures) values.push_back(field(f));
    return Median(values);
  };
  const double per_stream = median([](const ScaleFigures& f) { return f.per_stream_kb; });
  rows.push_back({scope, "protomesh-xds RSS, no clients (MB)",
                  F("%.1f", median([](const ScaleFigures& f) { return f.rss_baseline_mb; })), "", ""});
  rows.push_back({scope, "RSS, all connected and synced (MB)",
                  F("%.1f", median([](const ScaleFigures& f) { return f.rss_connected_mb; })), "", ""});
  rows.push_back({scope, "memory per stream (KB)", F("%.1f", per_stream), judged ? "< 50 KB" : "",
                  judged ? Verdict(per_stream < 50) : ""});
  rows.push_back({scope, "connect all and sync (s)",
                  F("%.2f", median([](const ScaleFigures& f) { return f.sync_s; })), "", ""});
  for (bool all : {false, true}) {
    const UpdateResult& any = all ? reps.front().all : reps.front().one;
    auto of = [&](auto field) {
      return median([&](const ScaleFigures& f) {
        const auto& c = all ? f.all : f.one;
        return c ? field(*c) : std::nan("");
      });
    };
    using C = ScaleFigures::Change;
    if (std::isnan(of([](const C& c) { return c.last_p50; }))) continue;
    const std::string prefix = absl::StrCat("change to ", all ? "all node clusters" : "one node cluster",
                                            " (", any.affected, " Envoys): ");
    rows.push_back({scope, prefix + "put → ACK, p50 / p99 / max over Envoys (ms)",
                    absl::StrCat(F("%.1f", of([](const C& c) { return c.client_p50; })), " / ",
                                 F("%.1f", of([](const C& c) { return c.client_p99; })), " / ",
                                 F("%.1f", of([](const C& c) { return c.client_max; }))),
                    "", ""});
    const double p99_last = of([](const C& c) { return c.last_p99; });
    rows.push_back({scope,
                    absl::StrCat(prefix, "put → last Envoy's ACK, p50 / p99 over ",
                                 any.last_ms.size(), " puts (ms)"),
                    absl::StrCat(F("%.1f", of([](const C& c) { return c.last_p50; })), " / ",
                                 F("%.1f", p99_last)),
                    judged ? "p99 < 100 ms" : "", judged ? Verdict(p99_last < 100) : ""});
    rows.push_back({scope, prefix + "the put call alone / put → first Envoy's ACK, p50 (ms)",
                    absl::StrCat(F("%.1f", of([](const C& c) { return c.put_p50; })), " / ",
                                 F("%.1f", of([](const C& c) { return c.first_p50; }))),
                    "", ""});
    rows.push_back({scope, prefix + "CPU per change: protomesh-xds / the simulated Envoys (ms)",
                    absl::StrCat(F("%.1f", of([](const C& c) { return c.server_cpu_ms; })), " / ",
                                 F("%.1f", of([](const C& c) { return c.client_cpu_ms; }))),
                    "", ""});
  }
  for (const ScaleResult& r : reps) {
    for (const UpdateResult* u : {&r.one, &r.all}) {
      if (u->missing > 0 || u->extra > 0) {
        rows.push_back({scope, "ACKs missing / responses beyond one per affected Envoy",
                        absl::StrCat(u->missing, " / ", u->extra), "0 / 0", Verdict(false)});
      }
    }
  }
  const double share = median([](const ScaleFigures& f) { return f.above_share; });
  if (!std::isnan(share)) {
    rows.push_back({scope, "RSS after all disconnected (MB)",
                    F("%.1f", median([](const ScaleFigures& f) { return f.rss_disconnected_mb; })),
                    "", ""});
    rows.push_back({scope, "  above the baseline, in % of what the streams took",
                    absl::StrFormat("%.1f MB, %.0f %%",
                                    median([](const ScaleFigures& f) { return f.above_mb; }), share),
                    judged ? "≤ 10 %" : "", judged ? Verdict(share <= 10) : ""});
    rows.push_back({scope, "disconnect all (s)",
                    F("%.2f", median([](const ScaleFigures& f) { return f.disconnect_s; })), "", ""});
  }
}

void AddChurnRows(const ChurnResult& r, const Settings& settings, const std::string& variant,
                  std::vector<Row>& rows) {
  const std::string scope = absl::StrCat("churn (", variant, "): ", settings.churn_cycles, " × ",
                                         settings.churn_clients, " clients");
  if (r.rss_after.empty()) {
    rows.push_back({scope, "error", r.error, "", Verdict(false)});
    return;
  }
  const double streams_kb = static_cast<double>(r.rss_peak - r.rss_baseline) / 1024;
  const double growth_kb = static_cast<double>(r.rss_after.back() - r.rss_after.front()) / 1024;
  rows.push_back({scope, "RSS: no clients / connected (cycle 1) (MB)",
                  absl::StrCat(F("%.1f", Mb(r.rss_baseline)), " / ", F("%.1f", Mb(r.rss_peak))), "", ""});
  std::vector<std::string> after;
  for (int64_t rss : r.rss_after) after.push_back(F("%.1f", Mb(rss)));
  rows.push_back({scope, "RSS after each cycle's disconnect (MB)", absl::StrJoin(after, ", "), "", ""});
  rows.push_back({scope, "growth from cycle 1 to the last (MB)", F("%.1f", growth_kb / 1024), "", ""});
  // The trend once warm: the least-squares slope over the second half.
  const size_t from = r.rss_after.size() / 2;
  if (r.rss_after.size() - from >= 2) {
    double n = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (size_t k = from; k < r.rss_after.size(); ++k) {
      const double x = static_cast<double>(k), y = static_cast<double>(r.rss_after[k]) / 1024;
      n += 1;
      sx += x;
      sy += y;
      sxx += x * x;
      sxy += x * y;
    }
    const double slope_kb = (n * sxy - sx * sy) / (n * sxx - sx * sx);
    const double share = streams_kb > 0 ? 100 * slope_kb / streams_kb : 0;
    rows.push_back({scope,
                    absl::StrCat("growth per cycle over cycles ", from + 1, "–", r.rss_after.size(),
                                 " (KB; % of one cycle's streams)"),
                    absl::StrFormat("%.0f; %.2f %%", slope_kb, share), "≤ 1 % (no growth)",
                    Verdict(share <= 1)});
  }
  if (!r.error.empty()) rows.push_back({scope, "error", r.error, "", Verdict(false)});
}

std::string RenderRows(const std::vector<Row>& rows) {
  std::string out = "| clients | metric | value | goal | |\n|---|---|---:|---|---|\n";
  for (const auto& row : rows) {
    absl::StrAppend(&out, "| ", row.scope, " | ", row.metric, " | ", row.value, " | ", row.goal,
                    " | ", row.verdict, " |\n");
  }
  return out;
}

absl::Status RaiseFileLimit(int needed) {
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &limit) != 0) return absl::InternalError("setrlimit failed");
  if (limit.rlim_cur < static_cast<rlim_t>(needed)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "open files are limited to ", limit.rlim_cur, " (hard limit), and ", needed,
        " are needed: raise `ulimit -Hn` or use more --streams-per-connection"));
  }
  return absl::OkStatus();
}

int Main(int argc, char** argv) {
  WatchForInterrupt();
  // As the servers do (the simulated Envoys share the machine with them).
  DisableMutexDeadlockDetection();
  Settings settings;
  config::Flags flags("xds_scale",
                      "Connects thousands of simulated Envoys (ADS over loopback, in this "
                      "process) to a fresh protomesh-xds on a private store and measures its "
                      "memory per stream, the time from a store put to every affected Envoy's "
                      "ACK, and its memory after disconnects and churn. Prints one table.");
  flags.Add("clients", &settings.clients, "client (stream) counts, one fresh protomesh-xds each");
  flags.Add("reps", &settings.reps, "repetitions at every client count; the table shows medians");
  flags.Add("node-clusters", &settings.node_clusters, "node clusters the clients are spread over");
  flags.Add("services", &settings.services, "services (with an instance set each) per node cluster");
  flags.Add("instances", &settings.instances, "instances per instance set");
  flags.Add("streams-per-connection", &settings.streams_per_connection,
            "ADS streams per gRPC connection (1: one connection per Envoy, as real Envoys)");
  flags.Add("variant", &settings.variant, "sotw, delta, or both (sotw,delta)");
  flags.Add("updates", &settings.updates, "puts measured per kind of change and client count");
  flags.Add("update-pause", &settings.update_pause, "pause after every measured put");
  flags.Add("churn-cycles", &settings.churn_cycles, "connect/disconnect cycles (0: no churn run)");
  flags.Add("churn-clients", &settings.churn_clients, "clients per churn cycle");
  flags.Add("settle", &settings.settle, "wait before each memory reading");
  flags.Add("sync-timeout", &settings.sync_timeout, "longest wait for all clients to sync");
  flags.Add("update-timeout", &settings.update_timeout, "longest wait for a change to arrive");
  flags.Add("xds-bin", &settings.xds_bin, "the protomesh-xds binary");
  flags.Add("xds-args", &settings.xds_args, "extra protomesh-xds flags, space-separated");
  settings.common.store_bin = PROTOMESH_STORE_BIN;
  AddCommonFlags(flags, &settings.common);
  if (auto exit_code = ParseFlags(flags, argc, argv)) return *exit_code;
  auto clients = ParsePositiveList(settings.clients);
  std::vector<AdsVariant> variants;
  for (absl::string_view v : absl::StrSplit(settings.variant, ',', absl::SkipWhitespace())) {
    if (v == "sotw") {
      variants.push_back(AdsVariant::kSotw);
    } else if (v == "delta") {
      variants.push_back(AdsVariant::kDelta);
    } else {
      std::fprintf(stderr, "xds_scale: --variant: sotw or delta, not %s\n", std::string(v).c_str());
      return 2;
    }
  }
  if (!clients.ok() || clients->empty() || settings.node_clusters <= 0 || settings.services <= 0 ||
      settings.instances <= 0 || settings.streams_per_connection <= 0 || settings.updates < 0 ||
      settings.reps <= 0 || settings.churn_clients <= 0) {
    std::fprintf(stderr, "xds_scale: %s\n",
                 clients.ok() ? "counts must be positive" : std::string(clients.status().message()).c_str());
    return 2;
  }
  if (settings.services > Mesh::kMaxServices || settings.node_clusters > Mesh::kMaxNodeClusters) {
    std::fprintf(stderr, "xds_scale: at most %d services per node cluster and %d node clusters\n",
                 Mesh::kMaxServices, Mesh::kMaxNodeClusters);
    return 2;
  }
  const int largest = static_cast<int>(*std::max_element(clients->begin(), clients->end()));
  // Every connection is a socket here and one in protomesh-xds, which
  // inherits the limit.
  const int connections = (largest + settings.streams_per_connection - 1) / settings.streams_per_connection;
  if (absl::Status s = RaiseFileLimit(connections + 1000); !s.ok()) {
    std::fprintf(stderr, "xds_scale: %s\n", std::string(s.message()).c_str());
    return 2;
  }

  auto work_dir = MakeWorkDir(settings.common.work_dir_parent);
  if (!work_dir.ok()) {
    std::fprintf(stderr, "xds_scale: %s\n", std::string(work_dir.status().message()).c_str());
    return 1;
  }
  std::fprintf(stderr, "work directory %s\n", work_dir->c_str());

  int exit_code = 0;
  std::string report;
  std::unique_ptr<store::EmbeddedPostgres> postgres;
  Server store;
  {
    std::string postgres_version;
    PostgresSettings postgres_settings;
    postgres_settings.bin_dir = settings.common.pg_bin_dir;
    auto started = StartPostgres(*work_dir, postgres_settings, &postgres_version);
    absl::Status status = started.status();
    if (status.ok()) {
      postgres = *std::move(started);
      status = postgres->CreateDatabaseIfMissing("protomesh");
    }
    if (status.ok()) {
      auto s = StartStore(settings.common.store_bin, postgres->Url("protomesh"), *work_dir + "/store.log");
      status = s.status();
      if (s.ok()) store = *std::move(s);
    }
    const Mesh mesh(settings.node_clusters, settings.services, settings.instances);
    if (status.ok()) {
      auto stub = svc::ResourceStore::NewStub(
          grpc::CreateChannel(store.grpc_address, grpc::InsecureChannelCredentials()));
      status = Populate(*stub, mesh);
    }
    if (!status.ok()) {
      std::fprintf(stderr, "xds_scale: %s\n", std::string(status.message()).c_str());
      exit_code = 1;
    } else {
      WaitForQuietMachine(settings.common.quiet_load, settings.common.quiet_wait);
      const std::string load_before = LoadAverage();
      const std::string started_at = Now();
      std::vector<Row> rows;
      bool failed = false;
      int version = 0;
      for (AdsVariant variant : variants) {
        Runner runner(settings, *work_dir, store, mesh, variant, &version);
        for (int64_t n : *clients) {
          std::vector<ScaleResult> reps;
          for (int rep = 0; rep < settings.reps && !g_interrupted; ++rep) {
            reps.push_back(runner.Scale(static_cast<int>(n)));
            if (!reps.back().error.empty()) failed = true;
          }
          if (!reps.empty()) AddScaleRows(reps, runner.VariantName(), largest, rows);
        }
        if (settings.churn_cycles > 0 && !g_interrupted) {
          ChurnResult r = runner.Churn();
          if (!r.error.empty()) failed = true;
          AddChurnRows(r, settings, runner.VariantName(), rows);
        }
      }
      report = absl::StrCat(
          "Run ", started_at, " to ", Now(), " on ", MachineDescription(), ".\n",
          "Load average (1, 5, 15 min) before: ", load_before, "; after: ", LoadAverage(), ".\n",
          "PostgreSQL ", postgres_version, " (fsync on). ", settings.node_clusters,
          " node clusters, each with ", settings.services + 1, " clusters (", settings.instances,
          " endpoints each), 1 listener, 1 route configuration; ", settings.streams_per_connection,
          " ADS streams per gRPC connection; ", settings.updates,
          " puts per kind of change; memory read ", absl::FormatDuration(settings.settle),
          " after each step. Every client count ", settings.reps,
          " times on a fresh protomesh-xds: the medians of the repetitions.\n\n",
          RenderRows(rows));
      if (failed) exit_code = 1;
      if (g_interrupted) {
        absl::StrAppend(&report, "\n(interrupted: partial results)\n");
        exit_code = 130;
      }
    }
  }
  PrintReport(report, settings.common.output);
  if (store.process) store.process->Stop();
  StopPostgres(postgres);
  RemoveWorkDir(*work_dir, settings.common.keep_work_dir);
  return exit_code;
}

}  // namespace
}  // namespace protomesh::bench

int main(int argc, char** argv) { return protomesh::bench::Main(argc, argv); }
