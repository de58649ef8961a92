#pragma once
// A private PostgreSQL server that protomesh-store starts itself, for
// machines with no database set up: the data directory is created and
// initialized on first use and reused afterwards. It listens on a unix
// socket only reachable by its owner (and root), and optionally on a TCP
// port on 127.0.0.1. Authentication is trust, so the socket directory's
// permissions are the only guard.
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "src/store/postgres_control.h"

namespace protomesh::store {

struct EmbeddedPostgresOptions {
  // Where the cluster lives (PG_VERSION, base/, ...); created if missing.
  // It also holds postgres.log and, unless its path is too long for one,
  // the server's unix socket.
  std::string data_dir;
  // Also listen on 127.0.0.1:port; 0 for the unix socket only.
  int port = 0;
  std::string bin_dir = DefaultPgBinDir();
};

class EmbeddedPostgres {
 public:
  // Creates and initdb's `data_dir` when it is missing or empty, reuses the
  // cluster in it otherwise, and starts the server. Fails if the directory
  // holds something other than a cluster, or another EmbeddedPostgres
  // (in any process) is using it. A server left running by a process that
  // died is stopped and started again with our settings.
  static absl::StatusOr<std::unique_ptr<EmbeddedPostgres>> Start(
      const EmbeddedPostgresOptions& options);
  ~EmbeddedPostgres();  // Stop(), logging a failure.

  EmbeddedPostgres(const EmbeddedPostgres&) = delete;
  EmbeddedPostgres& operator=(const EmbeddedPostgres&) = delete;

  // A libpq URI for `database` over the unix socket, as superuser postgres.
  std::string Url(const std::string& database) const;
  absl::Status CreateDatabaseIfMissing(const std::string& name);
  // pg_ctl stop -m fast: disconnects clients, waits until it is down.
  absl::Status Stop();

  const std::string& data_dir() const { return cluster_.data_dir(); }
  const std::string& log_path() const { return cluster_.log_path(); }
  const std::string& socket_dir() const { return socket_dir_; }
  // Whether Start() ran initdb, rather than finding an existing cluster.
  bool initialized() const { return initialized_; }

 private:
  explicit EmbeddedPostgres(PgCluster cluster) : cluster_(std::move(cluster)) {}
  absl::Status PrepareDataDir();
  absl::Status StopOrphanedServer();
  absl::Status PrepareSocketDir(int socket_port);
  absl::Status WriteSettings(int tcp_port);
  void RemoveTempSocketDir();

  PgCluster cluster_;
  std::string socket_dir_;
  bool temp_socket_dir_ = false;  // Ours to remove, under /tmp.
  int socket_port_ = 0;           // Names the socket (.s.PGSQL.<port>).
  int lock_fd_ = -1;              // flock on the data directory.
  bool initialized_ = false;
  bool running_ = false;
};

}  // namespace protomesh::store
