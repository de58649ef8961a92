#pragma once
// UUIDs (RFC 4122): parsing, formatting, and name-based version 5 UUIDs
// (SHA-1, RFC 4122 section 4.3), and random version 4 UUIDs. Name-based ids
// are deterministic: the same namespace UUID and name always give the same
// UUID.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace protomesh::uuid {

using Uuid = std::array<uint8_t, 16>;

// The namespace for fully-qualified domain names (RFC 4122, appendix C):
// 6ba7b810-9dad-11d1-80b4-00c04fd430c8.
inline constexpr Uuid kDnsNamespace = {0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1,
                                       0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8};

// Protomesh's namespace for name-based ids: e41e1c9a-f32b-5aea-b34b-4052b4769ec9,
// which is V5(kDnsNamespace, "protomesh.io"). It must never change: ids
// derived from it are stored in resources.
inline constexpr Uuid kProtomeshNamespace = {0xe4, 0x1e, 0x1c, 0x9a, 0xf3, 0x2b, 0x5a, 0xea,
                                             0xb3, 0x4b, 0x40, 0x52, 0xb4, 0x76, 0x9e, 0xc9};

// Parses the 8-4-4-4-12 hex form, either case.
absl::StatusOr<Uuid> Parse(std::string_view text);

// The lowercase 8-4-4-4-12 form.
std::string Format(const Uuid& uuid);

// The version 5 UUID of `name` (its bytes, as given) in `name_space`.
Uuid V5(const Uuid& name_space, std::string_view name);

// A new version 4 (random) UUID, from the system's cryptographic generator.
Uuid Random();

}  // namespace protomesh::uuid
