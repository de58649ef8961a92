#pragma once
// Request validation. Every rule failure is INVALID_ARGUMENT with a message
// that names the field and the rule; validation runs before anything is
// written.
#include <cstddef>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "api/types/v1/resource.pb.h"

namespace protomesh::store {

struct Limits {
  size_t max_spec_bytes = 1 << 20;
  size_t max_name_bytes = 253;
  size_t max_type_url_bytes = 512;
};

// A namespace is a DNS label: 1-63 lowercase letters, digits or '-',
// starting and ending with a letter or digit.
absl::Status ValidateNamespace(absl::string_view ns, absl::string_view field);

// Resource ids are UUIDs in the 8-4-4-4-12 hex form, either case; returns
// the lowercase form the store keeps.
absl::StatusOr<std::string> NormalizeId(absl::string_view id, absl::string_view field);

// Checks namespace, id, name and spec of a resource to be written, and
// lowercases its id. `field` prefixes messages ("resource",
// "operations[2].put.resource").
absl::Status ValidateResourceForWrite(protomesh::types::v1::Resource& resource,
                                      const Limits& limits, absl::string_view field);

}  // namespace protomesh::store
