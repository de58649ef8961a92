#include "tests/support/postgres_server.h"
#include "src/common/files.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <pqxx/pqxx>
#include <sstream>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "tests/support/wait.h"

namespace protomesh::testing {
namespace {

using files::ReadFile;
using files::TempDir;

using store::PgCluster;

absl::Status ErrnoError(absl::string_view what, int err = errno) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(err)));
}

}  // namespace

PgCluster PostgresServer::cluster() const { return PgCluster(data_dir(), log_path()); }

// A process outside our process group, blocked reading a pipe whose only
// writer is this process. If we die without running ~PostgresServer (crash,
// SIGKILL on a test timeout), the read returns EOF and it stops the server
// and removes the directory. The destructor kills it after cleaning up.
absl::Status PostgresServer::StartWatchdog() {
  std::vector<std::string> argv = {"/bin/sh", "-c", "read x; \"$@\"; rm -rf -- \"$0\"", dir_};
  for (std::string& arg : cluster().StopCommand("immediate")) argv.push_back(std::move(arg));
  std::vector<char*> argv_ptrs;
  for (std::string& arg : argv) argv_ptrs.push_back(arg.data());
  argv_ptrs.push_back(nullptr);

  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return ErrnoError("pipe2");
  const pid_t pid = fork();
  if (pid < 0) {
    const int err = errno;
    close(fds[0]);
    close(fds[1]);
    return ErrnoError("fork", err);
  }
  if (pid == 0) {
    setsid();  // Survive a Ctrl-C or a kill of the test's process group.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    const int null_fd = open("/dev/null", O_RDWR);
    if (dup2(fds[0], 0) >= 0 && dup2(null_fd, 1) >= 0 && dup2(null_fd, 2) >= 0) {
      close_range(3, ~0U, 0);
      execv(argv_ptrs[0], argv_ptrs.data());
    }
    _exit(127);
  }
  close(fds[0]);
  watchdog_pid_ = pid;
  watchdog_fd_ = fds[1];
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<PostgresServer>> PostgresServer::Start() {
  std::string dir = TempDir() + "/protomesh-pg-XXXXXX";
  if (mkdtemp(dir.data()) == nullptr) return ErrnoError(absl::StrCat("mkdtemp ", dir));
  std::unique_ptr<PostgresServer> server(new PostgresServer());
  server->dir_ = dir;  // From here on the destructor removes it.
  server->owner_pid_ = getpid();

  if (absl::Status s = store::ChownToPostgresUser(dir); !s.ok()) return s;
  if (absl::Status s = server->StartWatchdog(); !s.ok()) return s;
  if (absl::Status s = server->cluster().InitDb(/*sync=*/false); !s.ok()) return s;

  // FreePort() can race with other processes grabbing the port; retry then.
  absl::Status status;
  for (int attempt = 0; attempt < 3; ++attempt) {
    server->port_ = FreePort();
    // Appended settings override earlier ones, so retries can append again.
    if (absl::Status s = store::WritePostgresConf(server->data_dir() + "/postgresql.conf",
                                                  "protomesh test settings",
                                                  {
                                                      {"listen_addresses", "127.0.0.1"},
                                                      {"port", absl::StrCat(server->port_)},
                                                      {"unix_socket_directories", dir},
                                                      {"fsync", "off"},
                                                      {"synchronous_commit", "off"},
                                                      {"full_page_writes", "off"},
                                                      {"max_connections", "200"},
                                                      {"shared_buffers", "128MB"},
                                                      {"logging_collector", "off"},
                                                  },
                                                  /*append=*/true);
        !s.ok()) {
      return s;
    }
    const size_t log_size = ReadFile(server->log_path()).size();
    status = server->StartServer();
    if (status.ok()) return server;
    if (!absl::StrContains(ReadFile(server->log_path()).substr(log_size),
                           "Address already in use")) {
      break;
    }
  }
  return status;
}

absl::Status PostgresServer::StartServer() {
  absl::Status status = cluster().Start();
  if (status.ok()) running_ = true;
  return status;
}

PostgresServer::~PostgresServer() {
  if (getpid() != owner_pid_) return;
  if (running_) {
    if (absl::Status s = Stop(); !s.ok()) {
      std::fprintf(stderr, "PostgresServer: %s\n", s.ToString().c_str());
      cluster().Stop("immediate").IgnoreError();
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
  if (watchdog_pid_ > 0) {
    kill(watchdog_pid_, SIGKILL);
    waitpid(watchdog_pid_, nullptr, 0);
  }
  if (watchdog_fd_ >= 0) close(watchdog_fd_);
}

std::string PostgresServer::Url(const std::string& database) const {
  return absl::StrCat("postgresql://postgres@127.0.0.1:", port_, "/", database);
}

absl::Status PostgresServer::CreateDatabase(const std::string& name) {
  try {
    pqxx::connection conn(Url("postgres"));
    pqxx::nontransaction tx(conn);
    const std::string quoted = tx.quote_name(name);
    tx.exec0("DROP DATABASE IF EXISTS " + quoted + " WITH (FORCE)");
    tx.exec0("CREATE DATABASE " + quoted);
  } catch (const std::exception& e) {
    return absl::InternalError(
        absl::StrCat("creating database \"", name, "\" on ", Url(), ": ", e.what()));
  }
  return absl::OkStatus();
}

absl::Status PostgresServer::Stop() {
  if (!running_) return absl::OkStatus();
  absl::Status status = cluster().Stop("fast");
  if (status.ok()) running_ = false;
  return status;
}

absl::Status PostgresServer::Restart() {
  if (absl::Status s = Stop(); !s.ok()) return s;
  return StartServer();
}

PostgresServer& SharedPostgres() {
  // Destroyed at normal exit, which stops the server; the watchdog covers
  // crashes.
  static std::unique_ptr<PostgresServer> server = [] {
    absl::StatusOr<std::unique_ptr<PostgresServer>> started = PostgresServer::Start();
    if (!started.ok()) {
      std::fprintf(stderr, "SharedPostgres: cannot start PostgreSQL: %s\n",
                   started.status().ToString().c_str());
      std::abort();
    }
    return *std::move(started);
  }();
  return *server;
}

}  // namespace protomesh::testing
