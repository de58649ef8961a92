#pragma once
// A problem found in an input document, at a line of its file.
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace protomesh::ctl {

struct Problem {
  int line = 0;  // 1-based; 0 when unknown
  std::string message;
};
using Problems = std::vector<Problem>;

inline int LineOf(const YAML::Node& node) {
  return node.IsDefined() ? node.Mark().line + 1 : 0;
}

}  // namespace protomesh::ctl
