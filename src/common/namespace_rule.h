#pragma once
// What a namespace may be: the store enforces it, protomeshctl checks files
// against it before sending them. Each words its own message around it.
#include <cstddef>

#include "absl/strings/string_view.h"

namespace protomesh {

inline constexpr size_t kMaxNamespaceLength = 63;

// A DNS label: 1-63 lowercase letters, digits or '-', starting and ending
// with a letter or digit.
bool IsValidNamespace(absl::string_view ns);

}  // namespace protomesh
