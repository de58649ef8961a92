// protomesh-all-in-one: a whole Protomesh on one machine, for trying it out
// and for development. It runs protomesh-store with a private PostgreSQL
// under data-dir, and protomesh-xds serving one namespace of it, as child
// processes, protomesh-xds once the store serves (it says so on
// $NOTIFY_SOCKET); SIGTERM or Ctrl-C stops them all, and if one of them
// exits the others are stopped too.
#include <unistd.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "spdlog/spdlog.h"
#include "src/common/config.h"
#include "src/common/program_settings.h"
#include "src/common/supervisor.h"

using namespace protomesh;
namespace fs = std::filesystem;

namespace {

// The binary `name` in `bin_dir`, or in the build tree's layout next to it
// (build/cmd/NAME/NAME); else `name`, looked up in PATH.
std::string FindProgram(const std::string& bin_dir, const std::string& name) {
  for (const fs::path& candidate : {fs::path(bin_dir) / name, fs::path(bin_dir) / ".." / name / name}) {
    if (access(candidate.c_str(), X_OK) == 0) return fs::weakly_canonical(candidate).string();
  }
  return name;
}

// Where a local client reaches a listen address: "0.0.0.0:6680" ->
// "localhost:6680"; a specific host stays.
std::string LocalAddress(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return listen;
  const std::string host = listen.substr(0, colon);
  if (host.empty() || host == "0.0.0.0" || host == "[::]") return "localhost" + listen.substr(colon);
  return listen;
}

}  // namespace

int main(int argc, char** argv) {
  supervisor::BlockSignals();

  std::string data_dir = "/var/lib/protomesh";
  std::string namespace_ = "default";
  std::string store_grpc_listen = "0.0.0.0:6680";
  std::string store_admin_listen = "0.0.0.0:6681";
  std::string xds_grpc_listen = "0.0.0.0:6690";
  std::string xds_admin_listen = "0.0.0.0:6691";
  std::string bin_dir = fs::read_symlink("/proc/self/exe").parent_path().string();
  program::LoggingSettings logging;
  absl::Duration shutdown_grace = absl::Seconds(15);
  absl::Duration store_ready_timeout = absl::Minutes(2);

  config::Flags flags("protomesh-all-in-one",
                      "A whole Protomesh on one machine: protomesh-store with a private "
                      "PostgreSQL under data-dir, and protomesh-xds serving one namespace of it, "
                      "run as child processes and stopped together.");
  flags.Add("data-dir", &data_dir, "where the store's PostgreSQL keeps its data (data-dir/postgres)");
  flags.Add("namespace", &namespace_, "the store namespace protomesh-xds serves");
  flags.Add("store-grpc-listen", &store_grpc_listen, "protomesh-store's gRPC listen address");
  flags.Add("store-admin-listen", &store_admin_listen, "protomesh-store's admin HTTP listen address");
  flags.Add("xds-grpc-listen", &xds_grpc_listen, "protomesh-xds's gRPC (xDS) listen address");
  flags.Add("xds-admin-listen", &xds_admin_listen, "protomesh-xds's admin HTTP listen address");
  flags.Add("bin-dir", &bin_dir,
            "where protomesh-store and protomesh-xds are (also found in the build tree's "
            "cmd/NAME/NAME layout beside it, else in PATH); the default is this binary's "
            "directory");
  flags.Add("store-ready-timeout", &store_ready_timeout,
            "how long protomesh-store may take to serve (a new data-dir is initialized "
            "first) before everything stops with an error; protomesh-xds starts once it serves");
  flags.Add("shutdown-grace", &shutdown_grace,
            "how long each program may take to stop before it is killed");
  program::AddLoggingFlags(flags, &logging, " (for every program)");

  if (auto exit_code = program::ParseSettings("protomesh-all-in-one", flags, argc, argv, logging)) {
    return *exit_code;
  }
  if (data_dir.empty()) {
    spdlog::critical("data-dir must not be empty");
    return 2;
  }
  if (store_ready_timeout <= absl::ZeroDuration()) {
    spdlog::critical("store-ready-timeout must be positive");
    return 2;
  }

  const std::vector<std::string> logging_flags = {"--log-format=" + logging.format,
                                                  "--log-level=" + logging.level};
  std::vector<supervisor::Program> programs = {
      {"protomesh-store",
       {FindProgram(bin_dir, "protomesh-store"), "--embedded-postgres-dir=" + data_dir + "/postgres",
        "--grpc-listen=" + store_grpc_listen, "--admin-listen=" + store_admin_listen},
       absl::ToChronoMilliseconds(store_ready_timeout)},
      {"protomesh-xds",
       {FindProgram(bin_dir, "protomesh-xds"), "--store-address=" + LocalAddress(store_grpc_listen),
        "--namespace=" + namespace_, "--grpc-listen=" + xds_grpc_listen,
        "--admin-listen=" + xds_admin_listen},
       std::nullopt},
  };
  for (supervisor::Program& program : programs) {
    program.argv.insert(program.argv.end(), logging_flags.begin(), logging_flags.end());
  }
  spdlog::info("store at {} (admin {}), xDS for namespace {} at {} (admin {}); data in {}",
               store_grpc_listen, store_admin_listen, namespace_, xds_grpc_listen, xds_admin_listen,
               data_dir);
  return supervisor::Run(programs, absl::ToChronoMilliseconds(shutdown_grace));
}
