#pragma once
// Reads documents from files, directories and stdin. A file holds YAML or
// JSON (JSON is read as the YAML it is, so both keep line numbers), with
// any number of documents separated by "---"; a document that is a list
// (such as `get -o json` of several resources) gives one per element.
// Empty documents are skipped, but still counted in the numbering.
#include <iosfwd>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "absl/status/statusor.h"

namespace protomesh::ctl {

struct SourceDocument {
  std::string source;  // the path as given, or "<stdin>"
  int index = 0;       // 1-based YAML document of the source
  int item = 0;        // 1-based element when that document is a list, else 0
  YAML::Node node;
};

// "bad.yaml: document 2" or "list.json: document 1, item 3".
std::string DocumentName(const SourceDocument& document);

// `paths`: files, directories (their *.yaml, *.yml and *.json files in name
// order; with `recursive`, their subdirectories' too) and "-" for `in`.
// Missing paths and malformed YAML/JSON are INVALID_ARGUMENT, e.g.
//   "bad.yaml: document 2 (line 7, column 3): malformed YAML: end of map not found".
absl::StatusOr<std::vector<SourceDocument>> LoadDocuments(const std::vector<std::string>& paths,
                                                          bool recursive, std::istream& in);

// The documents of one text named `source`.
absl::StatusOr<std::vector<SourceDocument>> ParseDocuments(const std::string& source,
                                                           const std::string& text);

}  // namespace protomesh::ctl
