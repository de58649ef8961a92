#include "src/store/pg_array.h"

#include "src/common/uuid.h"

namespace protomesh::store {
namespace {

// Integers go big-endian (network order), as PostgreSQL's binary format wants.
void AppendInt32(std::string& out, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(value >> shift));
}

void AppendInt64(std::string& out, uint64_t value) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(value >> shift));
}

}  // namespace

void PgBinaryArray::AddRaw(absl::string_view data) {
  AppendInt32(elements_, static_cast<uint32_t>(data.size()));
  elements_.append(data.data(), data.size());
  ++count_;
}

void PgBinaryArray::AddUuid(absl::string_view text) {
  auto uuid = uuid::Parse(std::string_view(text.data(), text.size()));
  if (!uuid.ok()) {
    AddNull();
    return;
  }
  AddRaw(absl::string_view(reinterpret_cast<const char*>(uuid->data()), uuid->size()));
}

void PgBinaryArray::AddInt4(int32_t value) {
  AppendInt32(elements_, 4);
  AppendInt32(elements_, static_cast<uint32_t>(value));
  ++count_;
}

void PgBinaryArray::AddInt8(int64_t value) {
  AppendInt32(elements_, 8);
  AppendInt64(elements_, static_cast<uint64_t>(value));
  ++count_;
}

void PgBinaryArray::AddBool(bool value) {
  AppendInt32(elements_, 1);
  elements_.push_back(value ? 1 : 0);
  ++count_;
}

void PgBinaryArray::AddNull() {
  AppendInt32(elements_, static_cast<uint32_t>(-1));
  has_null_ = true;
  ++count_;
}

std::string PgBinaryArray::Finish() const {
  std::string out;
  out.reserve(20 + elements_.size());
  AppendInt32(out, count_ == 0 ? 0 : 1);  // dimensions
  AppendInt32(out, has_null_ ? 1 : 0);
  AppendInt32(out, static_cast<uint32_t>(type_));
  if (count_ > 0) {
    AppendInt32(out, static_cast<uint32_t>(count_));  // length of the dimension
    AppendInt32(out, 1);                               // its lower bound
  }
  out += elements_;
  return out;
}

}  // namespace protomesh::store
