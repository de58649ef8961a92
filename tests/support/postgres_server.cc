#include "tests/support/postgres_server.h"

#include <fcntl.h>
#include <pwd.h>
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
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "tests/support/child_process.h"
#include "tests/support/wait.h"

namespace protomesh::testing {
namespace {

constexpr char kDefaultBinDir[] = "/usr/lib/postgresql/15/bin";
constexpr char kPostgresUser[] = "postgres";

absl::Status ErrnoError(absl::string_view what, int err = errno) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(err)));
}

std::string TempDir() {
  const char* dir = std::getenv("TMPDIR");
  return dir != nullptr && *dir != '\0' ? dir : "/tmp";
}

// $PROTOMESH_PG_BINDIR overrides the Debian location.
std::string PgBinary(const std::string& name) {
  const char* env = std::getenv("PROTOMESH_PG_BINDIR");
  const std::string dir = env != nullptr && *env != '\0' ? env : kDefaultBinDir;
  return absl::StrCat(dir, "/", name);
}

bool RunningAsRoot() { return geteuid() == 0; }

// initdb and postgres refuse to run as root.
std::vector<std::string> AsPostgresUser(std::vector<std::string> argv) {
  if (!RunningAsRoot()) return argv;
  std::string runuser = "runuser";
  for (const char* candidate : {"/usr/sbin/runuser", "/sbin/runuser"}) {
    if (access(candidate, X_OK) == 0) {
      runuser = candidate;
      break;
    }
  }
  argv.insert(argv.begin(), {runuser, "-u", kPostgresUser, "--"});
  return argv;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string LastLines(const std::string& text, size_t count) {
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  if (lines.size() > count) lines.erase(lines.begin(), lines.end() - count);
  return absl::StrJoin(lines, "\n");
}

}  // namespace

absl::Status PostgresServer::RunPg(std::vector<std::string> argv) const {
  argv = AsPostgresUser(std::move(argv));
  absl::StatusOr<CommandResult> result = RunCommand(argv, {}, "", std::chrono::seconds(120));
  const std::string command = absl::StrJoin(argv, " ");
  if (result.ok() && result->exit_code == 0) return absl::OkStatus();
  const std::string what =
      result.ok() ? absl::StrCat("exited with code ", result->exit_code, ":\n", result->output)
                  : result.status().ToString();
  return absl::InternalError(absl::StrCat("`", command, "` ", what, "\n--- tail of ", log_path(),
                                          " ---\n", LastLines(ReadFile(log_path()), 30)));
}

// A process outside our process group, blocked reading a pipe whose only
// writer is this process. If we die without running ~PostgresServer (crash,
// SIGKILL on a test timeout), the read returns EOF and it stops the server
// and removes the directory. The destructor kills it after cleaning up.
absl::Status PostgresServer::StartWatchdog() {
  std::vector<std::string> argv = {"/bin/sh", "-c", "read x; \"$@\"; rm -rf -- \"$0\"", dir_};
  for (std::string& arg :
       AsPostgresUser({PgBinary("pg_ctl"), "-D", data_dir(), "-m", "immediate", "-w", "stop"})) {
    argv.push_back(std::move(arg));
  }
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

  if (RunningAsRoot()) {
    passwd pw;
    passwd* found = nullptr;
    char buf[4096];
    if (getpwnam_r(kPostgresUser, &pw, buf, sizeof(buf), &found) != 0 || found == nullptr) {
      return absl::FailedPreconditionError(
          "running as root, but there is no \"postgres\" user to run the server as");
    }
    if (chown(dir.c_str(), pw.pw_uid, pw.pw_gid) != 0) {
      return ErrnoError(absl::StrCat("chown ", dir));
    }
  }
  if (absl::Status s = server->StartWatchdog(); !s.ok()) return s;
  if (absl::Status s =
          server->RunPg({PgBinary("initdb"), "-D", server->data_dir(), "-A", "trust", "-U",
                         kPostgresUser, "--no-sync", "-E", "UTF8", "--locale=C"});
      !s.ok()) {
    return s;
  }

  // FreePort() can race with other processes grabbing the port; retry then.
  absl::Status status;
  for (int attempt = 0; attempt < 3; ++attempt) {
    server->port_ = FreePort();
    {
      // Appended settings override earlier ones, so retries can append again.
      std::ofstream conf(server->data_dir() + "/postgresql.conf", std::ios::app);
      conf << "\n# protomesh test settings\n"
           << "listen_addresses = '127.0.0.1'\n"
           << "port = " << server->port_ << "\n"
           << "unix_socket_directories = '" << absl::StrReplaceAll(dir, {{"'", "''"}}) << "'\n"
           << "fsync = off\n"
           << "synchronous_commit = off\n"
           << "full_page_writes = off\n"
           << "max_connections = 200\n"
           << "shared_buffers = 128MB\n"
           << "logging_collector = off\n";
      if (!conf.flush()) return absl::InternalError("cannot write postgresql.conf");
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
  absl::Status status =
      RunPg({PgBinary("pg_ctl"), "-D", data_dir(), "-l", log_path(), "-w", "-t", "60", "start"});
  if (status.ok()) running_ = true;
  return status;
}

PostgresServer::~PostgresServer() {
  if (getpid() != owner_pid_) return;
  if (running_) {
    if (absl::Status s = Stop(); !s.ok()) {
      std::fprintf(stderr, "PostgresServer: %s\n", s.ToString().c_str());
      RunPg({PgBinary("pg_ctl"), "-D", data_dir(), "-m", "immediate", "-w", "stop"}).IgnoreError();
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
  absl::Status status =
      RunPg({PgBinary("pg_ctl"), "-D", data_dir(), "-m", "fast", "-w", "-t", "60", "stop"});
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
