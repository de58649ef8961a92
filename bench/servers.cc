#include "bench/servers.h"

#include <sys/stat.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <thread>

#include <httplib.h>
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "src/common/metrics.h"

namespace protomesh::bench {

void AddCommonFlags(config::Flags& flags, CommonSettings* settings) {
  flags.Add("work-dir-parent", &settings->work_dir_parent,
            "where to make the work directory (the servers' data and logs)");
  flags.Add("keep-work-dir", &settings->keep_work_dir, "keep the work directory afterwards");
  flags.Add("store-bin", &settings->store_bin, "the protomesh-store binary");
  flags.Add("pg-bin-dir", &settings->pg_bin_dir, "PostgreSQL's binaries (initdb, pg_ctl, pgbench)");
  flags.Add("output", &settings->output, "also write the report (markdown) to this file");
  flags.Add("quiet-load", &settings->quiet_load,
            "before measuring, wait until the 1-minute load average is below this (0: don't)");
  flags.Add("quiet-wait", &settings->quiet_wait, "longest wait for quiet-load");
}

std::optional<int> ParseFlags(config::Flags& flags, int argc, char** argv) {
  if (auto s = flags.Parse(argc, argv, {}); !s.ok()) {
    std::fprintf(stderr, "%s: %s\nRun %s --help for every setting.\n", argv[0],
                 std::string(s.message()).c_str(), argv[0]);
    return 2;
  }
  if (flags.help_requested()) {
    std::fputs(flags.HelpText().c_str(), stdout);
    return 0;
  }
  return std::nullopt;
}

absl::StatusOr<std::string> MakeWorkDir(const std::string& parent) {
  std::string dir = parent + "/protomesh-bench-XXXXXX";
  if (mkdtemp(dir.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("cannot create a directory under ", parent));
  }
  chmod(dir.c_str(), 0755);  // PostgreSQL runs as "postgres" when we are root.
  return dir;
}

void RemoveWorkDir(const std::string& work_dir, bool keep) {
  if (keep) {
    std::fprintf(stderr, "kept %s\n", work_dir.c_str());
    return;
  }
  std::error_code ec;
  std::filesystem::remove_all(work_dir, ec);
}

absl::StatusOr<std::unique_ptr<store::EmbeddedPostgres>> StartPostgres(
    const std::string& work_dir, const PostgresSettings& settings, std::string* version) {
  store::EmbeddedPostgresOptions options;
  options.data_dir = work_dir + "/postgres";
  options.bin_dir = settings.bin_dir;
  auto started = store::EmbeddedPostgres::Start(options);
  if (!started.ok()) return started.status();
  try {
    pqxx::connection connection((*started)->Url("postgres"));
    pqxx::nontransaction tx(connection);
    if (settings.max_connections > 0) {
      tx.exec(absl::StrCat("ALTER SYSTEM SET max_connections = ", settings.max_connections));
    }
    *version = tx.exec1("SHOW server_version")[0].c_str();
    std::string fsync = tx.exec1("SHOW fsync")[0].c_str();
    std::string sync_commit = tx.exec1("SHOW synchronous_commit")[0].c_str();
    if (fsync != "on" || sync_commit != "on") {
      return absl::FailedPreconditionError(absl::StrCat(
          "PostgreSQL must run with fsync and synchronous_commit on; got ", fsync, ", ", sync_commit));
    }
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("configuring PostgreSQL: ", e.what()));
  }
  if (settings.max_connections == 0) return started;
  // max_connections takes a restart.
  if (auto s = (*started)->Stop(); !s.ok()) return s;
  started->reset();
  return store::EmbeddedPostgres::Start(options);
}

void StopPostgres(std::unique_ptr<store::EmbeddedPostgres>& postgres) {
  if (!postgres) return;
  if (auto s = postgres->Stop(); !s.ok()) {
    std::fprintf(stderr, "stopping PostgreSQL: %s\n", std::string(s.message()).c_str());
  }
  postgres.reset();
}

void PrintReport(const std::string& report, const std::string& output) {
  if (report.empty()) return;
  std::fputs(("\n" + report).c_str(), stdout);
  std::fflush(stdout);
  if (!output.empty()) std::ofstream(output) << report;
}

std::pair<int, std::string> Server::AdminGet(const std::string& path) const {
  httplib::Client admin("127.0.0.1", admin_port);
  admin.set_connection_timeout(1, 0);
  admin.set_read_timeout(10, 0);
  auto result = admin.Get(path.c_str());
  if (!result) return {0, ""};
  return {result->status, result->body};
}

double Server::Metric(const std::string& series) const {
  return metrics::FindSample(AdminGet("/metrics").second, series).value_or(-1);
}

absl::StatusOr<Server> StartServer(std::vector<std::string> argv, const std::string& log_path,
                                   std::chrono::seconds timeout) {
  Server server;
  server.grpc_address = absl::StrCat("127.0.0.1:", FreePort());
  server.admin_port = FreePort();
  const std::string name = argv.empty() ? "" : argv[0];
  argv.push_back("--grpc-listen=" + server.grpc_address);
  argv.push_back(absl::StrCat("--admin-listen=127.0.0.1:", server.admin_port));
  auto child = Child::Start(argv, log_path);
  if (!child.ok()) return child.status();
  server.process = *std::move(child);
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline && !g_interrupted) {
    if (!server.process->Running()) break;
    if (server.AdminGet("/readyz").first == 200) return server;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return absl::UnavailableError(
      absl::StrCat(name, " did not become ready:\n", server.process->LogTail()));
}

absl::StatusOr<Server> StartStore(const std::string& store_bin, const std::string& database_url,
                                  const std::string& log_path,
                                  const std::vector<std::string>& extra_args) {
  std::vector<std::string> argv = {store_bin, "--database-url=" + database_url, "--log-level=warn"};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  return StartServer(std::move(argv), log_path);
}

std::string Now() {
  std::time_t t = std::time(nullptr);
  char buf[64];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S %Z", std::localtime(&t));
  return buf;
}

}  // namespace protomesh::bench
