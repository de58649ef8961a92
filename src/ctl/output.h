#pragma once
// Printing: aligned tables, documents as YAML or JSON, ages.
#include <ostream>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"

namespace protomesh::ctl {

enum class OutputFormat { kTable, kYaml, kJson };

// "table", "yaml" or "json"; anything else is a usage error.
absl::StatusOr<OutputFormat> ParseOutputFormat(const std::string& text);

// Columns padded to their widest cell, two spaces apart.
class Table {
 public:
  explicit Table(std::vector<std::string> header) { rows_.push_back(std::move(header)); }
  void AddRow(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void Print(std::ostream& out) const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

// kubectl-style: "42s", "5m", "3h", "12d".
std::string FormatAge(absl::Duration age);
// The time since `timestamp`, as FormatAge.
std::string AgeOf(const google::protobuf::Timestamp& timestamp, absl::Time now);

// YAML documents, "---" between them.
void PrintYaml(const std::vector<YAML::Node>& documents, std::ostream& out);
void PrintYamlDocument(const YAML::Node& document, std::ostream& out);
// One document as a JSON object, or several as an array; indented.
void PrintJson(const std::vector<YAML::Node>& documents, bool as_list, std::ostream& out);
// One document on one line, for streams (watch -o json).
void PrintJsonLine(const YAML::Node& document, std::ostream& out);

}  // namespace protomesh::ctl
