#pragma once
// Lets fmt/spdlog format absl::string_view (status messages): Debian's
// abseil keeps it a type of its own rather than std::string_view.
#include <fmt/format.h>

#include "absl/strings/string_view.h"

template <>
struct fmt::formatter<absl::string_view> : fmt::formatter<fmt::string_view> {
  template <typename FormatContext>
  auto format(absl::string_view value, FormatContext& context) const {
    return fmt::formatter<fmt::string_view>::format(fmt::string_view(value.data(), value.size()),
                                                    context);
  }
};
