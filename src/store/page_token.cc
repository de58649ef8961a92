#include "src/store/page_token.h"

#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "src/store/content_hash.h"

namespace protomesh::store {
namespace {

std::string Fingerprint(absl::string_view query) {
  protomesh::types::v1::Resource carrier;  // reuse the store's SHA-256 helper
  carrier.set_name(std::string(query));
  return ContentHash(carrier).substr(0, 12);
}

absl::Status InvalidToken() {
  return absl::InvalidArgumentError(
      "page_token: not a token from a previous response to this same request; start without "
      "a page_token");
}

}  // namespace

std::string EncodePageToken(const PageCursor& cursor, absl::string_view query) {
  std::string token;
  absl::WebSafeBase64Escape(absl::StrCat("1|", cursor.revision, "|", cursor.after, "|",
                                         Fingerprint(query)),
                            &token);
  return token;
}

absl::StatusOr<PageCursor> DecodePageToken(absl::string_view token, absl::string_view query) {
  std::string raw;
  if (!absl::WebSafeBase64Unescape(token, &raw)) return InvalidToken();
  std::vector<std::string> parts = absl::StrSplit(raw, '|');
  PageCursor cursor;
  if (parts.size() != 4 || parts[0] != "1" || !absl::SimpleAtoi(parts[1], &cursor.revision) ||
      parts[3] != Fingerprint(query)) {
    return InvalidToken();
  }
  cursor.after = parts[2];
  return cursor;
}

}  // namespace protomesh::store
