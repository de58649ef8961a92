#include "src/store/pg_array.h"

#include "absl/strings/str_cat.h"

namespace protomesh::store {

void PgArrayLiteral::Separator() {
  if (count_++ > 0) text_ += ',';
}

void PgArrayLiteral::AddText(absl::string_view text) {
  Separator();
  text_.reserve(text_.size() + text.size() + 2);
  text_ += '"';
  for (char c : text) {
    if (c == '"' || c == '\\') text_ += '\\';
    text_ += c;
  }
  text_ += '"';
}

void PgArrayLiteral::AddBytea(absl::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  Separator();
  // "\\x" in the literal is the element \x, bytea's hex input format.
  text_.reserve(text_.size() + 2 * bytes.size() + 5);
  text_ += "\"\\\\x";
  for (unsigned char c : bytes) {
    text_ += kHex[c >> 4];
    text_ += kHex[c & 0xf];
  }
  text_ += '"';
}

void PgArrayLiteral::AddInt(int64_t value) {
  Separator();
  absl::StrAppend(&text_, value);
}

void PgArrayLiteral::AddNull() {
  Separator();
  text_ += "NULL";
}

void PgArrayLiteral::AddBool(bool value) {
  Separator();
  text_ += value ? 't' : 'f';
}

}  // namespace protomesh::store
