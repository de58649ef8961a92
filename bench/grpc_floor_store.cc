// grpc_floor_store: the ResourceStore service with no database behind it,
// to measure what gRPC C++ alone costs on this machine.
//
// A Put is numbered and answered at once, on the gRPC thread that received
// it (no validation, no batching, nothing durable), and handed to the same
// WatchHub the store uses, with the same flush threads. A Watch is the
// store's own watch session with nothing to read first: end_of_list at
// once, then every change of its namespace. Everything else is
// UNIMPLEMENTED.
//
// `store_vs_etcd --store-bin=<this binary> --workloads=put,watch` runs the
// put, idle-watcher and watch workloads against it in the store's place:
// whatever the store's figures could become if its database cost nothing,
// they cannot be better than these (bench/RESULTS.md, "gRPC alone").
#include <memory>
#include <mutex>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "api/services/v1/resource_store.grpc.pb.h"
#include "spdlog/spdlog.h"
#include "src/common/abseil_runtime.h"
#include "src/common/admin_server.h"
#include "src/common/config.h"
#include "src/common/program_settings.h"
#include "src/common/signals.h"
#include "src/store/store_metrics.h"
#include "src/store/watch_hub.h"
#include "src/store/watch_stream.h"

namespace protomesh::bench {
namespace {

namespace svc = protomesh::services::v1;

class FloorService final : public svc::ResourceStore::CallbackService {
 public:
  FloorService(store::WatchHub* hub, store::StoreMetrics* metrics) : hub_(hub), metrics_(metrics) {}

  grpc::ServerUnaryReactor* Put(grpc::CallbackServerContext* context,
                                const svc::PutResourceRequest* request,
                                svc::PutResourceResponse* response) override {
    auto change = std::make_shared<store::NamespaceChange>();
    change->namespace_ = request->resource().namespace_();
    auto& record = change->records.emplace_back();
    record.resource = request->resource();
    {
      // Numbering and publishing together keep the changes in revision order.
      std::lock_guard lock(mu_);
      change->revision = ++revision_;
      record.revision = change->revision;
      record.resource.mutable_version()->set_index(change->revision);
      hub_->Publish(change->revision, {change});
    }
    response->mutable_version()->set_index(change->revision);
    response->set_created(true);
    auto* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  grpc::ServerWriteReactor<svc::WatchResourcesResponse>* Watch(
      grpc::CallbackServerContext* /*context*/,
      const svc::WatchResourcesRequest* request) override {
    return store::StartWatchOfPublishedChanges(*request, store::WatchOptions{}, hub_, metrics_);
  }

 private:
  store::WatchHub* const hub_;
  store::StoreMetrics* const metrics_;
  std::mutex mu_;
  int64_t revision_ = 0;
};

int Main(int argc, char** argv) {
  signals::BlockTerminationSignals();
  DisableMutexDeadlockDetection();
  std::string grpc_listen = "127.0.0.1:0";
  std::string admin_listen = "127.0.0.1:0";
  std::string database_url;
  int flush_threads = 2;  // the store's default
  program::LoggingSettings logging;
  config::Flags flags("grpc_floor_store",
                      "The ResourceStore service without a database (Put answers at once, Watch "
                      "fans out through the store's WatchHub): what gRPC C++ alone costs, for "
                      "store_vs_etcd --store-bin.");
  flags.Add("grpc-listen", &grpc_listen, "gRPC listen address (host:port)");
  flags.Add("admin-listen", &admin_listen, "admin HTTP listen address (/readyz, /metrics)");
  flags.Add("database-url", &database_url,
            "ignored: accepted so that benchmarks can start it as they start the store");
  flags.Add("watch-flush-threads", &flush_threads, "the WatchHub's flush threads");
  program::AddLoggingFlags(flags, &logging);
  if (auto exit_code = program::ParseSettings("grpc_floor_store", flags, argc, argv, logging)) {
    return *exit_code;
  }

  metrics::Registry registry;
  auto admin = admin::AdminServer::Start(admin_listen, &registry, [] { return absl::OkStatus(); });
  if (!admin.ok()) {
    spdlog::critical("cannot start the admin server: {}", std::string(admin.status().message()));
    return 1;
  }
  store::StoreMetrics store_metrics(registry);
  store::WatchHub hub(flush_threads);
  FloorService service(&hub, &store_metrics);
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(grpc_listen, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  auto server = builder.BuildAndStart();
  if (!server || port == 0) {
    spdlog::critical("cannot listen for gRPC on {}", grpc_listen);
    return 1;
  }
  spdlog::info("serving on port {}, admin on port {}", port, (*admin)->port());
  signals::WaitForTerminationSignal();
  hub.CloseAll(absl::UnavailableError("shutting down"));
  hub.WaitUntilNoSubscribers(absl::Now() + absl::Seconds(2));
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(100));
  (*admin)->Stop();
  return 0;
}

}  // namespace
}  // namespace protomesh::bench

int main(int argc, char** argv) { return protomesh::bench::Main(argc, argv); }
