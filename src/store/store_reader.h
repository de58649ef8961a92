#pragma once
// Reads of the store, each at one consistent revision (a REPEATABLE READ
// transaction on the given connection). Errors come back as statuses:
// OUT_OF_RANGE for revisions the change log no longer (or not yet) holds,
// NOT_FOUND, UNAVAILABLE when the database is gone.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "absl/status/statusor.h"
#include "api/types/v1/resource.pb.h"

namespace protomesh::store {

struct ChangeRecord {
  int64_t revision = 0;
  bool dropped = false;
  // As of the change; for a drop, the last state before it. version.index
  // is the change's revision.
  protomesh::types::v1::Resource resource;
};

struct ListQuery {
  std::string namespace_;
  int64_t revision = 0;    // 0: latest
  std::string after_id;    // paging cursor; empty: from the start
  size_t limit = 0;        // 0: no limit
  std::vector<std::string> type_urls;  // empty: every type
  std::string name_prefix;
};

struct ListPage {
  int64_t revision = 0;  // what the page was read at
  std::vector<protomesh::types::v1::Resource> resources;
  bool more = false;     // resources beyond `limit` exist
};

struct ChangesRead {
  int64_t head_revision = 0;  // latest committed revision at the read
  std::vector<ChangeRecord> changes;
};

absl::StatusOr<int64_t> ReadHeadRevision(pqxx::connection_base& connection);

// revision 0: latest. NOT_FOUND when absent (or dropped) at that revision.
absl::StatusOr<protomesh::types::v1::Resource> ReadResource(pqxx::connection_base& connection,
                                                            const std::string& ns,
                                                            const std::string& id,
                                                            int64_t revision);

absl::StatusOr<ListPage> ReadList(pqxx::connection_base& connection, const ListQuery& query);

// Changes of one resource, newest first, with revision < before (0: all).
absl::StatusOr<std::vector<ChangeRecord>> ReadHistory(pqxx::connection_base& connection,
                                                      const std::string& ns,
                                                      const std::string& id,
                                                      int64_t before, size_t limit);

// Changes with after < revision <= min(upto, head), of namespace `ns` (all
// namespaces when nullopt), in revision order. OUT_OF_RANGE when changes
// after `after` have been compacted, or `after` is beyond the head.
absl::StatusOr<ChangesRead> ReadChanges(pqxx::connection_base& connection,
                                        const std::optional<std::string>& ns, int64_t after,
                                        int64_t upto);

// A Postgres text[] literal for a list of strings.
std::string PgTextArray(const std::vector<std::string>& values);

}  // namespace protomesh::store
