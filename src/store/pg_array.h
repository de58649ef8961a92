#pragma once
// Builds PostgreSQL array literals ('{"a","b"}') to pass a whole batch as
// one parameter per column, for statements that unnest() them. Elements are
// always quoted, so any text is safe; bytea goes in hex ("\\x4142").
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace protomesh::store {

class PgArrayLiteral {
 public:
  void AddText(absl::string_view text);
  void AddBytea(absl::string_view bytes);
  void AddInt(int64_t value);
  void AddBool(bool value);
  void AddNull();
  bool empty() const { return count_ == 0; }
  size_t size() const { return count_; }
  // The literal, e.g. {"a","b"}; {} when empty.
  std::string Finish() const { return text_ + "}"; }

 private:
  void Separator();
  std::string text_ = "{";
  size_t count_ = 0;
};

}  // namespace protomesh::store
