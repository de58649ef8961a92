#pragma once
// Pieces of the Prometheus text exposition format (0.0.4). Internal to
// src/common.
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace protomesh::metrics::internal {

// Shortest round-tripping form, in plain notation between 1e-4 and 1e21;
// "+Inf", "-Inf", "NaN" as Prometheus spells them.
std::string FormatNumber(double value);
// Escapes backslash and newline (HELP text).
std::string EscapeHelp(absl::string_view help);
// Escapes backslash, double quote and newline (label values).
std::string EscapeLabelValue(absl::string_view value);
// `{a="x",b="y"}`, or "" when there are no labels. `extra` (e.g. the
// histogram's le) comes last.
std::string FormatLabels(
    const std::vector<std::string>& names,
    const std::vector<std::string>& values,
    const std::vector<std::pair<std::string, std::string>>& extra = {});

bool IsValidMetricName(absl::string_view name);
bool IsValidLabelName(absl::string_view name);

}  // namespace protomesh::metrics::internal
