// grpc_floor_store: the ResourceStore service with no database behind it,
// to measure what gRPC C++ alone costs on this machine.
//
// A Put is numbered and answered at once, on the gRPC thread that received
// it (no validation, no batching, nothing durable), and handed to the same
// WatchHub the store uses, with the same flush threads. A Watch gets
// end_of_list at once and then every change of its namespace. Everything
// else is UNIMPLEMENTED.
//
// `store_vs_etcd --store-bin=<this binary> --workloads=put,watch` runs the
// put, idle-watcher and watch workloads against it in the store's place:
// whatever the store's figures could become if its database cost nothing,
// they cannot be better than these (bench/RESULTS.md, "gRPC alone").
#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "api/services/v1/resource_store.grpc.pb.h"
#include "spdlog/spdlog.h"
#include "src/common/abseil_runtime.h"
#include "src/common/admin_server.h"
#include "src/common/config.h"
#include "src/common/program_settings.h"
#include "src/common/signals.h"
#include "src/store/watch_hub.h"

namespace protomesh::bench {
namespace {

namespace svc = protomesh::services::v1;
using Response = svc::WatchResourcesResponse;

class FloorWatchReactor;

// What the hub holds of a watch; it outlives the reactor.
class FloorWatch : public store::WatchSubscriber {
 public:
  explicit FloorWatch(FloorWatchReactor* reactor) : reactor_(reactor) {}

  void Start(int64_t revision) {
    auto end = std::make_shared<Response>();
    end->set_end_of_list(true);
    end->set_revision(revision);
    {
      std::lock_guard lock(mu_);
      queue_.push_back(std::move(end));
    }
    Flush();
  }

  bool Enqueue(const store::NamespaceChangePtr& change) override {
    std::lock_guard lock(mu_);
    if (!reactor_ || finishing_) return false;
    queue_.push_back(change->Message());
    return true;
  }

  void Flush() override;

  void Close(const absl::Status& status) override {
    {
      std::lock_guard lock(mu_);
      if (!finishing_) {
        finishing_ = grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                                  std::string(status.message()));
      }
      queue_.clear();
    }
    Flush();
  }

  void OnWriteDone(bool ok) {
    {
      std::lock_guard lock(mu_);
      in_flight_.reset();
      if (!ok && !finishing_) finishing_ = grpc::Status::CANCELLED;
    }
    Flush();
  }

  void Detach() {
    std::lock_guard lock(mu_);
    reactor_ = nullptr;
  }

 private:
  std::mutex mu_;
  FloorWatchReactor* reactor_;
  std::vector<std::shared_ptr<const Response>> queue_;
  std::shared_ptr<const Response> in_flight_;
  std::optional<grpc::Status> finishing_;
  bool finish_called_ = false;
};

class FloorWatchReactor : public grpc::ServerWriteReactor<Response> {
 public:
  FloorWatchReactor(std::string ns, store::WatchHub* hub)
      : ns_(std::move(ns)), watch_(std::make_shared<FloorWatch>(this)), hub_(hub) {
    watch_->Start(hub_->Subscribe(ns_, watch_));
  }

  void OnWriteDone(bool ok) override { watch_->OnWriteDone(ok); }
  void OnCancel() override { watch_->Close(absl::CancelledError("watch cancelled")); }
  void OnDone() override {
    watch_->Detach();
    hub_->Unsubscribe(ns_, watch_.get());
    delete this;
  }

 private:
  const std::string ns_;
  std::shared_ptr<FloorWatch> watch_;
  store::WatchHub* const hub_;
};

void FloorWatch::Flush() {
  FloorWatchReactor* reactor = nullptr;
  const Response* to_write = nullptr;
  std::optional<grpc::Status> to_finish;
  {
    std::lock_guard lock(mu_);
    if (!reactor_ || in_flight_ || finish_called_) return;
    if (!finishing_ && !queue_.empty()) {
      in_flight_ = std::move(queue_.front());
      queue_.erase(queue_.begin());
      to_write = in_flight_.get();
    } else if (finishing_) {
      finish_called_ = true;
      to_finish = finishing_;
    } else {
      return;
    }
    reactor = reactor_;
  }
  // Outside the lock: gRPC may run OnWriteDone/OnDone inline.
  if (to_write) {
    reactor->StartWrite(to_write);
  } else {
    reactor->Finish(*to_finish);
  }
}

class FloorService final : public svc::ResourceStore::CallbackService {
 public:
  explicit FloorService(store::WatchHub* hub) : hub_(hub) {}

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

  grpc::ServerWriteReactor<Response>* Watch(grpc::CallbackServerContext* /*context*/,
                                            const svc::WatchResourcesRequest* request) override {
    return new FloorWatchReactor(request->namespace_(), hub_);
  }

 private:
  store::WatchHub* const hub_;
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
  store::WatchHub hub(flush_threads);
  FloorService service(&hub);
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
