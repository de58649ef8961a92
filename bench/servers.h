#pragma once
// The servers a benchmark starts for itself, all on loopback, with their
// data and logs under one work directory: a private PostgreSQL (fsync on),
// protomesh-store on it, and any other server with an admin /readyz.
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "bench/bench_util.h"
#include "src/common/config.h"
#include "src/store/embedded_postgres.h"

namespace protomesh::bench {

// What every benchmark lets its user set: where the servers' data and logs
// go, the binaries, where the report goes, and how quiet the machine must
// be before measuring.
struct CommonSettings {
  std::string work_dir_parent = "/var/tmp";
  bool keep_work_dir = false;
  std::string store_bin;
  std::string pg_bin_dir = store::DefaultPgBinDir();
  std::string output;
  double quiet_load = 0;
  absl::Duration quiet_wait = absl::Minutes(10);
};
void AddCommonFlags(config::Flags& flags, CommonSettings* settings);
// Parses the command line; the exit code when the program should end at
// once (2 after an error, which it prints; 0 after --help).
std::optional<int> ParseFlags(config::Flags& flags, int argc, char** argv);

// A new directory under `parent` ("<parent>/protomesh-bench-XXXXXX"),
// readable by PostgreSQL's user when we run as root.
absl::StatusOr<std::string> MakeWorkDir(const std::string& parent);
// Removes it, or says where it was kept.
void RemoveWorkDir(const std::string& work_dir, bool keep);

struct PostgresSettings {
  std::string bin_dir = store::DefaultPgBinDir();
  int max_connections = 0;  // 0: PostgreSQL's default (100)
};

// A private PostgreSQL in `<work_dir>/postgres`, with Debian's defaults,
// which must include fsync and synchronous_commit on. Sets `version`.
absl::StatusOr<std::unique_ptr<store::EmbeddedPostgres>> StartPostgres(
    const std::string& work_dir, const PostgresSettings& settings, std::string* version);

// Stops it (if any) and says so when that fails.
void StopPostgres(std::unique_ptr<store::EmbeddedPostgres>& postgres);

// The report to stdout, and to `output` unless empty.
void PrintReport(const std::string& report, const std::string& output);

// A server process with its log in a file and an admin HTTP port.
struct Server {
  std::unique_ptr<Child> process;
  std::string grpc_address;  // 127.0.0.1:port
  int admin_port = 0;

  // GET on the admin port: {status, body}, {0, ""} when unreachable.
  std::pair<int, std::string> AdminGet(const std::string& path) const;
  // The value of the first sample line of /metrics that starts with
  // `series` (e.g. `protomesh_xds_streams{service="ads",variant="sotw"}`),
  // or -1.
  double Metric(const std::string& series) const;
};

// Starts `argv` plus --grpc-listen and --admin-listen on free loopback
// ports, its output in `log_path`, and waits until its /readyz answers 200
// (up to `timeout`).
absl::StatusOr<Server> StartServer(std::vector<std::string> argv, const std::string& log_path,
                                   std::chrono::seconds timeout = std::chrono::seconds(60));

// protomesh-store on the database at `database_url`, logging warnings only.
absl::StatusOr<Server> StartStore(const std::string& store_bin, const std::string& database_url,
                                  const std::string& log_path,
                                  const std::vector<std::string>& extra_args = {});

// The local time now, e.g. "2026-11-22 19:06:12 UTC".
std::string Now();

}  // namespace protomesh::bench
