#pragma once
// The Envoy API closure's serialized FileDescriptorSet (protoc
// --include_imports: dependencies first), embedded at build time by the
// envoy_api_descriptors target (CMakeLists.txt here). Linking it costs no
// generated Envoy code: tools that handle Envoy types dynamically (the
// translator's filter configs, protomeshctl) build a pool from it.
#include <cstddef>
#include <string_view>

namespace protomesh::xds {

extern const unsigned char kEnvoyApiDescriptorSet[];
extern const size_t kEnvoyApiDescriptorSetSize;

inline std::string_view EnvoyApiDescriptorSet() {
  return {reinterpret_cast<const char*>(kEnvoyApiDescriptorSet), kEnvoyApiDescriptorSetSize};
}

}  // namespace protomesh::xds
