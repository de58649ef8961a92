#include "src/store/content_hash.h"

#include <openssl/sha.h>

#include "absl/strings/escaping.h"
#include "src/common/proto_bytes.h"

namespace protomesh::store {

std::string ContentHash(const protomesh::types::v1::Resource& resource) {
  protomesh::types::v1::Resource content;
  content.set_namespace_(resource.namespace_());
  content.set_id(resource.id());
  content.set_name(resource.name());
  if (resource.has_spec()) *content.mutable_spec() = resource.spec();

  std::string bytes = SerializeDeterministic(content);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
  std::string encoded;
  absl::WebSafeBase64Escape(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)), &encoded);
  return encoded;
}

}  // namespace protomesh::store
