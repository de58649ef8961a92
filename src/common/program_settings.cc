#include "src/common/program_settings.h"

#include <cstdio>

#include "spdlog/spdlog.h"
#include "src/common/build_info.h"
#include "src/common/logging.h"

namespace protomesh::program {

void AddLoggingFlags(config::Flags& flags, LoggingSettings* logging,
                     const std::string& help_suffix) {
  flags.Add("log-format", &logging->format, "text or json" + help_suffix);
  flags.Add("log-level", &logging->level, "trace, debug, info, warn or error" + help_suffix);
}

std::optional<int> ParseSettings(const std::string& program, config::Flags& flags, int argc,
                                 char** argv, const LoggingSettings& logging) {
  if (auto s = flags.Parse(argc, argv, config::Flags::ProcessEnvironment()); !s.ok()) {
    std::fprintf(stderr, "%s: %s\nRun %s --help for every setting.\n", program.c_str(),
                 std::string(s.message()).c_str(), program.c_str());
    return 2;
  }
  if (flags.help_requested()) {
    std::fputs(flags.HelpText().c_str(), stdout);
    return 0;
  }
  if (flags.version_requested()) {
    std::puts(build_info::VersionLine(program).c_str());
    return 0;
  }
  if (auto s = logging::Setup(program, logging.format, logging.level); !s.ok()) {
    std::fprintf(stderr, "%s: %s\n", program.c_str(), std::string(s.message()).c_str());
    return 2;
  }
  spdlog::info("{}", build_info::VersionLine(program));
  return std::nullopt;
}

}  // namespace protomesh::program
