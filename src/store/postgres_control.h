#pragma once
// PostgreSQL's own tools (initdb, pg_ctl) run on a data directory. initdb
// and postgres refuse to run as root, so when we are root they run as the
// "postgres" system user. Shared by EmbeddedPostgres and the tests'
// PostgresServer.
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace protomesh::store {

inline constexpr char kPostgresSystemUser[] = "postgres";
// The superuser initdb creates; trust authentication, no password.
inline constexpr char kPostgresSuperuser[] = "postgres";

// $PROTOMESH_PG_BINDIR when set, else Debian's /usr/lib/postgresql/15/bin.
std::string DefaultPgBinDir();

bool RunningAsRoot();
// `argv` prefixed with `runuser -u postgres --` when we are root.
std::vector<std::string> AsPostgresUser(std::vector<std::string> argv);
// Gives `path` to the postgres system user when we are root; a no-op
// otherwise. FAILED_PRECONDITION when root and there is no such user.
absl::Status ChownToPostgresUser(const std::string& path);

// Writes `settings` as postgresql.conf lines (name = 'value', quoted) under
// a `# header` comment, appending to `path` or replacing it.
absl::Status WritePostgresConf(const std::string& path, absl::string_view header,
                               const std::vector<std::pair<std::string, std::string>>& settings,
                               bool append);

// The last `count` lines of a file; empty when it cannot be read.
std::string FileTail(const std::string& path, size_t count);

// A data directory, the server log that pg_ctl writes, and the tools.
class PgCluster {
 public:
  PgCluster(std::string data_dir, std::string log_path, std::string bin_dir = DefaultPgBinDir());

  const std::string& data_dir() const { return data_dir_; }
  const std::string& log_path() const { return log_path_; }
  std::string Binary(absl::string_view name) const;

  // initdb -A trust -U postgres -E UTF8 --locale=C; with !sync, --no-sync
  // (for throwaway clusters).
  absl::Status InitDb(bool sync) const;
  // pg_ctl start, waiting up to 60 s for the server to accept connections.
  absl::Status Start() const;
  // pg_ctl stop -m `mode` (smart, fast, immediate), waiting up to 60 s.
  absl::Status Stop(absl::string_view mode) const;
  // The pg_ctl command line for Stop(), as the postgres user, for callers
  // that must run it from elsewhere.
  std::vector<std::string> StopCommand(absl::string_view mode) const;

  // Runs a PostgreSQL tool as the postgres user. Unless it exits 0, the
  // error names the command, its exit code and output, and ends with the
  // tail of the server log.
  absl::Status Run(std::vector<std::string> argv,
                   std::chrono::milliseconds timeout = std::chrono::seconds(120)) const;

 private:
  std::vector<std::string> StopArgv(absl::string_view mode) const;

  std::string data_dir_;
  std::string log_path_;
  std::string bin_dir_;
};

}  // namespace protomesh::store
