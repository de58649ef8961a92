#pragma once
// What every Protomesh daemon does first with its settings: it declares the
// logging ones, parses them all (flag over environment over config file),
// answers --help and --version, and sets up logging as they say; its first
// log line is the version.
#include <optional>
#include <string>

#include "src/common/config.h"

namespace protomesh::program {

struct LoggingSettings {
  std::string format = "text";
  std::string level = "info";
};

// Adds --log-format and --log-level; `help_suffix` ends their help lines.
void AddLoggingFlags(config::Flags& flags, LoggingSettings* logging,
                     const std::string& help_suffix = "");

// Parses the command line and the environment into `flags`, then prints the
// help or the version, or sets up logging and logs the version. Returns the
// exit code main() must return at once (0 after --help or --version; 2 for a
// bad setting, said on stderr), or nothing to go on.
std::optional<int> ParseSettings(const std::string& program, config::Flags& flags, int argc,
                                 char** argv, const LoggingSettings& logging);

}  // namespace protomesh::program
