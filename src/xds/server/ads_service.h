#pragma once
// The xDS server's gRPC services: ADS (state-of-the-world and delta) and the
// per-type CDS, EDS, LDS and RDS services, all on the same stream
// implementation (ads_stream.h), all serving the snapshots of one
// SnapshotCache.
//
// Wiring: construct an XdsServer over the cache and the metrics, register
// its services on a grpc::ServerBuilder, and feed every Translation's
// snapshots to SnapshotCache::Update. The cache and the metrics must outlive
// the XdsServer, and the XdsServer the grpc::Server: call Shutdown(), then
// shut the grpc::Server down, then destroy the XdsServer.
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "envoy/service/cluster/v3/cds.grpc.pb.h"
#include "envoy/service/discovery/v3/ads.grpc.pb.h"
#include "envoy/service/endpoint/v3/eds.grpc.pb.h"
#include "envoy/service/listener/v3/lds.grpc.pb.h"
#include "envoy/service/route/v3/rds.grpc.pb.h"
#include "src/common/admin_server.h"
#include "src/xds/server/ads_stream.h"
#include "src/xds/server/snapshot_cache.h"
#include "src/xds/server/xds_server_metrics.h"

namespace protomesh::xds::server {

namespace discovery = envoy::service::discovery::v3;

// The streaming methods are registered raw (see ads_stream.h).
using SotwReactor = RawStreamReactor;
using DeltaReactor = RawStreamReactor;

namespace cds = envoy::service::cluster::v3;
namespace eds = envoy::service::endpoint::v3;
namespace lds = envoy::service::listener::v3;
namespace rds = envoy::service::route::v3;

class AdsService final
    : public discovery::AggregatedDiscoveryService::WithRawCallbackMethod_StreamAggregatedResources<
          discovery::AggregatedDiscoveryService::WithRawCallbackMethod_DeltaAggregatedResources<
              discovery::AggregatedDiscoveryService::Service>> {
 public:
  explicit AdsService(StreamRegistry* registry) : registry_(registry) {}
  SotwReactor* StreamAggregatedResources(grpc::CallbackServerContext* context) override;
  DeltaReactor* DeltaAggregatedResources(grpc::CallbackServerContext* context) override;

 private:
  StreamRegistry* const registry_;
};

class CdsService final
    : public cds::ClusterDiscoveryService::WithRawCallbackMethod_StreamClusters<
          cds::ClusterDiscoveryService::WithRawCallbackMethod_DeltaClusters<
              cds::ClusterDiscoveryService::WithCallbackMethod_FetchClusters<
                  cds::ClusterDiscoveryService::Service>>> {
 public:
  explicit CdsService(StreamRegistry* registry) : registry_(registry) {}
  SotwReactor* StreamClusters(grpc::CallbackServerContext* context) override;
  DeltaReactor* DeltaClusters(grpc::CallbackServerContext* context) override;
  grpc::ServerUnaryReactor* FetchClusters(grpc::CallbackServerContext* context,
                                          const discovery::DiscoveryRequest* request,
                                          discovery::DiscoveryResponse* response) override;

 private:
  StreamRegistry* const registry_;
};

class EdsService final
    : public eds::EndpointDiscoveryService::WithRawCallbackMethod_StreamEndpoints<
          eds::EndpointDiscoveryService::WithRawCallbackMethod_DeltaEndpoints<
              eds::EndpointDiscoveryService::WithCallbackMethod_FetchEndpoints<
                  eds::EndpointDiscoveryService::Service>>> {
 public:
  explicit EdsService(StreamRegistry* registry) : registry_(registry) {}
  SotwReactor* StreamEndpoints(grpc::CallbackServerContext* context) override;
  DeltaReactor* DeltaEndpoints(grpc::CallbackServerContext* context) override;
  grpc::ServerUnaryReactor* FetchEndpoints(grpc::CallbackServerContext* context,
                                           const discovery::DiscoveryRequest* request,
                                           discovery::DiscoveryResponse* response) override;

 private:
  StreamRegistry* const registry_;
};

class LdsService final
    : public lds::ListenerDiscoveryService::WithRawCallbackMethod_StreamListeners<
          lds::ListenerDiscoveryService::WithRawCallbackMethod_DeltaListeners<
              lds::ListenerDiscoveryService::WithCallbackMethod_FetchListeners<
                  lds::ListenerDiscoveryService::Service>>> {
 public:
  explicit LdsService(StreamRegistry* registry) : registry_(registry) {}
  SotwReactor* StreamListeners(grpc::CallbackServerContext* context) override;
  DeltaReactor* DeltaListeners(grpc::CallbackServerContext* context) override;
  grpc::ServerUnaryReactor* FetchListeners(grpc::CallbackServerContext* context,
                                           const discovery::DiscoveryRequest* request,
                                           discovery::DiscoveryResponse* response) override;

 private:
  StreamRegistry* const registry_;
};

class RdsService final
    : public rds::RouteDiscoveryService::WithRawCallbackMethod_StreamRoutes<
          rds::RouteDiscoveryService::WithRawCallbackMethod_DeltaRoutes<
              rds::RouteDiscoveryService::WithCallbackMethod_FetchRoutes<
                  rds::RouteDiscoveryService::Service>>> {
 public:
  explicit RdsService(StreamRegistry* registry) : registry_(registry) {}
  SotwReactor* StreamRoutes(grpc::CallbackServerContext* context) override;
  DeltaReactor* DeltaRoutes(grpc::CallbackServerContext* context) override;
  grpc::ServerUnaryReactor* FetchRoutes(grpc::CallbackServerContext* context,
                                        const discovery::DiscoveryRequest* request,
                                        discovery::DiscoveryResponse* response) override;

 private:
  StreamRegistry* const registry_;
};

// Every service above over one cache, plus the view of the open streams.
class XdsServer {
 public:
  XdsServer(SnapshotCache* cache, XdsServerMetrics* metrics);
  XdsServer(const XdsServer&) = delete;
  XdsServer& operator=(const XdsServer&) = delete;

  // Registers ADS, CDS, EDS, LDS and RDS.
  void RegisterServices(grpc::ServerBuilder& builder);

  // The open streams whose node is known, oldest first.
  std::vector<StreamStatus> Streams() const;
  // Streams() as JSON, for an admin /config_dump handler: per connected
  // node its id and cluster, and per type what it subscribed to, the
  // version and nonce last sent, the version it last ACKed, its last NACK,
  // and the resources (name and version) it was sent.
  std::string ConfigDump() const;
  // Serves ConfigDump() at /config_dump. The admin server must stop before
  // the XdsServer goes.
  void AddAdminHandlers(admin::AdminServer& admin);

  // Ends every stream with UNAVAILABLE (clients reconnect, to another
  // replica if there is one) and refuses new streams.
  void Shutdown();

 private:
  StreamRegistry registry_;
  AdsService ads_;
  CdsService cds_;
  EdsService eds_;
  LdsService lds_;
  RdsService rds_;
};

}  // namespace protomesh::xds::server
