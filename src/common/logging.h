#pragma once
#include <string_view>

#include "absl/status/status.h"

namespace protomesh::logging {

// Installs the default spdlog logger writing to stderr. format: "text" or
// "json" (one JSON object per line: time, level, logger, msg; msg escaped).
// level: trace, debug, info, warn, error. Anything else is INVALID_ARGUMENT.
absl::Status Setup(std::string_view program, std::string_view format,
                   std::string_view level);

}  // namespace protomesh::logging
