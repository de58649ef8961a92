#pragma once
// Reads a flat config file (TOML, YAML or JSON, chosen by extension) into
// key/value entries for config::Flags. Internal to src/common.
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"

namespace protomesh::config::internal {

// A YAML/JSON scalar carries no type of its own: the setting decides.
struct UntypedScalar {
  std::string text;
};

// TOML values keep their type so "expected an integer" can be reported for
// `pool-size = "ten"` as well as for `pool-size = 1.5`.
using FileValue =
    std::variant<UntypedScalar, std::string, bool, int64_t, double>;

struct FileEntry {
  std::string key;  // As spelled in the file.
  FileValue value;
};

// `named_by` says where the path came from, for error messages
// (e.g. "flag --config" or "env CONFIG").
absl::StatusOr<std::vector<FileEntry>> ReadConfigFile(
    const std::string& path, const std::string& named_by);

// The value as it would be written in the file, for error messages.
std::string DisplayFileValue(const FileValue& value);

}  // namespace protomesh::config::internal
