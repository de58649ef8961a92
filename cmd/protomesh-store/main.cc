// protomesh-store: the Resource Store daemon.
#include <atomic>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"
#include "src/common/abseil_runtime.h"
#include "src/common/absl_fmt.h"
#include "src/common/admin_server.h"
#include "src/common/build_info.h"
#include "src/common/config.h"
#include "src/common/program_settings.h"
#include "src/common/ready_notify.h"
#include "src/common/signals.h"
#include "src/common/tls_settings.h"
#include "src/store/embedded_postgres.h"
#include "src/store/migrations.h"
#include "src/store/store_server.h"

using namespace protomesh;

int main(int argc, char** argv) {
  signals::BlockTerminationSignals();
  // Told once the store serves (protomesh-all-in-one, systemd Type=notify).
  const std::string notify_socket = ready_notify::TakeNotifySocket();
  DisableMutexDeadlockDetection();

  store::StoreOptions options;
  std::string admin_listen = "0.0.0.0:6681";
  program::LoggingSettings logging;
  bool migrate_only = false;
  std::string embedded_postgres_dir;
  int embedded_postgres_port = 0;
  absl::Duration shutdown_grace = absl::Seconds(10);
  int64_t max_spec_bytes = static_cast<int64_t>(options.service.limits.max_spec_bytes);
  int64_t watch_max_pending_changes = static_cast<int64_t>(options.service.watch.max_pending_changes);
  int64_t watch_max_pending_bytes = static_cast<int64_t>(options.service.watch.max_pending_bytes);
  int64_t write_batch_max = static_cast<int64_t>(options.batcher.max_batch_mutations);

  config::Flags flags("protomesh-store",
                      "The Protomesh Resource Store: versioned resources in PostgreSQL, served "
                      "over gRPC (protomesh.services.v1.ResourceStore), with watches pushed "
                      "through LISTEN/NOTIFY.");
  flags.Add("grpc-listen", &options.grpc_listen, "gRPC listen address (host:port)");
  tls::ServerTlsSettings grpc_tls(&flags);
  flags.Add("admin-listen", &admin_listen,
            "admin HTTP listen address for /healthz, /readyz and /metrics (plaintext)");
  flags.Add("database-url", &options.database_url,
            "PostgreSQL connection URI (libpq; PG* environment variables also apply)");
  flags.Add("database-pool-size", &options.database_pool_size,
            "connections for reads (writes and the change feed use one each)");
  flags.Add("database-connect-timeout", &options.database_connect_timeout,
            "how long to keep retrying the database at start-up");
  flags.Add("embedded-postgres-dir", &embedded_postgres_dir,
            "run a private PostgreSQL with its data in this directory (created and initialized "
            "when missing or empty) instead of connecting to database-url; empty: off");
  flags.Add("embedded-postgres-port", &embedded_postgres_port,
            "with embedded-postgres-dir, also accept TCP connections on 127.0.0.1 on this port "
            "(0: unix socket only). Authentication is trust: anyone on this machine can then "
            "connect as superuser");
  flags.Add("migrate-only", &migrate_only, "apply schema migrations and exit");
  flags.Add("max-spec-bytes", &max_spec_bytes, "largest accepted resource spec, in bytes");
  flags.Add("write-batch-max", &write_batch_max,
            "most writes committed together in one transaction");
  flags.Add("watch-max-pending-changes", &watch_max_pending_changes,
            "changes a watcher may fall behind before it is cut off (it then resumes)");
  flags.Add("watch-max-pending-bytes", &watch_max_pending_bytes,
            "bytes of changes a watcher may fall behind before it is cut off");
  flags.Add("retention-age", &options.retention.retention_age,
            "keep every change at least this long (0: no age bound)");
  flags.Add("retention-revisions", &options.retention.retention_revisions,
            "keep at least this many latest revisions of changes (0: no count bound)");
  flags.Add("compaction-interval", &options.retention.interval,
            "how often to compact the change log (0: never)");
  flags.Add("feed-poll-interval", &options.feed_poll_interval,
            "how often the change feed reads the change log past what it has published; "
            "bounds the delay of a change whose notification was lost");
  flags.Add("shutdown-grace", &shutdown_grace,
            "on SIGTERM, how long in-flight requests may take to finish");
  program::AddLoggingFlags(flags, &logging);

  if (auto exit_code = program::ParseSettings("protomesh-store", flags, argc, argv, logging)) {
    return *exit_code;
  }
  if (max_spec_bytes <= 0 || watch_max_pending_changes <= 0 || watch_max_pending_bytes <= 0 ||
      write_batch_max <= 0 || options.database_pool_size <= 0) {
    spdlog::critical(
        "max-spec-bytes, write-batch-max, watch-max-pending-changes, watch-max-pending-bytes and "
        "database-pool-size must be positive");
    return 2;
  }
  if (!embedded_postgres_dir.empty() && flags.SourceOf("database-url") != "default") {
    spdlog::critical(
        "{} and {} are both set, but the store either runs its own PostgreSQL "
        "(embedded-postgres-dir) or connects to one (database-url): drop one of them",
        flags.DescribeSource("embedded-postgres-dir"), flags.DescribeSource("database-url"));
    return 2;
  }
  if (embedded_postgres_dir.empty() && embedded_postgres_port != 0) {
    spdlog::critical("embedded-postgres-port needs embedded-postgres-dir");
    return 2;
  }
  if (embedded_postgres_port < 0 || embedded_postgres_port > 65535) {
    spdlog::critical("embedded-postgres-port must be in [0, 65535]");
    return 2;
  }
  auto grpc_credentials = grpc_tls.Credentials();
  if (!grpc_credentials.ok()) {
    spdlog::critical("{}", grpc_credentials.status().message());
    return 2;
  }
  options.grpc_credentials = *std::move(grpc_credentials);
  options.service.limits.max_spec_bytes = static_cast<size_t>(max_spec_bytes);
  options.service.watch.max_pending_changes = static_cast<size_t>(watch_max_pending_changes);
  options.service.watch.max_pending_bytes = static_cast<size_t>(watch_max_pending_bytes);
  options.batcher.max_batch_mutations = static_cast<size_t>(write_batch_max);

  // The admin port comes up first, so that /healthz answers while the
  // database is being prepared and /readyz says what the store waits for.
  metrics::Registry registry;
  build_info::RegisterMetric(registry);
  std::atomic<store::StoreServer*> serving{nullptr};
  std::unique_ptr<admin::AdminServer> admin;
  if (!migrate_only) {
    auto started = admin::AdminServer::Start(admin_listen, &registry, [&serving] {
      store::StoreServer* store = serving.load();
      return store ? store->Ready()
                   : absl::UnavailableError("starting: preparing the database and the change feed");
    });
    if (!started.ok()) {
      spdlog::critical("cannot start the admin server: {}", started.status().message());
      return 1;
    }
    admin = *std::move(started);
    spdlog::info("admin HTTP on port {}", admin->port());
  }

  // Declared before the store so that it is destroyed (stopped) after it.
  std::unique_ptr<store::EmbeddedPostgres> embedded_postgres;
  if (!embedded_postgres_dir.empty()) {
    store::EmbeddedPostgresOptions embedded_options;
    embedded_options.data_dir = embedded_postgres_dir;
    embedded_options.port = embedded_postgres_port;
    auto started = store::EmbeddedPostgres::Start(embedded_options);
    if (!started.ok()) {
      spdlog::critical("cannot start the embedded PostgreSQL: {}", started.status().message());
      return 1;
    }
    embedded_postgres = *std::move(started);
    spdlog::info("embedded PostgreSQL: {} cluster in {}, log in {}, socket in {}{}",
                 embedded_postgres->initialized() ? "new" : "existing",
                 embedded_postgres->data_dir(), embedded_postgres->log_path(),
                 embedded_postgres->socket_dir(),
                 embedded_postgres_port != 0
                     ? absl::StrCat(", TCP on 127.0.0.1:", embedded_postgres_port)
                     : std::string());
    if (auto s = embedded_postgres->CreateDatabaseIfMissing("protomesh"); !s.ok()) {
      spdlog::critical("{}", s.message());
      return 1;
    }
    options.database_url = embedded_postgres->Url("protomesh");
  }

  if (migrate_only) {
    auto applied = store::MigrateDatabase(options.database_url, options.database_connect_timeout);
    if (!applied.ok()) {
      spdlog::critical("migration failed: {}", applied.status().message());
      return 1;
    }
    spdlog::info("database schema is up to date ({} migration(s) applied)", *applied);
    return 0;
  }

  auto store = store::StoreServer::Start(options, &registry);
  if (!store.ok()) {
    spdlog::critical("cannot start: {}", store.status().message());
    return 1;
  }
  serving = store->get();
  spdlog::info("gRPC port {}: {}", (*store)->grpc_port(), grpc_tls.Describe());
  if (auto s = ready_notify::NotifyReady(notify_socket); !s.ok()) {
    spdlog::warn("cannot report that the store is ready: {}", s.message());
  }

  int signal = signals::WaitForTerminationSignal();
  spdlog::info("received signal {}, shutting down", signal);
  (*store)->Shutdown(shutdown_grace);
  admin->Stop();
  serving = nullptr;
  if (embedded_postgres != nullptr) {
    if (auto s = embedded_postgres->Stop(); !s.ok()) {
      spdlog::critical("cannot stop the embedded PostgreSQL: {}", s.message());
      return 1;
    }
    spdlog::info("embedded PostgreSQL stopped");
  }
  spdlog::info("stopped");
  return 0;
}
