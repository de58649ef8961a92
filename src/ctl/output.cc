#include "src/ctl/output.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "src/ctl/errors.h"
#include "src/ctl/yaml_json.h"

namespace protomesh::ctl {

absl::StatusOr<OutputFormat> ParseOutputFormat(const std::string& text) {
  if (text == "table") return OutputFormat::kTable;
  if (text == "yaml") return OutputFormat::kYaml;
  if (text == "json") return OutputFormat::kJson;
  return UsageError(absl::StrCat("unknown output format \"", text,
                                 "\" for -o; known formats: table, yaml, json"));
}

void Table::Print(std::ostream& out) const {
  std::vector<size_t> widths;
  for (const auto& row : rows_) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  for (const auto& row : rows_) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line.append(widths[i] - row[i].size() + 2, ' ');
    }
    out << line << "\n";
  }
}

std::string FormatAge(absl::Duration age) {
  if (age < absl::ZeroDuration()) age = absl::ZeroDuration();
  int64_t seconds = absl::ToInt64Seconds(age);
  if (seconds < 120) return absl::StrCat(seconds, "s");
  if (seconds < 120 * 60) return absl::StrCat(seconds / 60, "m");
  if (seconds < 48 * 3600) return absl::StrCat(seconds / 3600, "h");
  return absl::StrCat(seconds / 86400, "d");
}

std::string AgeOf(const google::protobuf::Timestamp& timestamp, absl::Time now) {
  absl::Time then = absl::FromUnixSeconds(timestamp.seconds()) + absl::Nanoseconds(timestamp.nanos());
  return FormatAge(now - then);
}

void PrintYamlDocument(const YAML::Node& document, std::ostream& out) {
  YAML::Emitter emitter;
  EmitYaml(document, emitter);
  out << emitter.c_str() << "\n";
}

void PrintYaml(const std::vector<YAML::Node>& documents, std::ostream& out) {
  for (size_t i = 0; i < documents.size(); ++i) {
    if (i > 0) out << "---\n";
    PrintYamlDocument(documents[i], out);
  }
}

void PrintJson(const std::vector<YAML::Node>& documents, bool as_list, std::ostream& out) {
  std::string json;
  if (as_list) {
    YAML::Node list(YAML::NodeType::Sequence);
    for (const YAML::Node& document : documents) list.push_back(document);
    AppendJson(list, json, 2);
  } else if (!documents.empty()) {
    AppendJson(documents.front(), json, 2);
  }
  out << json << "\n";
}

void PrintJsonLine(const YAML::Node& document, std::ostream& out) {
  std::string json;
  AppendJson(document, json);
  out << json << "\n";
}

}  // namespace protomesh::ctl
