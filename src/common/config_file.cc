#include "src/common/config_file.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <fstream>
#include <sstream>
#include <toml.hpp>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "yaml-cpp/yaml.h"

namespace protomesh::config::internal {
namespace {

enum class Format { kToml, kYaml };

absl::StatusOr<Format> FormatOf(const std::string& path,
                                const std::string& named_by) {
  const size_t dot = path.find_last_of('.');
  const size_t slash = path.find_last_of('/');
  std::string extension;
  if (dot != std::string::npos &&
      (slash == std::string::npos || dot > slash)) {
    extension = absl::AsciiStrToLower(path.substr(dot));
  }
  if (extension == ".toml") return Format::kToml;
  if (extension == ".yaml" || extension == ".yml" || extension == ".json") {
    return Format::kYaml;  // JSON is read as the YAML subset it is.
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "config file ", path, " (from ", named_by,
      "): unsupported extension \"", extension,
      "\": expected .toml, .yaml, .yml or .json"));
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path,
                                          const std::string& named_by) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read config file ", path, " (from ", named_by,
                     "): ", std::strerror(errno)));
  }
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

absl::Status NestedValueError(const std::string& path, const std::string& key,
                              absl::string_view kind) {
  return absl::InvalidArgumentError(absl::StrCat(
      "config file ", path, ": key \"", key, "\" holds ", kind,
      ": expected a single value (nested settings are not supported)"));
}

absl::StatusOr<std::vector<FileEntry>> ParseToml(const std::string& path,
                                                 const std::string& contents) {
  toml::value root;
  try {
    std::istringstream in(contents);
    root = toml::parse(in, path);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot parse TOML config file ", path, ": ", e.what()));
  }
  std::vector<FileEntry> entries;
  for (const auto& [key, value] : root.as_table()) {
    switch (value.type()) {
      case toml::value_t::string:
        entries.push_back({key, value.as_string().str});
        break;
      case toml::value_t::boolean:
        entries.push_back({key, value.as_boolean()});
        break;
      case toml::value_t::integer:
        entries.push_back({key, static_cast<int64_t>(value.as_integer())});
        break;
      case toml::value_t::floating:
        entries.push_back({key, static_cast<double>(value.as_floating())});
        break;
      case toml::value_t::table:
        return NestedValueError(path, key, "a table");
      case toml::value_t::array:
        return NestedValueError(path, key, "an array");
      default:
        return absl::InvalidArgumentError(
            absl::StrCat("config file ", path, ": key \"", key,
                         "\" holds a date or time: expected a string, number "
                         "or boolean"));
    }
  }
  return entries;
}

absl::StatusOr<std::vector<FileEntry>> ParseYamlNode(const std::string& path,
                                                     const YAML::Node& root) {
  std::vector<FileEntry> entries;
  if (root.IsNull()) return entries;  // An empty file sets nothing.
  if (!root.IsMap()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "config file ", path, ": expected a mapping of setting names to values"));
  }
  for (const auto& item : root) {
    if (!item.first.IsScalar()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "config file ", path, ": keys must be plain setting names"));
    }
    const std::string key = item.first.Scalar();
    const YAML::Node& value = item.second;
    if (value.IsMap()) return NestedValueError(path, key, "a mapping");
    if (value.IsSequence()) return NestedValueError(path, key, "a list");
    entries.push_back(
        {key, UntypedScalar{value.IsScalar() ? value.Scalar() : ""}});
  }
  return entries;
}

absl::StatusOr<std::vector<FileEntry>> ParseYaml(const std::string& path,
                                                 const std::string& contents) {
  try {
    return ParseYamlNode(path, YAML::Load(contents));
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot parse config file ", path, ": ", e.what()));
  }
}

}  // namespace

absl::StatusOr<std::vector<FileEntry>> ReadConfigFile(
    const std::string& path, const std::string& named_by) {
  absl::StatusOr<Format> format = FormatOf(path, named_by);
  if (!format.ok()) return format.status();
  absl::StatusOr<std::string> contents = ReadWholeFile(path, named_by);
  if (!contents.ok()) return contents.status();
  absl::StatusOr<std::vector<FileEntry>> entries =
      *format == Format::kToml ? ParseToml(path, *contents)
                               : ParseYaml(path, *contents);
  if (!entries.ok()) return entries;
  // TOML tables are unordered; sorting makes error reports deterministic.
  std::sort(entries->begin(), entries->end(),
            [](const FileEntry& a, const FileEntry& b) { return a.key < b.key; });
  return entries;
}

std::string DisplayFileValue(const FileValue& value) {
  struct Visitor {
    std::string operator()(const UntypedScalar& v) const { return v.text; }
    std::string operator()(const std::string& v) const { return v; }
    std::string operator()(bool v) const { return v ? "true" : "false"; }
    std::string operator()(int64_t v) const { return absl::StrCat(v); }
    std::string operator()(double v) const { return absl::StrCat(v); }
  };
  return std::visit(Visitor{}, value);
}

}  // namespace protomesh::config::internal
