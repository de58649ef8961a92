#include "src/store/postgres_control.h"
#include "src/common/files.h"

#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "src/common/subprocess.h"

namespace protomesh::store {
namespace {

using files::ReadFile;

constexpr char kDebianBinDir[] = "/usr/lib/postgresql/15/bin";
constexpr size_t kLogTailLines = 30;

}  // namespace

std::string DefaultPgBinDir() {
  const char* env = std::getenv("PROTOMESH_PG_BINDIR");
  return env != nullptr && *env != '\0' ? env : kDebianBinDir;
}

bool RunningAsRoot() { return geteuid() == 0; }

std::vector<std::string> AsPostgresUser(std::vector<std::string> argv) {
  if (!RunningAsRoot()) return argv;
  std::string runuser = "runuser";
  for (const char* candidate : {"/usr/sbin/runuser", "/sbin/runuser"}) {
    if (access(candidate, X_OK) == 0) {
      runuser = candidate;
      break;
    }
  }
  argv.insert(argv.begin(), {runuser, "-u", kPostgresSystemUser, "--"});
  return argv;
}

absl::Status ChownToPostgresUser(const std::string& path) {
  if (!RunningAsRoot()) return absl::OkStatus();
  passwd pw;
  passwd* found = nullptr;
  char buf[4096];
  if (getpwnam_r(kPostgresSystemUser, &pw, buf, sizeof(buf), &found) != 0 || found == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("running as root, but there is no \"", kPostgresSystemUser,
                     "\" user to run PostgreSQL as (initdb and postgres refuse to run as root)"));
  }
  if (chown(path.c_str(), pw.pw_uid, pw.pw_gid) != 0) {
    return absl::InternalError(absl::StrCat("chown ", path, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status WritePostgresConf(const std::string& path, absl::string_view header,
                               const std::vector<std::pair<std::string, std::string>>& settings,
                               bool append) {
  std::ofstream conf(path, append ? std::ios::app : std::ios::trunc);
  conf << (append ? "\n" : "") << "# " << header << "\n";
  for (const auto& [name, value] : settings) {
    conf << name << " = '" << absl::StrReplaceAll(value, {{"'", "''"}}) << "'\n";
  }
  if (!conf.flush()) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

std::string FileTail(const std::string& path, size_t count) {
  const std::string text = ReadFile(path);
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  if (lines.size() > count) lines.erase(lines.begin(), lines.end() - count);
  return absl::StrJoin(lines, "\n");
}

PgCluster::PgCluster(std::string data_dir, std::string log_path, std::string bin_dir)
    : data_dir_(std::move(data_dir)),
      log_path_(std::move(log_path)),
      bin_dir_(std::move(bin_dir)) {}

std::string PgCluster::Binary(absl::string_view name) const {
  return absl::StrCat(bin_dir_, "/", name);
}

absl::Status PgCluster::Run(std::vector<std::string> argv,
                            std::chrono::milliseconds timeout) const {
  argv = AsPostgresUser(std::move(argv));
  absl::StatusOr<subprocess::CommandResult> result = subprocess::RunCommand(argv, {}, "", timeout);
  if (result.ok() && result->exit_code == 0) return absl::OkStatus();
  const std::string what =
      result.ok() ? absl::StrCat("exited with code ", result->exit_code, ":\n", result->output)
                  : result.status().ToString();
  std::string message = absl::StrCat("`", absl::StrJoin(argv, " "), "` ", what);
  if (access(log_path_.c_str(), F_OK) == 0) {
    absl::StrAppend(&message, "\n--- tail of ", log_path_, " ---\n",
                    FileTail(log_path_, kLogTailLines));
  }
  return absl::InternalError(message);
}

absl::Status PgCluster::InitDb(bool sync) const {
  std::vector<std::string> argv = {Binary("initdb"),   "-D", data_dir_, "-A",        "trust", "-U",
                                   kPostgresSuperuser, "-E", "UTF8",    "--locale=C"};
  if (!sync) argv.push_back("--no-sync");
  return Run(std::move(argv));
}

absl::Status PgCluster::Start() const {
  return Run({Binary("pg_ctl"), "-D", data_dir_, "-l", log_path_, "-w", "-t", "60", "start"});
}

std::vector<std::string> PgCluster::StopArgv(absl::string_view mode) const {
  return {Binary("pg_ctl"), "-D", data_dir_, "-m", std::string(mode), "-w", "-t", "60", "stop"};
}

std::vector<std::string> PgCluster::StopCommand(absl::string_view mode) const {
  return AsPostgresUser(StopArgv(mode));
}

absl::Status PgCluster::Stop(absl::string_view mode) const { return Run(StopArgv(mode)); }

}  // namespace protomesh::store
