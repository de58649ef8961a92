#include "src/common/prometheus_text.h"

#include <charconv>
#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace protomesh::metrics::internal {
namespace {

std::string Escape(absl::string_view text, bool quote) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (quote && c == '"') {
      out += "\\\"";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

bool IsValidName(absl::string_view name, bool allow_colon) {
  if (name.empty() || absl::ascii_isdigit(name[0])) return false;
  for (const char c : name) {
    if (!absl::ascii_isalnum(c) && c != '_' && !(allow_colon && c == ':')) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string FormatNumber(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  // Plain notation for ordinary magnitudes (so a bucket reads le="0.0001",
  // not le="1e-04"), exponents only for very large or small values.
  const double magnitude = std::fabs(value);
  const bool plain = magnitude == 0 || (magnitude >= 1e-4 && magnitude < 1e21);
  char buffer[64];
  const auto result =
      std::to_chars(buffer, buffer + sizeof(buffer), value,
                    plain ? std::chars_format::fixed
                          : std::chars_format::scientific);
  return std::string(buffer, result.ptr);
}

std::string EscapeHelp(absl::string_view help) { return Escape(help, false); }

std::string EscapeLabelValue(absl::string_view value) {
  return Escape(value, true);
}

std::string FormatLabels(
    const std::vector<std::string>& names,
    const std::vector<std::string>& values,
    const std::vector<std::pair<std::string, std::string>>& extra) {
  if (names.empty() && extra.empty()) return "";
  std::string out = "{";
  const auto append = [&out](absl::string_view name, absl::string_view value) {
    if (out.size() > 1) out.push_back(',');
    absl::StrAppend(&out, name, "=\"", EscapeLabelValue(value), "\"");
  };
  for (size_t i = 0; i < names.size() && i < values.size(); ++i) {
    append(names[i], values[i]);
  }
  for (const auto& [name, value] : extra) append(name, value);
  out.push_back('}');
  return out;
}

bool IsValidMetricName(absl::string_view name) {
  return IsValidName(name, /*allow_colon=*/true);
}

bool IsValidLabelName(absl::string_view name) {
  return IsValidName(name, /*allow_colon=*/false) && name.substr(0, 2) != "__";
}

}  // namespace protomesh::metrics::internal
