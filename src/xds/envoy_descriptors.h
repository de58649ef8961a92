#pragma once
// Descriptors of the Envoy API closure the xDS server uses (see
// envoy_api/CMakeLists.txt), for types handled dynamically: filter configs
// built from JSON (jwt_authn cannot be compiled as C++20), and raw Envoy
// resources that users apply from YAML.
#include <string>

#include "absl/status/statusor.h"
#include "google/protobuf/any.pb.h"
#include "google/protobuf/descriptor.h"

namespace protomesh::xds {

// A pool holding every file of the closure, built once.
const google::protobuf::DescriptorPool& EnvoyDescriptorPool();

// Parses `json` (protobuf JSON mapping) as the message `full_name` of the
// pool and packs it into an Any. INVALID_ARGUMENT naming the type and the
// parser's complaint when it does not fit.
absl::StatusOr<google::protobuf::Any> AnyFromJson(const std::string& full_name,
                                                  const std::string& json);

}  // namespace protomesh::xds
