#pragma once
// Opaque paging cursors for List and History. A token pins the revision of
// the first page and is bound to the query it came from, so that it cannot
// be replayed against a different namespace or filter.
#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"

namespace protomesh::store {

struct PageCursor {
  int64_t revision = 0;
  std::string after;  // last id (List) or revision (History) of the previous page
};

// `query` identifies the request's namespace and filters.
std::string EncodePageToken(const PageCursor& cursor, absl::string_view query);
absl::StatusOr<PageCursor> DecodePageToken(absl::string_view token, absl::string_view query);

}  // namespace protomesh::store
