#pragma once
// Debian's abseil is built with ABSL_OPTION_USE_STD_STRING_VIEW=0, so
// absl::string_view is its own type and std::string_view does not convert
// to it implicitly. Internal to src/common.
#include <string_view>

#include "absl/strings/string_view.h"

namespace protomesh::internal {

inline absl::string_view ToAbsl(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

}  // namespace protomesh::internal
