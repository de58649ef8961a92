#include "tests/xds/support/routing_client.h"

#include "absl/strings/str_cat.h"

namespace protomesh::testing {

int CallTally::Count(const std::string& backend) const {
  auto it = backends.find(backend);
  return it == backends.end() ? 0 : it->second;
}

int CallTally::Calls() const {
  int calls = failures;
  for (const auto& [backend, count] : backends) calls += count;
  return calls;
}

std::string CallTally::DebugString() const {
  std::string out;
  for (const auto& [backend, count] : backends) absl::StrAppend(&out, backend, "=", count, " ");
  absl::StrAppend(&out, "failures=", failures);
  if (!last_error.empty()) absl::StrAppend(&out, " (last error: ", last_error, ")");
  return out;
}

}  // namespace protomesh::testing
