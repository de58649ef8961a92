#pragma once
// Settings for every binary: each one is a flag (--grpc-listen), the same
// name in upper snake case is its environment variable (GRPC_LISTEN), and a
// config file (--config FILE / CONFIG; TOML, YAML or JSON by extension) may
// hold it too, under either spelling (grpc-listen or grpc_listen).
// Precedence: flag, then environment, then file, then the default.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace protomesh::config {

class Flags {
 public:
  Flags(std::string program, std::string description);
  ~Flags();

  // Binds a setting to a variable; its value before Parse() is the default
  // shown by --help.
  void Add(std::string_view name, std::string* value, std::string_view help);
  void Add(std::string_view name, bool* value, std::string_view help);
  void Add(std::string_view name, int* value, std::string_view help);
  void Add(std::string_view name, int64_t* value, std::string_view help);
  void Add(std::string_view name, double* value, std::string_view help);
  // Durations as Go/absl strings: "250ms", "30s", "1h30m".
  void Add(std::string_view name, absl::Duration* value, std::string_view help);

  // Parses argv ("--name=value", "--name value", "-name value", "--flag" and
  // "--no-flag" for booleans), then `environment` (NAME=value entries), then
  // the config file. An unknown flag, an unknown key in the file, or a value
  // of the wrong type is INVALID_ARGUMENT naming the setting and its source.
  // Arguments that are not flags are kept in positional().
  absl::Status Parse(int argc, const char* const* argv,
                     const std::map<std::string, std::string>& environment);
  // The process environment as a map, for Parse().
  static std::map<std::string, std::string> ProcessEnvironment();

  // True when --help/-h was given; Parse() then sets no values.
  bool help_requested() const;
  // True when --version was given (before any --help); Parse() then sets no
  // values.
  bool version_requested() const;
  // Every setting with its environment variable, default and help.
  std::string HelpText() const;
  const std::vector<std::string>& positional() const;
  // Where a setting's value came from: "flag", "env", "file" or "default".
  std::string SourceOf(std::string_view name) const;
  // The setting as its source names it, for error messages: "--grpc-listen",
  // "$GRPC_LISTEN", "grpc-listen in the config file", or (default)
  // "grpc-listen".
  std::string DescribeSource(std::string_view name) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// "grpc-listen" -> "GRPC_LISTEN".
std::string EnvironmentName(std::string_view flag_name);

}  // namespace protomesh::config
