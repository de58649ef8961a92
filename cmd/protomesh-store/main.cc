// protomesh-store: the Resource Store daemon.
#include <cstdio>

#include "spdlog/spdlog.h"
#include "src/common/absl_fmt.h"
#include "src/common/admin_server.h"
#include "src/common/config.h"
#include "src/common/logging.h"
#include "src/common/signals.h"
#include "src/store/migrations.h"
#include "src/store/store_server.h"

using namespace protomesh;

int main(int argc, char** argv) {
  signals::BlockTerminationSignals();

  store::StoreOptions options;
  std::string admin_listen = "0.0.0.0:6681";
  std::string log_format = "text";
  std::string log_level = "info";
  bool migrate_only = false;
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
  flags.Add("admin-listen", &admin_listen,
            "admin HTTP listen address for /healthz, /readyz and /metrics");
  flags.Add("database-url", &options.database_url,
            "PostgreSQL connection URI (libpq; PG* environment variables also apply)");
  flags.Add("database-pool-size", &options.database_pool_size,
            "connections for reads (writes and the change feed use one each)");
  flags.Add("database-connect-timeout", &options.database_connect_timeout,
            "how long to keep retrying the database at start-up");
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
            "longest wait for a change notification before reading the change log anyway");
  flags.Add("shutdown-grace", &shutdown_grace,
            "on SIGTERM, how long in-flight requests may take to finish");
  flags.Add("log-format", &log_format, "text or json");
  flags.Add("log-level", &log_level, "trace, debug, info, warn or error");

  if (auto s = flags.Parse(argc, argv, config::Flags::ProcessEnvironment()); !s.ok()) {
    std::fprintf(stderr, "protomesh-store: %s\nRun protomesh-store --help for every setting.\n",
                 std::string(s.message()).c_str());
    return 2;
  }
  if (flags.help_requested()) {
    std::fputs(flags.HelpText().c_str(), stdout);
    return 0;
  }
  if (auto s = logging::Setup("protomesh-store", log_format, log_level); !s.ok()) {
    std::fprintf(stderr, "protomesh-store: %s\n", std::string(s.message()).c_str());
    return 2;
  }
  if (max_spec_bytes <= 0 || watch_max_pending_changes <= 0 || watch_max_pending_bytes <= 0 ||
      write_batch_max <= 0 || options.database_pool_size <= 0) {
    spdlog::critical(
        "max-spec-bytes, write-batch-max, watch-max-pending-changes, watch-max-pending-bytes and "
        "database-pool-size must be positive");
    return 2;
  }
  options.service.limits.max_spec_bytes = static_cast<size_t>(max_spec_bytes);
  options.service.watch.max_pending_changes = static_cast<size_t>(watch_max_pending_changes);
  options.service.watch.max_pending_bytes = static_cast<size_t>(watch_max_pending_bytes);
  options.batcher.max_batch_mutations = static_cast<size_t>(write_batch_max);

  if (migrate_only) {
    auto applied = store::MigrateDatabase(options.database_url, options.database_connect_timeout);
    if (!applied.ok()) {
      spdlog::critical("migration failed: {}", applied.status().message());
      return 1;
    }
    spdlog::info("database schema is up to date ({} migration(s) applied)", *applied);
    return 0;
  }

  metrics::Registry registry;
  auto store = store::StoreServer::Start(options, &registry);
  if (!store.ok()) {
    spdlog::critical("cannot start: {}", store.status().message());
    return 1;
  }
  auto admin = admin::AdminServer::Start(admin_listen, &registry,
                                         [&store] { return (*store)->Ready(); });
  if (!admin.ok()) {
    spdlog::critical("cannot start the admin server: {}", admin.status().message());
    return 1;
  }
  spdlog::info("admin HTTP on port {}", (*admin)->port());

  int signal = signals::WaitForTerminationSignal();
  spdlog::info("received signal {}, shutting down", signal);
  (*store)->Shutdown(shutdown_grace);
  (*admin)->Stop();
  spdlog::info("stopped");
  return 0;
}
