#include "src/common/config.h"

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "src/common/config_file.h"
#include "src/common/config_value.h"
#include "src/common/string_view_compat.h"

extern char** environ;

namespace protomesh::config {

using internal::Target;
using internal::Value;
using internal::ValueSource;
using ::protomesh::internal::ToAbsl;

namespace {

constexpr std::string_view kConfigName = "config";
constexpr std::string_view kConfigHelp =
    "config file to read settings from: TOML (.toml), YAML (.yaml, .yml) or "
    "JSON (.json); keys are setting names with dashes or underscores";

}  // namespace

struct Flags::Impl {
  struct Setting {
    Setting(std::string_view name, Target target, std::string_view help)
        : name(name), help(help), target(target) {}

    std::string name;
    std::string help;
    Target target;
    // Captured when Parse() starts: the variable's value before Parse().
    std::optional<Value> default_value;
    std::string source = "default";
    // Filled by Parse(); the highest-precedence one present wins.
    std::optional<Value> from_flag, from_env, from_file;
  };

  std::string program;
  std::string description;
  std::string config_file;  // Bound to the built-in --config setting.
  std::vector<Setting> settings;  // Registration order; --config first.
  bool help_requested = false;
  bool version_requested = false;
  std::vector<std::string> positional;

  void Add(std::string_view name, Target target, std::string_view help);
  Setting* Find(std::string_view name);
  const Setting* Find(std::string_view name) const;
  absl::Status ParseArguments(int argc, const char* const* argv);
  absl::Status ParseEnvironment(
      const std::map<std::string, std::string>& environment);
  absl::Status ParseFile(const std::string& path, const std::string& named_by);
  void Apply();
};

void Flags::Impl::Add(std::string_view name, Target target,
                      std::string_view help) {
  if (name.empty() || name == "help" || name == "h" || name == "version" || Find(name) != nullptr) {
    // A programming error in the binary's setup, not a user error.
    std::fprintf(stderr, "config: setting \"%.*s\" is reserved or added twice\n",
                 static_cast<int>(name.size()), name.data());
    std::abort();
  }
  settings.emplace_back(name, target, help);
}

Flags::Impl::Setting* Flags::Impl::Find(std::string_view name) {
  for (Setting& setting : settings) {
    if (setting.name == name) return &setting;
  }
  return nullptr;
}

const Flags::Impl::Setting* Flags::Impl::Find(std::string_view name) const {
  return const_cast<Impl*>(this)->Find(name);
}

absl::Status Flags::Impl::ParseArguments(int argc, const char* const* argv) {
  const ValueSource source{"flag"};
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--") {
      for (++i; i < argc; ++i) positional.emplace_back(argv[i]);
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      positional.emplace_back(arg);
      continue;
    }
    std::string_view body = arg.substr(arg[1] == '-' ? 2 : 1);
    if (body.empty() || body[0] == '-' || body[0] == '=') {
      return absl::InvalidArgumentError(
          absl::StrCat("bad flag syntax: ", ToAbsl(arg)));
    }
    std::optional<std::string_view> value;
    if (const size_t eq = body.find('='); eq != std::string_view::npos) {
      value = body.substr(eq + 1);
      body = body.substr(0, eq);
    }
    if ((body == "help" || body == "h") && Find(body) == nullptr) {
      help_requested = true;
      return absl::OkStatus();
    }
    if (body == "version") {
      version_requested = true;
      return absl::OkStatus();
    }
    Setting* setting = Find(body);
    if (setting == nullptr && body.substr(0, 3) == "no-") {
      Setting* negated = Find(body.substr(3));
      if (negated != nullptr && std::holds_alternative<bool*>(negated->target)) {
        if (value.has_value()) {
          return absl::InvalidArgumentError(
              absl::StrCat("flag --", ToAbsl(body), " takes no value, got \"",
                           ToAbsl(*value),
                           "\""));
        }
        negated->from_flag = false;
        continue;
      }
    }
    if (setting == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", ToAbsl(body)));
    }
    if (std::holds_alternative<bool*>(setting->target)) {
      if (!value.has_value()) {
        setting->from_flag = true;
        continue;
      }
    } else if (!value.has_value()) {
      if (i + 1 >= argc) {
        return absl::InvalidArgumentError(
            absl::StrCat("flag --", ToAbsl(body), " needs a value"));
      }
      value = argv[++i];
    }
    absl::StatusOr<Value> parsed =
        internal::ParseText(setting->target, setting->name,
                            ToAbsl(*value), source);
    if (!parsed.ok()) return parsed.status();
    setting->from_flag = *std::move(parsed);
  }
  return absl::OkStatus();
}

absl::Status Flags::Impl::ParseEnvironment(
    const std::map<std::string, std::string>& environment) {
  for (Setting& setting : settings) {
    const std::string env_name = EnvironmentName(setting.name);
    const auto it = environment.find(env_name);
    if (it == environment.end()) continue;
    absl::StatusOr<Value> parsed =
        internal::ParseText(setting.target, setting.name, it->second,
                            ValueSource{absl::StrCat("env ", env_name)});
    if (!parsed.ok()) return parsed.status();
    setting.from_env = *std::move(parsed);
  }
  return absl::OkStatus();
}

absl::Status Flags::Impl::ParseFile(const std::string& path,
                                    const std::string& named_by) {
  absl::StatusOr<std::vector<internal::FileEntry>> entries =
      internal::ReadConfigFile(path, named_by);
  if (!entries.ok()) return entries.status();
  const ValueSource source{absl::StrCat("file ", path)};
  for (const internal::FileEntry& entry : *entries) {
    const std::string name = absl::StrReplaceAll(entry.key, {{"_", "-"}});
    Setting* setting = name == kConfigName ? nullptr : Find(name);
    if (setting == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown setting \"", entry.key, "\" in config file ", path));
    }
    if (setting->from_file.has_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat("setting ", setting->name, " is set twice in config file ",
                       path, " (as both dashed and underscored key)"));
    }
    absl::StatusOr<Value> parsed = internal::ConvertFileValue(
        setting->target, setting->name, entry.value, source);
    if (!parsed.ok()) return parsed.status();
    setting->from_file = *std::move(parsed);
  }
  return absl::OkStatus();
}

void Flags::Impl::Apply() {
  for (Setting& setting : settings) {
    if (setting.from_flag.has_value()) {
      internal::Assign(setting.target, *setting.from_flag);
      setting.source = "flag";
    } else if (setting.from_env.has_value()) {
      internal::Assign(setting.target, *setting.from_env);
      setting.source = "env";
    } else if (setting.from_file.has_value()) {
      internal::Assign(setting.target, *setting.from_file);
      setting.source = "file";
    }
  }
}

Flags::Flags(std::string program, std::string description)
    : impl_(std::make_unique<Impl>()) {
  impl_->program = std::move(program);
  impl_->description = std::move(description);
  impl_->Add(kConfigName, &impl_->config_file, kConfigHelp);
}

Flags::~Flags() = default;

void Flags::Add(std::string_view name, std::string* value,
                std::string_view help) {
  impl_->Add(name, value, help);
}
void Flags::Add(std::string_view name, bool* value, std::string_view help) {
  impl_->Add(name, value, help);
}
void Flags::Add(std::string_view name, int* value, std::string_view help) {
  impl_->Add(name, value, help);
}
void Flags::Add(std::string_view name, int64_t* value, std::string_view help) {
  impl_->Add(name, value, help);
}
void Flags::Add(std::string_view name, double* value, std::string_view help) {
  impl_->Add(name, value, help);
}
void Flags::Add(std::string_view name, absl::Duration* value,
                std::string_view help) {
  impl_->Add(name, value, help);
}

absl::Status Flags::Parse(
    int argc, const char* const* argv,
    const std::map<std::string, std::string>& environment) {
  // Values are staged per source and only assigned once everything parsed,
  // so a failed Parse() leaves every variable at its default.
  impl_->help_requested = false;
  impl_->version_requested = false;
  impl_->positional.clear();
  for (Impl::Setting& setting : impl_->settings) {
    if (!setting.default_value.has_value()) {
      setting.default_value = internal::CurrentValue(setting.target);
    }
    setting.from_flag.reset();
    setting.from_env.reset();
    setting.from_file.reset();
  }
  if (absl::Status s = impl_->ParseArguments(argc, argv); !s.ok()) return s;
  if (impl_->help_requested || impl_->version_requested) return absl::OkStatus();
  if (absl::Status s = impl_->ParseEnvironment(environment); !s.ok()) return s;
  const Impl::Setting& config = *impl_->Find(kConfigName);
  std::string path, named_by;
  if (config.from_flag.has_value()) {
    path = std::get<std::string>(*config.from_flag);
    named_by = "flag --config";
  } else if (config.from_env.has_value()) {
    path = std::get<std::string>(*config.from_env);
    named_by = absl::StrCat("env ", EnvironmentName(kConfigName));
  }
  if (!path.empty()) {
    if (absl::Status s = impl_->ParseFile(path, named_by); !s.ok()) return s;
  }
  impl_->Apply();
  return absl::OkStatus();
}

std::map<std::string, std::string> Flags::ProcessEnvironment() {
  std::map<std::string, std::string> environment;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view text = *entry;
    const size_t eq = text.find('=');
    if (eq == std::string_view::npos) continue;
    environment.emplace(text.substr(0, eq), text.substr(eq + 1));
  }
  return environment;
}

bool Flags::help_requested() const { return impl_->help_requested; }

bool Flags::version_requested() const { return impl_->version_requested; }

std::string Flags::HelpText() const {
  std::string text = absl::StrCat("Usage: ", impl_->program,
                                  " [flags] [arguments]\n\n");
  if (!impl_->description.empty()) {
    absl::StrAppend(&text, impl_->description, "\n\n");
  }
  absl::StrAppend(&text,
                  "Settings (precedence: flag, then environment variable, then "
                  "config file, then default):\n");
  for (const Impl::Setting& setting : impl_->settings) {
    absl::StrAppend(&text, "  --", setting.name, " (env ",
                    EnvironmentName(setting.name), ")  ", setting.help,
                    "  [default: ",
                    internal::FormatValue(setting.default_value.value_or(
                        internal::CurrentValue(setting.target))),
                    "]\n");
  }
  absl::StrAppend(&text, "  -h, --help  show this help and exit\n",
                  "  --version  show the version and exit\n");
  return text;
}

const std::vector<std::string>& Flags::positional() const {
  return impl_->positional;
}

std::string Flags::SourceOf(std::string_view name) const {
  const Impl::Setting* setting = impl_->Find(name);
  return setting == nullptr ? "" : setting->source;
}

std::string Flags::DescribeSource(std::string_view name) const {
  const std::string source = SourceOf(name);
  if (source == "flag") return absl::StrCat("--", ToAbsl(name));
  if (source == "env") return "$" + EnvironmentName(name);
  if (source == "file") return absl::StrCat(ToAbsl(name), " in the config file");
  return std::string(name);
}

std::string EnvironmentName(std::string_view flag_name) {
  std::string name = absl::AsciiStrToUpper(ToAbsl(flag_name));
  for (char& c : name) {
    if (c == '-' || c == '.') c = '_';
  }
  return name;
}

}  // namespace protomesh::config
