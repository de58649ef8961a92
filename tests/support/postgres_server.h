#pragma once
// A private PostgreSQL 15 server for one test binary: initdb into a temp dir,
// pg_ctl start on a free loopback port, fsync off (tests only). When run as
// root, the server runs as the "postgres" system user.
#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "src/store/postgres_control.h"

namespace protomesh::testing {

class PostgresServer {
 public:
  static absl::StatusOr<std::unique_ptr<PostgresServer>> Start();
  ~PostgresServer();  // Stops the server (fast) and removes the directory.

  // A libpq URI for `database` on this server, as superuser "postgres".
  std::string Url(const std::string& database = "postgres") const;
  // CREATE DATABASE; an existing one is dropped first.
  absl::Status CreateDatabase(const std::string& name);
  int port() const { return port_; }

  absl::Status Stop();     // pg_ctl stop -m fast; waits until it is down.
  absl::Status Restart();  // Start() again on the same port and data dir.
  bool running() const { return running_; }

 private:
  PostgresServer() = default;
  absl::Status StartServer();
  absl::Status StartWatchdog();
  store::PgCluster cluster() const;
  std::string data_dir() const { return dir_ + "/data"; }
  std::string log_path() const { return dir_ + "/postgres.log"; }
  std::string dir_;
  int port_ = 0;
  bool running_ = false;
  pid_t owner_pid_ = -1;     // A forked child must not tear down our server.
  pid_t watchdog_pid_ = -1;  // Cleans up if this process dies without ~PostgresServer.
  int watchdog_fd_ = -1;
};

// The process-wide server shared by a test binary, started on first use.
PostgresServer& SharedPostgres();

}  // namespace protomesh::testing
