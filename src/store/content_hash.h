#pragma once
#include <string>

#include "api/types/v1/resource.pb.h"

namespace protomesh::store {

// Version.sha256_hash: base64url without padding of the SHA-256 of the
// serialized Resource{namespace, id, name, spec}, as the Go implementation
// computes it, so equal content always hashes equal.
std::string ContentHash(const protomesh::types::v1::Resource& resource);

}  // namespace protomesh::store
