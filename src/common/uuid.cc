#include "src/common/uuid.h"

#include <openssl/rand.h>
#include <openssl/sha.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "src/common/string_view_compat.h"

namespace protomesh::uuid {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsDashPosition(size_t i) { return i == 8 || i == 13 || i == 18 || i == 23; }

}  // namespace

absl::StatusOr<Uuid> Parse(std::string_view text) {
  Uuid uuid{};
  bool valid = text.size() == 36;
  size_t byte = 0;
  for (size_t i = 0; valid && i < text.size(); ++i) {
    if (IsDashPosition(i)) {
      valid = text[i] == '-';
      continue;
    }
    int high = HexValue(text[i]);
    int low = i + 1 < text.size() ? HexValue(text[i + 1]) : -1;
    valid = high >= 0 && low >= 0 && !IsDashPosition(i + 1);
    if (valid) uuid[byte++] = static_cast<uint8_t>(high << 4 | low);
    ++i;
  }
  if (!valid || byte != uuid.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", internal::ToAbsl(text),
        "\" is not a UUID (8-4-4-4-12 hex digits, like 123e4567-e89b-12d3-a456-426614174000)"));
  }
  return uuid;
}

std::string Format(const Uuid& uuid) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text;
  text.reserve(36);
  for (size_t i = 0; i < uuid.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) text.push_back('-');
    text.push_back(kDigits[uuid[i] >> 4]);
    text.push_back(kDigits[uuid[i] & 0xf]);
  }
  return text;
}

Uuid V5(const Uuid& name_space, std::string_view name) {
  std::string input(name_space.begin(), name_space.end());
  input.append(name);
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);

  Uuid uuid;
  for (size_t i = 0; i < uuid.size(); ++i) uuid[i] = digest[i];
  uuid[6] = static_cast<uint8_t>((uuid[6] & 0x0f) | 0x50);  // version 5
  uuid[8] = static_cast<uint8_t>((uuid[8] & 0x3f) | 0x80);  // variant RFC 4122
  return uuid;
}

Uuid Random() {
  Uuid uuid;
  if (RAND_bytes(uuid.data(), static_cast<int>(uuid.size())) != 1) {
    // Only when the kernel's generator is unusable; nothing sensible follows.
    std::abort();
  }
  uuid[6] = static_cast<uint8_t>((uuid[6] & 0x0f) | 0x40);  // version 4
  uuid[8] = static_cast<uint8_t>((uuid[8] & 0x3f) | 0x80);  // variant RFC 4122
  return uuid;
}

}  // namespace protomesh::uuid
