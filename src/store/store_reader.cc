#include "src/store/store_reader.h"

#include <limits>

#include "absl/strings/str_cat.h"
#include "src/store/pg_errors.h"
#include "src/store/sql.h"

namespace protomesh::store {
namespace {

using protomesh::types::v1::Resource;
using ReadTransaction = pqxx::transaction<pqxx::repeatable_read, pqxx::read_only>;

Resource ResourceFromRow(const pqxx::row& row) {
  Resource resource;
  resource.set_namespace_(row["namespace"].c_str());
  resource.set_id(row["id"].c_str());
  resource.set_name(row["name"].c_str());
  resource.mutable_spec()->set_type_url(row["type_url"].c_str());
  pqxx::binarystring spec(row["spec"]);
  resource.mutable_spec()->set_value(spec.data(), spec.size());
  auto* version = resource.mutable_version();
  version->set_sha256_hash(row["sha256"].c_str());
  version->set_index(row["revision"].as<int64_t>());
  int64_t micros = row["committed_us"].as<int64_t>();
  version->mutable_timestamp()->set_seconds(micros / 1000000);
  version->mutable_timestamp()->set_nanos(static_cast<int32_t>(micros % 1000000) * 1000);
  return resource;
}

ChangeRecord ChangeFromRow(const pqxx::row& row) {
  ChangeRecord change;
  change.resource = ResourceFromRow(row);
  change.revision = change.resource.version().index();
  change.dropped = row["dropped"].as<bool>();
  return change;
}

// Checks that `revision` can be read from the change log.
absl::Status CheckReadable(ReadTransaction& tx, int64_t revision, int64_t head) {
  if (revision > head) {
    return absl::OutOfRangeError(absl::StrCat("revision ", revision,
                                              " is newer than the store's latest revision ",
                                              head));
  }
  int64_t compacted = tx.exec_prepared1(sql::kCompactedRevision)[0].as<int64_t>();
  if (revision < compacted) {
    return absl::OutOfRangeError(absl::StrCat(
        "revision ", revision, " has been compacted; the oldest revision the change log keeps is ",
        compacted, ": list again at the latest revision and watch from there"));
  }
  return absl::OkStatus();
}

int64_t Head(ReadTransaction& tx) {
  return tx.exec_prepared1(sql::kHeadRevision)[0].as<int64_t>();
}

}  // namespace

std::string PgTextArray(const std::vector<std::string>& values) {
  std::string literal = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) literal += ',';
    literal += '"';
    for (char c : values[i]) {
      if (c == '"' || c == '\\') literal += '\\';
      literal += c;
    }
    literal += '"';
  }
  literal += '}';
  return literal;
}

absl::StatusOr<int64_t> ReadHeadRevision(pqxx::connection_base& connection) {
  try {
    pqxx::read_transaction tx(connection);
    return tx.exec_prepared1(sql::kHeadRevision)[0].as<int64_t>();
  } catch (...) {
    return StatusFromCurrentException("reading the latest revision");
  }
}

absl::StatusOr<Resource> ReadResource(pqxx::connection_base& connection, const std::string& ns,
                                      const std::string& id, int64_t revision) {
  try {
    std::optional<Resource> found;
    if (revision == 0) {
      // One statement sees one snapshot: no transaction needed.
      pqxx::nontransaction tx(connection);
      pqxx::result rows = tx.exec_prepared(sql::kGetHead, ns, id);
      if (!rows.empty()) found = ResourceFromRow(rows[0]);
    } else {
      ReadTransaction tx(connection);
      if (auto s = CheckReadable(tx, revision, Head(tx)); !s.ok()) return s;
      pqxx::result rows = tx.exec_prepared(sql::kGetAt, ns, id, revision);
      if (!rows.empty() && !rows[0]["dropped"].as<bool>()) found = ResourceFromRow(rows[0]);
    }
    if (!found) {
      return absl::NotFoundError(
          revision == 0
              ? absl::StrCat("resource ", id, " not found in namespace ", ns)
              : absl::StrCat("resource ", id, " did not exist in namespace ", ns,
                             " at revision ", revision));
    }
    return *std::move(found);
  } catch (...) {
    return StatusFromCurrentException("reading a resource");
  }
}

absl::StatusOr<ListPage> ReadList(pqxx::connection_base& connection, const ListQuery& query) {
  try {
    ReadTransaction tx(connection);
    // With a name prefix, the name index and a sort of what it finds beat
    // reading the namespace in key order: leave that plan to the planner.
    if (query.name_prefix.empty()) tx.exec(sql::kListSettingsSql);
    ListPage page;
    int64_t head = Head(tx);
    page.revision = query.revision == 0 ? head : query.revision;
    // One more row than asked for tells whether another page follows.
    int64_t limit = query.limit == 0 ? std::numeric_limits<int64_t>::max()
                                     : static_cast<int64_t>(query.limit) + 1;
    std::string types = PgTextArray(query.type_urls);
    pqxx::result rows;
    if (page.revision == head) {
      rows = tx.exec_prepared(sql::kListHead, query.namespace_, query.after_id, types,
                              query.name_prefix, limit);
    } else {
      if (auto s = CheckReadable(tx, page.revision, head); !s.ok()) return s;
      rows = tx.exec_prepared(sql::kListAt, query.namespace_, query.after_id, types,
                              query.name_prefix, limit, page.revision);
    }
    page.resources.reserve(rows.size());
    for (const auto& row : rows) page.resources.push_back(ResourceFromRow(row));
    if (query.limit != 0 && page.resources.size() > query.limit) {
      page.resources.pop_back();
      page.more = true;
    }
    return page;
  } catch (...) {
    return StatusFromCurrentException("listing resources");
  }
}

absl::StatusOr<std::vector<ChangeRecord>> ReadHistory(pqxx::connection_base& connection,
                                                      const std::string& ns,
                                                      const std::string& id, int64_t before,
                                                      size_t limit) {
  try {
    ReadTransaction tx(connection);
    pqxx::result rows =
        tx.exec_prepared(sql::kHistory, ns, id, before, static_cast<int64_t>(limit));
    std::vector<ChangeRecord> changes;
    changes.reserve(rows.size());
    for (const auto& row : rows) changes.push_back(ChangeFromRow(row));
    return changes;
  } catch (...) {
    return StatusFromCurrentException("reading a resource's history");
  }
}

absl::StatusOr<ChangesRead> ReadChanges(pqxx::connection_base& connection,
                                        const std::optional<std::string>& ns, int64_t after,
                                        int64_t upto) {
  try {
    ReadTransaction tx(connection);
    ChangesRead read;
    read.head_revision = Head(tx);
    if (auto s = CheckReadable(tx, after, read.head_revision); !s.ok()) return s;
    int64_t end = std::min(upto, read.head_revision);
    pqxx::result rows = ns ? tx.exec_prepared(sql::kChangesOfNamespace, *ns, after, end)
                           : tx.exec_prepared(sql::kChangesOfAll, after, end);
    read.changes.reserve(rows.size());
    for (const auto& row : rows) read.changes.push_back(ChangeFromRow(row));
    return read;
  } catch (...) {
    return StatusFromCurrentException("reading the change log");
  }
}

}  // namespace protomesh::store
