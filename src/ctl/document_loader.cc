#include "src/ctl/document_loader.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <system_error>

#include "absl/strings/str_cat.h"

namespace protomesh::ctl {
namespace {

namespace fs = std::filesystem;

bool IsDocumentStart(const std::string& line) {
  return line.rfind("---", 0) == 0 && (line.size() == 3 || line[3] == ' ' || line[3] == '\t');
}

bool IsContent(const std::string& line) {
  size_t first = line.find_first_not_of(" \t\r");
  if (first == std::string::npos) return false;
  return line[first] != '#' && line[first] != '%' && line.rfind("...", 0) != 0;
}

// Which YAML document of `text` holds 0-based `line`: yaml-cpp's error marks
// carry only lines, so count the "---" that start documents.
int DocumentOfLine(const std::string& text, int line) {
  std::istringstream lines(text);
  std::string current;
  int document = 0;
  bool open = false;  // a document is open (implicitly or after "---")
  for (int i = 0; i <= line && std::getline(lines, current); ++i) {
    if (IsDocumentStart(current)) {
      ++document;
      open = true;
    } else if (!open && IsContent(current)) {
      ++document;
      open = true;
    }
  }
  return std::max(document, 1);
}

bool HasDocumentExtension(const fs::path& path) {
  std::string extension = path.extension().string();
  return extension == ".yaml" || extension == ".yml" || extension == ".json";
}

absl::Status ReadFile(const std::string& path, std::string& text) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return absl::InvalidArgumentError(absl::StrCat(path, ": cannot open it"));
  text.assign(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
  if (file.bad()) return absl::InvalidArgumentError(absl::StrCat(path, ": cannot read it"));
  return absl::OkStatus();
}

absl::Status AddDirectory(const fs::path& dir, bool recursive, std::vector<std::string>& files) {
  std::error_code error;
  std::vector<fs::path> entries;
  for (fs::directory_iterator it(dir, error), end; !error && it != end; it.increment(error)) {
    entries.push_back(it->path());
  }
  if (error) {
    return absl::InvalidArgumentError(absl::StrCat(dir.string(), ": ", error.message()));
  }
  std::sort(entries.begin(), entries.end());
  for (const fs::path& entry : entries) {
    if (fs::is_directory(entry, error)) {
      if (recursive) {
        if (auto status = AddDirectory(entry, recursive, files); !status.ok()) return status;
      }
    } else if (HasDocumentExtension(entry)) {
      files.push_back(entry.string());
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::string DocumentName(const SourceDocument& document) {
  std::string name = absl::StrCat(document.source, ": document ", document.index);
  if (document.item > 0) absl::StrAppend(&name, ", item ", document.item);
  return name;
}

absl::StatusOr<std::vector<SourceDocument>> ParseDocuments(const std::string& source,
                                                           const std::string& text) {
  std::vector<YAML::Node> nodes;
  try {
    nodes = YAML::LoadAll(text);
  } catch (const YAML::ParserException& e) {
    return absl::InvalidArgumentError(absl::StrCat(
        source, ": document ", DocumentOfLine(text, e.mark.line), " (line ", e.mark.line + 1,
        ", column ", e.mark.column + 1, "): malformed YAML: ", e.msg));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": malformed YAML: ", e.what()));
  }
  std::vector<SourceDocument> documents;
  auto add = [&](const YAML::Node& node, int index, int item) {
    if (!node.IsDefined() || node.IsNull()) return;
    documents.push_back({source, index, item, node});
  };
  for (size_t i = 0; i < nodes.size(); ++i) {
    int index = static_cast<int>(i) + 1;
    if (nodes[i].IsSequence()) {
      int item = 0;
      for (const YAML::Node& element : nodes[i]) add(element, index, ++item);
    } else {
      add(nodes[i], index, 0);
    }
  }
  return documents;
}

absl::StatusOr<std::vector<SourceDocument>> LoadDocuments(const std::vector<std::string>& paths,
                                                          bool recursive, std::istream& in) {
  std::vector<SourceDocument> documents;
  auto append = [&](absl::StatusOr<std::vector<SourceDocument>> more) -> absl::Status {
    if (!more.ok()) return more.status();
    for (auto& document : *more) documents.push_back(std::move(document));
    return absl::OkStatus();
  };
  for (const std::string& path : paths) {
    if (path == "-") {
      std::string text(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>{});
      if (auto status = append(ParseDocuments("<stdin>", text)); !status.ok()) return status;
      continue;
    }
    std::error_code error;
    fs::file_status status = fs::status(path, error);
    if (error || !fs::exists(status)) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": no such file or directory"));
    }
    std::vector<std::string> files;
    if (fs::is_directory(status)) {
      if (auto added = AddDirectory(path, recursive, files); !added.ok()) return added;
    } else {
      files.push_back(path);
    }
    for (const std::string& file : files) {
      std::string text;
      if (auto read = ReadFile(file, text); !read.ok()) return read;
      if (auto parsed = append(ParseDocuments(file, text)); !parsed.ok()) return parsed;
    }
  }
  return documents;
}

}  // namespace protomesh::ctl
