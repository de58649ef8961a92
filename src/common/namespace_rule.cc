#include "src/common/namespace_rule.h"

namespace protomesh {
namespace {

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

}  // namespace

bool IsValidNamespace(absl::string_view ns) {
  if (ns.empty() || ns.size() > kMaxNamespaceLength) return false;
  if (!IsLowerAlnum(ns.front()) || !IsLowerAlnum(ns.back())) return false;
  for (char c : ns) {
    if (!IsLowerAlnum(c) && c != '-') return false;
  }
  return true;
}

}  // namespace protomesh
