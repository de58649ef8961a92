#include "src/common/config_value.h"

#include <limits>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace protomesh::config::internal {
namespace {

enum Kind { kString, kBool, kInt, kInt64, kDouble, kDuration };

absl::string_view Expected(size_t kind) {
  switch (kind) {
    case kBool:
      return "expected true or false";
    case kInt:
    case kInt64:
      return "expected an integer";
    case kDouble:
      return "expected a number";
    case kDuration:
      return "expected a duration such as 250ms, 30s or 1h30m";
    default:
      return "expected a string";
  }
}

absl::Status InvalidValue(const Target& target, absl::string_view name,
                          absl::string_view shown, const ValueSource& source) {
  return absl::InvalidArgumentError(absl::StrCat(
      "invalid value \"", shown, "\" for --", name, " (from ",
      source.description, "): ", Expected(target.index())));
}

}  // namespace

absl::StatusOr<Value> ParseText(const Target& target, absl::string_view name,
                                absl::string_view text,
                                const ValueSource& source) {
  switch (target.index()) {
    case kString:
      return Value(std::string(text));
    case kBool:
      if (bool b; absl::SimpleAtob(text, &b)) return Value(b);
      break;
    case kInt:
      if (int i; absl::SimpleAtoi(text, &i)) return Value(i);
      break;
    case kInt64:
      if (int64_t i; absl::SimpleAtoi(text, &i)) return Value(i);
      break;
    case kDouble:
      if (double d; absl::SimpleAtod(text, &d)) return Value(d);
      break;
    case kDuration:
      if (absl::Duration d; absl::ParseDuration(text, &d)) return Value(d);
      break;
  }
  return InvalidValue(target, name, text, source);
}

absl::StatusOr<Value> ConvertFileValue(const Target& target,
                                       absl::string_view name,
                                       const FileValue& value,
                                       const ValueSource& source) {
  if (const auto* scalar = std::get_if<UntypedScalar>(&value)) {
    return ParseText(target, name, scalar->text, source);
  }
  const size_t kind = target.index();
  if (const auto* text = std::get_if<std::string>(&value)) {
    // A quoted TOML string is fine for any type if its text parses.
    return ParseText(target, name, *text, source);
  }
  if (const auto* b = std::get_if<bool>(&value); b && kind == kBool) {
    return Value(*b);
  }
  if (const auto* i = std::get_if<int64_t>(&value)) {
    if (kind == kInt64) return Value(*i);
    if (kind == kDouble) return Value(static_cast<double>(*i));
    if (kind == kInt && *i >= std::numeric_limits<int>::min() &&
        *i <= std::numeric_limits<int>::max()) {
      return Value(static_cast<int>(*i));
    }
  }
  if (const auto* d = std::get_if<double>(&value); d && kind == kDouble) {
    return Value(*d);
  }
  return InvalidValue(target, name, DisplayFileValue(value), source);
}

Value CurrentValue(const Target& target) {
  return std::visit([](auto* variable) { return Value(*variable); }, target);
}

void Assign(const Target& target, const Value& value) {
  std::visit(
      [&value](auto* variable) {
        *variable = std::get<std::remove_pointer_t<decltype(variable)>>(value);
      },
      target);
}

std::string FormatValue(const Value& value) {
  struct Visitor {
    std::string operator()(const std::string& v) const {
      return v.empty() ? "\"\"" : v;
    }
    std::string operator()(bool v) const { return v ? "true" : "false"; }
    std::string operator()(int v) const { return absl::StrCat(v); }
    std::string operator()(int64_t v) const { return absl::StrCat(v); }
    std::string operator()(double v) const { return absl::StrCat(v); }
    std::string operator()(absl::Duration v) const {
      return absl::FormatDuration(v);
    }
  };
  return std::visit(Visitor{}, value);
}

}  // namespace protomesh::config::internal
