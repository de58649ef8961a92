#include "src/ctl/settings.h"

#include <algorithm>
#include <exception>
#include <vector>

#include <toml.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "src/ctl/document.h"
#include "src/ctl/errors.h"

namespace protomesh::ctl {
namespace {

struct Value {
  std::string text;
  std::string source;  // "--server", "$PROTOMESH_SERVER", "server in FILE"
};

absl::StatusOr<std::map<std::string, Value>> ReadConfigFile(const std::string& path,
                                                             const std::string& named_by) {
  toml::value data;
  try {
    data = toml::parse(path);
  } catch (const std::exception& e) {
    return UsageError(absl::StrCat("config file ", path, " (from ", named_by,
                                   ") cannot be read: ", e.what()));
  }
  std::map<std::string, Value> values;
  if (!data.is_table()) return values;
  std::vector<std::string> keys;
  for (const auto& [key, value] : data.as_table()) keys.push_back(key);
  std::sort(keys.begin(), keys.end());
  for (const std::string& key : keys) {
    std::string name = absl::StrReplaceAll(key, {{"_", "-"}});
    const auto& names = SettingNames();
    if (name == "config" || std::find(names.begin(), names.end(), name) == names.end()) {
      std::vector<std::string> allowed;
      for (const std::string& n : names) {
        if (n != "config") allowed.push_back(n);
      }
      return UsageError(absl::StrCat("config file ", path, ": unknown key \"", key,
                                     "\"; known keys: ", absl::StrJoin(allowed, ", ")));
    }
    const toml::value& value = data.as_table().at(key);
    if (!value.is_string()) {
      return UsageError(absl::StrCat("config file ", path, ": ", key,
                                     " must be a string, as in ", name, " = \"...\""));
    }
    values[name] = Value{value.as_string().str, absl::StrCat(key, " in ", path)};
  }
  return values;
}

}  // namespace

const std::vector<std::string>& SettingNames() {
  static const std::vector<std::string> names = {
      "server",       "xds-server",    "namespace",    "config",          "tls-ca-file",
      "tls-cert-file", "tls-key-file", "tls-server-name", "timeout"};
  return names;
}

std::string SettingEnvironmentName(const std::string& name) {
  return absl::StrCat("PROTOMESH_", absl::AsciiStrToUpper(absl::StrReplaceAll(name, {{"-", "_"}})));
}

absl::StatusOr<Settings> ResolveSettings(const std::map<std::string, std::string>& flags,
                                         const std::map<std::string, std::string>& environment) {
  std::map<std::string, Value> values;
  // The file first, then the environment over it, then the flags.
  std::string config_env = SettingEnvironmentName("config");
  Value config;
  if (auto it = flags.find("config"); it != flags.end()) {
    config = {it->second, "--config"};
  } else if (auto env = environment.find(config_env); env != environment.end()) {
    config = {env->second, absl::StrCat("$", config_env)};
  }
  if (!config.text.empty()) {
    auto from_file = ReadConfigFile(config.text, config.source);
    if (!from_file.ok()) return from_file.status();
    values = std::move(*from_file);
    values["config"] = config;
  }
  for (const std::string& name : SettingNames()) {
    std::string env_name = SettingEnvironmentName(name);
    if (auto env = environment.find(env_name); env != environment.end() && name != "config") {
      values[name] = Value{env->second, absl::StrCat("$", env_name)};
    }
    if (auto flag = flags.find(name); flag != flags.end()) {
      values[name] = Value{flag->second, absl::StrCat("--", name)};
    }
  }

  Settings settings;
  for (const auto& [name, value] : values) {
    if (name == "server") {
      if (value.text.empty()) return UsageError(absl::StrCat(value.source, ": must not be empty"));
      settings.server = value.text;
    } else if (name == "xds-server") {
      if (value.text.empty()) return UsageError(absl::StrCat(value.source, ": must not be empty"));
      settings.xds_server = value.text;
    } else if (name == "namespace") {
      if (std::string problem = NamespaceProblem(value.text); !problem.empty()) {
        return UsageError(absl::StrCat(value.source, ": ", problem));
      }
      settings.namespace_ = value.text;
      settings.namespace_from_flag = value.source == "--namespace";
    } else if (name == "config") {
      settings.config = value.text;
    } else if (name == "tls-ca-file") {
      settings.tls_ca_file = value.text;
    } else if (name == "tls-cert-file") {
      settings.tls_cert_file = value.text;
    } else if (name == "tls-key-file") {
      settings.tls_key_file = value.text;
    } else if (name == "tls-server-name") {
      settings.tls_server_name = value.text;
    } else if (name == "timeout") {
      if (!absl::ParseDuration(value.text, &settings.timeout) ||
          settings.timeout < absl::ZeroDuration()) {
        return UsageError(absl::StrCat("invalid value \"", value.text, "\" for ", value.source,
                                       ": expected a duration like 30s, 1m or 500ms (0: none)"));
      }
    }
  }
  if (settings.tls_cert_file.empty() != settings.tls_key_file.empty()) {
    return UsageError("--tls-cert-file and --tls-key-file go together: give both or neither");
  }
  return settings;
}

}  // namespace protomesh::ctl
