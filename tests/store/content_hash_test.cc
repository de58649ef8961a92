#include "src/store/content_hash.h"

#include <gtest/gtest.h>
#include <openssl/sha.h>

#include "absl/strings/escaping.h"

namespace protomesh::store {
namespace {

// The wire bytes of Resource{namespace, id, name, spec}, written out by hand,
// so the hash is checked against the format rather than against itself.
std::string HandEncoded() {
  std::string any = std::string("\x0a\x03t/X", 5) + std::string("\x12\x02hi", 4);
  std::string bytes;
  bytes += std::string("\x0a\x02ns", 4);
  bytes += std::string("\x12\x24", 2) + "123e4567-e89b-12d3-a456-426614174000";
  bytes += std::string("\x1a\x01n", 3);
  bytes += std::string("\x22", 1) + static_cast<char>(any.size()) + any;
  return bytes;
}

TEST(ContentHash, IsBase64UrlSha256OfTheSerializedContent) {
  protomesh::types::v1::Resource resource;
  resource.set_namespace_("ns");
  resource.set_id("123e4567-e89b-12d3-a456-426614174000");
  resource.set_name("n");
  resource.mutable_spec()->set_type_url("t/X");
  resource.mutable_spec()->set_value("hi");
  resource.mutable_version()->set_index(42);  // not part of the content

  std::string bytes = HandEncoded();
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
  std::string expected;
  absl::WebSafeBase64Escape(absl::string_view(reinterpret_cast<char*>(digest), sizeof(digest)),
                            &expected);
  EXPECT_EQ(ContentHash(resource), expected);
  EXPECT_EQ(expected.find('='), std::string::npos);
  EXPECT_EQ(expected.size(), 43u);

  resource.set_name("m");
  EXPECT_NE(ContentHash(resource), expected);
}

}  // namespace
}  // namespace protomesh::store
