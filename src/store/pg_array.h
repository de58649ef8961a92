#pragma once
// Builds PostgreSQL arrays in the binary format (what array_recv reads), to
// pass a whole batch as one parameter per column, for statements that
// unnest() them. Nothing is escaped or hex-encoded, and the server parses
// nothing: in text form, parsing the arrays (array_in, bytea from hex) was
// a sixth of the write batch's server time.
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace protomesh::store {

class PgBinaryArray {
 public:
  // Element types, by their (fixed) PostgreSQL type OIDs.
  enum class Type : uint32_t { kBool = 16, kBytea = 17, kInt8 = 20, kInt4 = 23, kText = 25, kUuid = 2950 };

  explicit PgBinaryArray(Type type) : type_(type) {}

  // Each must match the array's type. Text must be valid UTF-8, a UUID
  // in the 8-4-4-4-12 form (anything else goes as NULL).
  void AddText(absl::string_view text) { AddRaw(text); }  // kText
  void AddBytes(absl::string_view bytes) { AddRaw(bytes); }  // kBytea
  void AddUuid(absl::string_view uuid);  // kUuid
  void AddInt4(int32_t value);  // kInt4
  void AddInt8(int64_t value);  // kInt8
  void AddBool(bool value);  // kBool
  void AddNull();

  size_t size() const { return count_; }
  // The array in binary format: one dimension (none when empty).
  std::string Finish() const;

 private:
  void AddRaw(absl::string_view data);

  Type type_;
  std::string elements_;  // each: int32 length (-1 for NULL), then its bytes
  size_t count_ = 0;
  bool has_null_ = false;
};

}  // namespace protomesh::store
