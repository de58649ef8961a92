// protomesh-xds: the xDS server daemon. It watches one namespace of the
// Resource Store, translates it into Envoy resources after every change, and
// serves them over ADS (and CDS/EDS/LDS/RDS) to Envoy proxies and proxyless
// gRPC clients.
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/time/clock.h"
#include "spdlog/spdlog.h"
#include "src/client/resource_watcher.h"
#include "src/client/store_channel.h"
#include "src/common/abseil_runtime.h"
#include "src/common/absl_fmt.h"
#include "src/common/admin_server.h"
#include "src/common/build_info.h"
#include "src/common/config.h"
#include "src/common/program_settings.h"
#include "src/common/memory_trimmer.h"
#include "src/common/signals.h"
#include "src/common/tls_settings.h"
#include "src/xds/server/ads_service.h"
#include "src/xds/server/snapshot_cache.h"
#include "src/xds/server/xds_server_metrics.h"
#include "src/xds/xds_controller.h"
#include "src/xds/xds_status_service.h"

using namespace protomesh;

int main(int argc, char** argv) {
  signals::BlockTerminationSignals();
  DisableMutexDeadlockDetection();

  std::string grpc_listen = "0.0.0.0:6690";
  std::string admin_listen = "0.0.0.0:6691";
  std::string store_address = "localhost:6680";
  std::string namespace_ = "default";
  program::LoggingSettings logging;
  absl::Duration shutdown_grace = absl::Seconds(5);

  config::Flags flags("protomesh-xds",
                      "The Protomesh xDS server: watches one namespace of the Resource Store, "
                      "translates it into Envoy configuration and serves it over ADS to Envoy "
                      "proxies and proxyless gRPC clients.");
  flags.Add("grpc-listen", &grpc_listen,
            "gRPC listen address (host:port) of ADS, CDS, EDS, LDS, RDS and XdsStatus");
  tls::ServerTlsSettings grpc_tls(&flags);
  flags.Add("admin-listen", &admin_listen,
            "admin HTTP listen address for /healthz, /readyz, /metrics and /config_dump "
            "(plaintext)");
  flags.Add("store-address", &store_address, "the Resource Store's gRPC address (host:port)");
  tls::ClientTlsSettings store_tls(&flags, "store-", "the store");
  flags.Add("namespace", &namespace_, "the store namespace to serve");
  flags.Add("shutdown-grace", &shutdown_grace,
            "on SIGTERM, how long the gRPC server may take to finish in-flight calls");
  program::AddLoggingFlags(flags, &logging);

  if (auto exit_code = program::ParseSettings("protomesh-xds", flags, argc, argv, logging)) {
    return *exit_code;
  }
  if (namespace_.empty()) {
    spdlog::critical("namespace must not be empty");
    return 2;
  }
  auto grpc_credentials = grpc_tls.Credentials();
  if (!grpc_credentials.ok()) {
    spdlog::critical("{}", grpc_credentials.status().message());
    return 2;
  }
  auto store_credentials = store_tls.Credentials();
  if (!store_credentials.ok()) {
    spdlog::critical("{}", store_credentials.status().message());
    return 2;
  }

  // The admin port comes up first: /healthz answers at once, and /readyz
  // says what the server waits for.
  metrics::Registry registry;
  build_info::RegisterMetric(registry);
  std::atomic<protomesh::xds::XdsController*> serving{nullptr};
  std::atomic<client::ResourceWatcher*> watching{nullptr};
  auto started = admin::AdminServer::Start(admin_listen, &registry, [&]() -> absl::Status {
    protomesh::xds::XdsController* controller = serving.load();
    if (controller == nullptr) return absl::UnavailableError("starting");
    if (!controller->synced()) {
      client::ResourceWatcher* watcher = watching.load();
      absl::Status last = watcher ? watcher->last_error() : absl::OkStatus();
      std::string hint;
      if (!store_tls.enabled() && tls::ClosedLikeATlsServer(std::string(last.message()))) {
        hint = "; the store closed a plaintext connection: if it serves TLS, set "
               "store-tls-ca-file (and store-tls-cert-file and store-tls-key-file for mTLS)";
      }
      return absl::UnavailableError(
          "waiting for the first snapshot of namespace " + namespace_ + " from the store at " +
          store_address + (last.ok() ? std::string() : " (" + last.ToString() + ")") + hint);
    }
    return absl::OkStatus();
  });
  if (!started.ok()) {
    spdlog::critical("cannot start the admin server: {}", started.status().message());
    return 1;
  }
  std::unique_ptr<admin::AdminServer> admin = *std::move(started);
  spdlog::info("admin HTTP on port {}", admin->port());

  protomesh::xds::server::XdsServerMetrics xds_metrics(registry);
  protomesh::xds::server::SnapshotCache cache(&xds_metrics);
  auto xds_server = std::make_unique<protomesh::xds::server::XdsServer>(&cache, &xds_metrics);
  protomesh::xds::XdsController controller(namespace_, &cache, registry);
  protomesh::xds::XdsStatusService status_service(&controller, xds_server.get(), &cache);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int grpc_port = 0;
  builder.AddListeningPort(grpc_listen, *grpc_credentials, &grpc_port);
  // xDS streams are long-lived and mostly idle: keep them alive through
  // middleboxes, and let clients ping.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  xds_server->RegisterServices(builder);
  builder.RegisterService(&status_service);
  std::unique_ptr<grpc::Server> grpc_server = builder.BuildAndStart();
  if (grpc_server == nullptr || grpc_port == 0) {
    spdlog::critical("cannot listen on {} (grpc-listen)", grpc_listen);
    admin->Stop();
    return 1;
  }
  spdlog::info("xDS gRPC on port {}: {}", grpc_port, grpc_tls.Describe());
  xds_server->AddAdminHandlers(*admin);

  client::WatcherOptions watcher_options;
  watcher_options.namespace_ = namespace_;
  client::ResourceWatcher watcher(
      client::CreateStoreChannel(store_address, *store_credentials, store_tls.server_name()),
      watcher_options, [&controller](const client::WatchBatch& batch) { controller.Apply(batch); });
  watching = &watcher;
  serving = &controller;
  watcher.Start();
  spdlog::info("watching namespace {} of the store at {} ({})", namespace_, store_address,
               store_tls.Describe());

  // What closed streams freed goes back to the system.
  MemoryTrimmer trimmer(
      [&xds_metrics] {
        double open = 0;
        for (int s = 0; s < protomesh::xds::server::kServiceCount; ++s) {
          for (int v = 0; v < protomesh::xds::server::kVariantCount; ++v) {
            open += xds_metrics
                        .Streams(static_cast<protomesh::xds::server::ServiceKind>(s),
                                 static_cast<protomesh::xds::server::Variant>(v))
                        .Value();
          }
        }
        return open;
      },
      MemoryTrimmer::Options{});
  trimmer.Start();

  int signal = signals::WaitForTerminationSignal();
  spdlog::info("received signal {}, shutting down", signal);
  trimmer.Stop();
  watcher.Stop();
  xds_server->Shutdown();  // ends every xDS stream: clients go to another replica
  if (auto* health = grpc_server->GetHealthCheckService()) health->Shutdown();
  grpc_server->Shutdown(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(shutdown_grace));
  grpc_server->Wait();
  admin->Stop();
  serving = nullptr;
  watching = nullptr;
  grpc_server.reset();
  xds_server.reset();
  spdlog::info("stopped");
  return 0;
}
