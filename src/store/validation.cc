#include "src/store/validation.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "src/common/namespace_rule.h"

namespace protomesh::store {
namespace {

// Quotes a user value for an error message, cut to a readable length.
std::string Quoted(absl::string_view value) {
  constexpr size_t kMax = 80;
  if (value.size() > kMax) return absl::StrCat("\"", value.substr(0, kMax), "...\"");
  return absl::StrCat("\"", value, "\"");
}

}  // namespace

absl::Status ValidateNamespace(absl::string_view ns, absl::string_view field) {
  if (ns.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": must not be empty"));
  }
  if (!IsValidNamespace(ns)) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": must be a DNS label (at most ", kMaxNamespaceLength,
        " lowercase letters, digits or '-', starting and ending with a letter or "
        "digit); got ",
        Quoted(ns)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> NormalizeId(absl::string_view id, absl::string_view field) {
  if (id.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": must not be empty; resource ids are UUIDs"));
  }
  bool valid = id.size() == 36;
  for (size_t i = 0; valid && i < id.size(); ++i) {
    bool dash_position = i == 8 || i == 13 || i == 18 || i == 23;
    valid = dash_position ? id[i] == '-' : absl::ascii_isxdigit(id[i]);
  }
  if (!valid) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": must be a UUID like 123e4567-e89b-12d3-a456-426614174000; got ", Quoted(id)));
  }
  return absl::AsciiStrToLower(id);
}

absl::Status ValidateResourceForWrite(protomesh::types::v1::Resource& resource,
                                      const Limits& limits, absl::string_view field) {
  if (auto s = ValidateNamespace(resource.namespace_(), absl::StrCat(field, ".namespace")); !s.ok()) {
    return s;
  }
  auto id = NormalizeId(resource.id(), absl::StrCat(field, ".id"));
  if (!id.ok()) return id.status();
  resource.set_id(*id);

  const std::string& name = resource.name();
  if (name.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ".name: must not be empty"));
  }
  if (name.size() > limits.max_name_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(field, ".name: must be at most ",
                                                   limits.max_name_bytes, " bytes; got ",
                                                   name.size()));
  }
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".name: must not contain control characters; got ", Quoted(name)));
    }
  }

  if (!resource.has_spec()) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ".spec: must be set (a google.protobuf.Any with a type URL such as "
               "type.googleapis.com/protomesh.types.v1.NetworkingNode)"));
  }
  const std::string& type_url = resource.spec().type_url();
  size_t slash = type_url.rfind('/');
  if (type_url.empty() || slash == std::string::npos || slash + 1 == type_url.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ".spec.type_url: must name the spec's message type, as in "
               "type.googleapis.com/protomesh.types.v1.NetworkingNode; got ",
        Quoted(type_url)));
  }
  if (type_url.size() > limits.max_type_url_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(field, ".spec.type_url: must be at most ",
                                                   limits.max_type_url_bytes, " bytes"));
  }
  if (resource.spec().value().size() > limits.max_spec_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ".spec: ", resource.spec().value().size(), " bytes is over the limit of ",
        limits.max_spec_bytes, " bytes (setting max-spec-bytes)"));
  }
  return absl::OkStatus();
}

}  // namespace protomesh::store
