#include "src/store/embedded_postgres.h"
#include "src/common/files.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/un.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <pqxx/pqxx>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "spdlog/spdlog.h"
#include "src/common/absl_fmt.h"

namespace protomesh::store {
namespace {

using files::ReadFile;

namespace fs = std::filesystem;

constexpr int kDefaultSocketPort = 5432;
// sun_path holds the socket's path and a terminating NUL.
constexpr size_t kMaxSocketPathLength = sizeof(sockaddr_un::sun_path) - 1;
constexpr char kSettingsFile[] = "protomesh.conf";
constexpr char kIncludeLine[] = "include_if_exists = 'protomesh.conf'";

absl::Status ErrnoError(absl::string_view what, int err = errno) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(err)));
}

// For a libpq URI: everything but unreserved characters (and, in a path,
// slashes) as %XX.
std::string PercentEncode(absl::string_view text, bool keep_slashes) {
  std::string out;
  for (char c : text) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~' ||
        (keep_slashes && c == '/')) {
      out.push_back(c);
    } else {
      absl::StrAppend(&out, absl::StrFormat("%%%02X", u));
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<std::unique_ptr<EmbeddedPostgres>> EmbeddedPostgres::Start(
    const EmbeddedPostgresOptions& options) {
  if (options.data_dir.empty()) {
    return absl::InvalidArgumentError("embedded PostgreSQL: no data directory given");
  }
  if (options.port < 0 || options.port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("embedded PostgreSQL: port ", options.port, " is not in [0, 65535]"));
  }
  std::error_code ec;
  fs::path dir = fs::absolute(options.data_dir, ec).lexically_normal();
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("embedded PostgreSQL: data directory ", options.data_dir, ": ", ec.message()));
  }
  if (!dir.has_filename()) dir = dir.parent_path();  // A trailing slash.
  if (dir == dir.root_path()) {
    return absl::InvalidArgumentError("embedded PostgreSQL: the data directory cannot be /");
  }
  std::unique_ptr<EmbeddedPostgres> postgres(new EmbeddedPostgres(
      PgCluster(dir.string(), (dir / "postgres.log").string(), options.bin_dir)));

  if (absl::Status s = postgres->PrepareDataDir(); !s.ok()) return s;
  if (absl::Status s = postgres->StopOrphanedServer(); !s.ok()) return s;
  if (absl::Status s =
          postgres->PrepareSocketDir(options.port != 0 ? options.port : kDefaultSocketPort);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = postgres->WriteSettings(options.port); !s.ok()) return s;
  if (absl::Status s = postgres->cluster_.Start(); !s.ok()) {
    // pg_ctl gives up waiting after 60 s but leaves a slow server starting.
    postgres->StopOrphanedServer().IgnoreError();
    return s;
  }
  postgres->running_ = true;
  return postgres;
}

absl::Status EmbeddedPostgres::PrepareDataDir() {
  const std::string& dir = data_dir();
  std::error_code ec;
  const fs::file_status file_status = fs::status(dir, ec);
  if (!fs::exists(file_status)) {
    if (fs::create_directories(dir, ec); ec) {
      return absl::InternalError(absl::StrCat("creating ", dir, ": ", ec.message()));
    }
    if (fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec); ec) {
      return absl::InternalError(absl::StrCat("chmod ", dir, ": ", ec.message()));
    }
  } else if (!fs::is_directory(file_status)) {
    return absl::FailedPreconditionError(
        absl::StrCat("embedded PostgreSQL data directory ", dir, " exists and is not a directory"));
  }

  // Held until we are destroyed; the kernel drops it if this process dies.
  // O_CLOEXEC keeps the servers we start from inheriting (and keeping) it.
  lock_fd_ = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (lock_fd_ < 0) return ErrnoError(absl::StrCat("open ", dir));
  if (flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return absl::FailedPreconditionError(absl::StrCat("embedded PostgreSQL data directory ", dir,
                                                        " is in use by another process"));
    }
    return ErrnoError(absl::StrCat("flock ", dir));
  }

  if (fs::exists(fs::path(dir) / "PG_VERSION", ec)) return absl::OkStatus();
  const bool empty = fs::is_empty(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("reading ", dir, ": ", ec.message()));
  if (!empty) {
    return absl::FailedPreconditionError(absl::StrCat(
        "embedded PostgreSQL data directory ", dir,
        " is not empty but holds no PostgreSQL cluster (no PG_VERSION file); refusing to "
        "initialize one over its contents: give an empty or new directory"));
  }
  if (absl::Status s = ChownToPostgresUser(dir); !s.ok()) return s;
  spdlog::info("initializing a new PostgreSQL cluster in {}", dir);
  absl::Status status = cluster_.InitDb(/*sync=*/true);
  if (!status.ok()) {
    if (RunningAsRoot() && absl::StrContains(status.message(), "Permission denied")) {
      return absl::Status(status.code(),
                          absl::StrCat(status.message(), "\n(as root, PostgreSQL runs as the \"",
                                       kPostgresSystemUser,
                                       "\" user, which needs search permission on every parent "
                                       "directory of ",
                                       dir, ")"));
    }
    return status;
  }
  initialized_ = true;
  return absl::OkStatus();
}

// A server whose owner died (SIGKILL, OOM) keeps running and would make
// pg_ctl start fail on its lock file. We hold the directory's lock, so no
// live EmbeddedPostgres owns it. The pid in postmaster.pid only counts if
// that process runs in this directory: after a reboot it may be anyone's.
absl::Status EmbeddedPostgres::StopOrphanedServer() {
  std::ifstream pid_file(data_dir() + "/postmaster.pid");
  std::string first_line;
  pid_t pid = 0;
  if (!std::getline(pid_file, first_line) || !absl::SimpleAtoi(first_line, &pid) || pid <= 0) {
    return absl::OkStatus();
  }
  std::error_code ec;
  const fs::path cwd = fs::read_symlink(absl::StrCat("/proc/", pid, "/cwd"), ec);
  if (ec) return absl::OkStatus();
  const fs::path dir = fs::canonical(data_dir(), ec);
  if (ec || cwd != dir) return absl::OkStatus();
  spdlog::warn("PostgreSQL (pid {}) from an earlier run is still running on {}; restarting it", pid,
               data_dir());
  return cluster_.Stop("fast");
}

absl::Status EmbeddedPostgres::PrepareSocketDir(int socket_port) {
  socket_port_ = socket_port;
  const std::string socket_name = absl::StrCat("/.s.PGSQL.", socket_port);
  if (data_dir().size() + socket_name.size() <= kMaxSocketPathLength) {
    socket_dir_ = data_dir();
    return absl::OkStatus();
  }
  std::string dir = "/tmp/protomesh-pg-XXXXXX";  // Not $TMPDIR: it may be long too.
  if (mkdtemp(dir.data()) == nullptr) return ErrnoError(absl::StrCat("mkdtemp ", dir));
  socket_dir_ = dir;
  temp_socket_dir_ = true;
  return ChownToPostgresUser(dir);
}

absl::Status EmbeddedPostgres::WriteSettings(int tcp_port) {
  const std::string settings_path = absl::StrCat(data_dir(), "/", kSettingsFile);
  if (absl::Status s = WritePostgresConf(
          settings_path,
          "Written by protomesh-store on every start, so edits here are lost; other settings "
          "belong in postgresql.conf.",
          {
              {"listen_addresses", tcp_port != 0 ? "127.0.0.1" : ""},
              {"port", absl::StrCat(socket_port_)},
              {"unix_socket_directories", socket_dir_},
              // The server's log, in log/ of the data directory, one file
              // per weekday, each emptied when its day comes round again:
              // at most a week of it is kept. pg_ctl's postgres.log gets
              // only what is logged before the collector starts.
              {"logging_collector", "on"},
              {"log_directory", "log"},
              {"log_filename", "postgresql-%a.log"},
              {"log_truncate_on_rotation", "on"},
              {"log_rotation_age", "1d"},
              {"log_rotation_size", "0"},
          },
          /*append=*/false);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = ChownToPostgresUser(settings_path); !s.ok()) return s;

  const std::string conf_path = data_dir() + "/postgresql.conf";
  if (absl::StrContains(ReadFile(conf_path), kIncludeLine)) return absl::OkStatus();
  std::ofstream conf(conf_path, std::ios::app);
  conf << "\n# Where protomesh-store's embedded mode listens; see " << kSettingsFile << ".\n"
       << kIncludeLine << "\n";
  if (!conf.flush()) return absl::InternalError(absl::StrCat("cannot write ", conf_path));
  return absl::OkStatus();
}

void EmbeddedPostgres::RemoveTempSocketDir() {
  if (!temp_socket_dir_) return;
  std::error_code ec;
  fs::remove_all(socket_dir_, ec);
  temp_socket_dir_ = false;
}

EmbeddedPostgres::~EmbeddedPostgres() {
  if (absl::Status s = Stop(); !s.ok()) {
    spdlog::error("stopping the embedded PostgreSQL: {}", s.message());
  }
  RemoveTempSocketDir();
  if (lock_fd_ >= 0) close(lock_fd_);
}

std::string EmbeddedPostgres::Url(const std::string& database) const {
  return absl::StrCat(
      "postgresql://", kPostgresSuperuser, "@/", PercentEncode(database, /*keep_slashes=*/false),
      "?host=", PercentEncode(socket_dir_, /*keep_slashes=*/true), "&port=", socket_port_);
}

absl::Status EmbeddedPostgres::CreateDatabaseIfMissing(const std::string& name) {
  try {
    pqxx::connection connection(Url("postgres"));
    pqxx::nontransaction tx(connection);
    if (tx.exec_params("SELECT 1 FROM pg_database WHERE datname = $1", name).empty()) {
      tx.exec0("CREATE DATABASE " + tx.quote_name(name));
    }
  } catch (const std::exception& e) {
    return absl::InternalError(
        absl::StrCat("creating database \"", name, "\" in the embedded PostgreSQL: ", e.what()));
  }
  return absl::OkStatus();
}

absl::Status EmbeddedPostgres::Stop() {
  if (!running_) return absl::OkStatus();
  if (absl::Status s = cluster_.Stop("fast"); !s.ok()) return s;
  running_ = false;
  RemoveTempSocketDir();
  return absl::OkStatus();
}

}  // namespace protomesh::store
