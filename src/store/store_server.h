#pragma once
// Wires the store together: migrations, the write batcher, the read pool,
// the change feed, the watch hub, compaction and the gRPC server (with
// health and reflection). cmd/protomesh-store and the tests both use it.
#include <atomic>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "src/common/metrics.h"
#include "src/store/change_feed.h"
#include "src/store/compactor.h"
#include "src/store/db_executor.h"
#include "src/store/store_metrics.h"
#include "src/store/store_service.h"
#include "src/store/watch_hub.h"
#include "src/store/write_batcher.h"

namespace protomesh::store {

struct StoreOptions {
  std::string database_url = "postgresql://postgres@localhost:5432/protomesh";
  std::string grpc_listen = "0.0.0.0:6680";
  // TLS or not (src/common/tls_credentials); null: plaintext.
  std::shared_ptr<grpc::ServerCredentials> grpc_credentials;
  int database_pool_size = 8;
  absl::Duration database_connect_timeout = absl::Seconds(60);
  absl::Duration feed_poll_interval = absl::Milliseconds(250);
  int watch_flush_threads = 2;  // see WatchHub
  ServiceOptions service;
  WriteBatcherOptions batcher;
  RetentionOptions retention;
};

class StoreServer {
 public:
  // Applies migrations, connects, and starts serving.
  static absl::StatusOr<std::unique_ptr<StoreServer>> Start(const StoreOptions& options,
                                                            metrics::Registry* registry);
  ~StoreServer();

  int grpc_port() const { return grpc_port_; }
  // OK when the database is reachable and the change feed is following it.
  absl::Status Ready() const;
  // Ends watches (UNAVAILABLE, so clients resume elsewhere), stops taking
  // requests, commits queued writes, and stops every part.
  void Shutdown(absl::Duration grace);

 private:
  StoreServer() = default;

  std::unique_ptr<StoreMetrics> metrics_;
  std::unique_ptr<WatchHub> hub_;
  std::unique_ptr<DbExecutor> executor_;
  std::unique_ptr<WriteBatcher> batcher_;
  std::unique_ptr<ChangeFeed> feed_;
  std::unique_ptr<Compactor> compactor_;
  std::unique_ptr<StoreService> service_;
  std::unique_ptr<grpc::Server> server_;
  int grpc_port_ = 0;
  std::atomic<bool> shut_down_{false};
};

}  // namespace protomesh::store
