#pragma once
// Global settings of protomeshctl. Each comes from its flag, else its
// environment variable (PROTOMESH_ and the flag name in upper snake case),
// else the TOML file named by --config / PROTOMESH_CONFIG (keys spelled
// like the flags, with dashes or underscores), else the default.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace protomesh::ctl {

struct Settings {
  std::string server = "localhost:6680";
  // protomesh-xds, for xds-status.
  std::string xds_server = "localhost:6690";
  std::string namespace_ = "default";
  // The namespace came from the --namespace flag itself, so documents
  // naming another one are refused (as kubectl does).
  bool namespace_from_flag = false;
  std::string config;
  std::string tls_ca_file;
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_server_name;
  absl::Duration timeout = absl::Seconds(30);
};

// The settings' names: "server", "xds-server", "namespace", "config", "tls-ca-file",
// "tls-cert-file", "tls-key-file", "tls-server-name", "timeout".
const std::vector<std::string>& SettingNames();
// "tls-ca-file" -> "PROTOMESH_TLS_CA_FILE".
std::string SettingEnvironmentName(const std::string& name);

// `flags`: the settings given on the command line, by name. Errors (a
// config file that cannot be read, an unknown key in it, a bad value) are
// usage errors naming the setting and where it came from.
absl::StatusOr<Settings> ResolveSettings(const std::map<std::string, std::string>& flags,
                                         const std::map<std::string, std::string>& environment);

}  // namespace protomesh::ctl
