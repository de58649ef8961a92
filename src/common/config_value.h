#pragma once
// Typed setting values for config::Flags: parsing text and config-file
// values into the type a setting is bound to. Internal to src/common.
#include <cstdint>
#include <string>
#include <variant>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "src/common/config_file.h"

namespace protomesh::config::internal {

// The variable a setting is bound to; Value holds the same alternative, in
// the same order, so target.index() == value.index().
using Target = std::variant<std::string*, bool*, int*, int64_t*, double*,
                            absl::Duration*>;
using Value = std::variant<std::string, bool, int, int64_t, double,
                           absl::Duration>;

// Where a value came from, for error messages: "flag", "env NAME" or
// "file PATH".
struct ValueSource {
  std::string description;
};

// Parses `text` as the type of `target`. Errors read like:
//   invalid value "abc" for --pool-size (from env POOL_SIZE): expected an
//   integer
absl::StatusOr<Value> ParseText(const Target& target, absl::string_view name,
                                absl::string_view text,
                                const ValueSource& source);

// Converts a config-file value, accepting a typed TOML value of the right
// kind or text that parses as it.
absl::StatusOr<Value> ConvertFileValue(const Target& target,
                                       absl::string_view name,
                                       const FileValue& value,
                                       const ValueSource& source);

Value CurrentValue(const Target& target);
void Assign(const Target& target, const Value& value);
std::string FormatValue(const Value& value);

}  // namespace protomesh::config::internal
