#include "src/store/store_server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"
#include "src/common/absl_fmt.h"
#include "src/common/uuid.h"
#include "api/types/v1/gateway.pb.h"
#include "api/types/v1/networking.pb.h"
#include "api/types/v1/process.pb.h"
#include "src/store/migrations.h"

namespace protomesh::store {

absl::StatusOr<std::unique_ptr<StoreServer>> StoreServer::Start(const StoreOptions& options,
                                                                metrics::Registry* registry) {
  auto migrated = MigrateDatabase(options.database_url, options.database_connect_timeout);
  if (!migrated.ok()) return migrated.status();

  std::unique_ptr<StoreServer> store(new StoreServer());
  store->metrics_ = std::make_unique<StoreMetrics>(*registry);
  store->hub_ = std::make_unique<WatchHub>(options.watch_flush_threads);
  // Names this process's write batcher in store_writers and in its change
  // notifications, which its own change feed then leaves to the hand-over.
  const std::string writer_id = uuid::Format(uuid::Random());
  store->feed_ = std::make_unique<ChangeFeed>(options.database_url, writer_id, store->hub_.get(),
                                              store->metrics_.get(), options.feed_poll_interval);
  if (auto s = store->feed_->Start(); !s.ok()) return s;
  store->executor_ = std::make_unique<DbExecutor>(options.database_url,
                                                  options.database_pool_size, 100000);
  store->batcher_ = std::make_unique<WriteBatcher>(options.database_url, writer_id,
                                                   options.batcher, store->metrics_.get(),
                                                   store->feed_.get());
  store->compactor_ = std::make_unique<Compactor>(options.database_url, options.retention,
                                                  store->metrics_.get());
  store->compactor_->Start();
  store->service_ =
      std::make_unique<StoreService>(options.service, store->batcher_.get(),
                                     store->executor_.get(), store->hub_.get(),
                                     store->metrics_.get());

  // Reference the spec types so that they are linked in and gRPC reflection
  // can describe them to clients such as grpcurl.
  (void)protomesh::types::v1::NetworkingNode::descriptor();
  (void)protomesh::types::v1::GatewayPolicy::descriptor();
  (void)protomesh::types::v1::Process::descriptor();
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.grpc_listen,
                           options.grpc_credentials ? options.grpc_credentials
                                                    : grpc::InsecureServerCredentials(),
                           &store->grpc_port_);
  builder.RegisterService(store->service_.get());
  // Specs may be as large as the limit, plus the request around them.
  builder.SetMaxReceiveMessageSize(
      static_cast<int>(std::min<size_t>(options.service.limits.max_spec_bytes * 2 + (1 << 20),
                                        INT32_MAX)));
  store->server_ = builder.BuildAndStart();
  if (!store->server_ || store->grpc_port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen for gRPC on ", options.grpc_listen,
                     " (address in use or invalid? set grpc-listen)"));
  }
  spdlog::info("resource store serving gRPC on port {} (schema migrations applied: {})",
               store->grpc_port_, *migrated);
  return store;
}

StoreServer::~StoreServer() { Shutdown(absl::Seconds(5)); }

absl::Status StoreServer::Ready() const {
  if (shut_down_) return absl::UnavailableError("shutting down");
  if (!feed_->healthy()) {
    return absl::UnavailableError("the database is unreachable (the change feed is reconnecting)");
  }
  return absl::OkStatus();
}

void StoreServer::Shutdown(absl::Duration grace) {
  if (shut_down_.exchange(true)) return;
  if (server_) {
    // New requests get UNAVAILABLE, watches end, requests in flight finish;
    // then the server stops. Shutdown() itself would wait until every client
    // has closed its connection, which idle clients may not do until the
    // deadline, so it gets a short one once nothing is left to finish.
    server_->GetHealthCheckService()->Shutdown();
    absl::Time deadline = absl::Now() + grace;
    service_->Drain(absl::Now());  // refuse new requests first
    hub_->CloseAll(absl::UnavailableError(
        "the store is shutting down; watch again (resume from your last revision)"));
    // Each closed watch still has to send that status (after the message
    // it may be writing); the server's shutdown below would cancel it.
    if (!hub_->WaitUntilNoSubscribers(deadline)) {
      spdlog::warn("{} watch(es) did not end within the shutdown grace; cancelling them",
                   hub_->subscriber_count());
    }
    service_->Drain(deadline);
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(100));
    server_->Wait();
    spdlog::debug("gRPC server stopped");
  }
  if (batcher_) batcher_->Shutdown();
  if (compactor_) compactor_->Stop();
  if (feed_) feed_->Stop();
  if (executor_) executor_->Shutdown();
  spdlog::debug("store stopped");
}

}  // namespace protomesh::store
