#pragma once
// Every SQL statement the store runs, as named constants with $n parameters.
// Prepared once per connection (PrepareStatements) and run by name.
#include <pqxx/pqxx>

namespace protomesh::store::sql {

// The channel a committing writer notifies; payload: the new revision.
inline constexpr const char* kChangesChannel = "protomesh_changes";

// Columns that make a Resource, shared by reads of both tables.
#define PROTOMESH_RESOURCE_COLUMNS                                               \
  "namespace, id::text AS id, name, type_url, spec, sha256, revision, "          \
  "(extract(epoch FROM committed_at) * 1000000)::bigint AS committed_us"

// Takes the revision row's lock for the rest of the transaction: the writer
// that holds it is the only one numbering revisions (see the migration).
inline constexpr const char* kLockRevision = "lock_revision";
inline constexpr const char* kLockRevisionSql =
    "SELECT r.revision, t.ts::text, (extract(epoch FROM t.ts) * 1000000)::bigint "
    "FROM store_revision r, (SELECT clock_timestamp() AS ts) t FOR UPDATE OF r";

// Writes. The write batcher passes each column of a whole batch as one
// array, so a transaction costs a fixed number of round trips whatever its
// size.

// $1 namespaces, $2 ids: the current rows among those keys.
inline constexpr const char* kSelectCurrentBatch = "select_current_batch";
inline constexpr const char* kSelectCurrentBatchSql =
    "SELECT r.namespace, r.id::text, r.sha256, r.revision, "
    "  (extract(epoch FROM r.committed_at) * 1000000)::bigint "
    "FROM unnest($1::text[], $2::uuid[]) AS k(namespace, id) "
    "CROSS JOIN LATERAL (SELECT * FROM resources"
    "  WHERE namespace = k.namespace AND id = k.id LIMIT 1) r";

// Everything a batch writes, in one statement (one round trip), each
// column as an array:
//   $1-$3    drops of stored resources (namespaces, ids, revisions): their
//            change rows copy the stored row, as the statement's snapshot
//            still has it;
//   $4-$11   every other change row (revisions, namespaces, ids, dropped,
//            names, type URLs, specs, sha256s);
//   $12-$13  keys whose final state is gone (namespaces, ids);
//   $14-$20  keys whose final state is a put, each once (namespaces, ids,
//            names, type URLs, specs, sha256s, revisions);
//   $21 committed_at, $22 the batch's last revision, which the statement
//   stores and announces with NOTIFY.
// The sub-statements touch disjoint rows, so their order does not matter.
// Keys are looked up one by one (LATERAL, with a LIMIT that keeps the
// planner from flattening it into a join) so that the plan is an index
// lookup per key whatever the planner thinks of the array's size or the
// table's: a generic plan made while the table was small seq-scans it.
inline constexpr const char* kWriteBatch = "write_batch";
inline constexpr const char* kWriteBatchSql =
    "WITH stored_drops AS ("
    "  INSERT INTO changes (revision, namespace, id, dropped, name, type_url, spec, sha256, committed_at)"
    "  SELECT d.revision, r.namespace, r.id, true, r.name, r.type_url, r.spec, r.sha256,"
    "    $21::timestamptz"
    "  FROM unnest($1::text[], $2::uuid[], $3::bigint[]) AS d(namespace, id, revision)"
    "  CROSS JOIN LATERAL (SELECT * FROM resources"
    "    WHERE namespace = d.namespace AND id = d.id LIMIT 1) r), "
    "other_changes AS ("
    "  INSERT INTO changes (revision, namespace, id, dropped, name, type_url, spec, sha256, committed_at)"
    "  SELECT c.revision, c.namespace, c.id, c.dropped, c.name, c.type_url, c.spec, c.sha256,"
    "    $21::timestamptz"
    "  FROM unnest($4::bigint[], $5::text[], $6::uuid[], $7::boolean[], $8::text[], $9::text[],"
    "    $10::bytea[], $11::text[]) AS c(revision, namespace, id, dropped, name, type_url, spec, sha256)), "
    "gone AS ("
    "  DELETE FROM resources WHERE ctid = ANY (ARRAY("
    "    SELECT r.ctid FROM unnest($12::text[], $13::uuid[]) AS d(namespace, id)"
    "    CROSS JOIN LATERAL (SELECT ctid FROM resources"
    "      WHERE namespace = d.namespace AND id = d.id LIMIT 1) r))), "
    "upserted AS ("
    "  INSERT INTO resources (namespace, id, name, type_url, spec, sha256, revision, committed_at)"
    "  SELECT u.namespace, u.id, u.name, u.type_url, u.spec, u.sha256, u.revision, $21::timestamptz"
    "  FROM unnest($14::text[], $15::uuid[], $16::text[], $17::text[], $18::bytea[], $19::text[],"
    "    $20::bigint[]) AS u(namespace, id, name, type_url, spec, sha256, revision)"
    "  ON CONFLICT (namespace, id) DO UPDATE SET name = EXCLUDED.name,"
    "    type_url = EXCLUDED.type_url, spec = EXCLUDED.spec, sha256 = EXCLUDED.sha256,"
    "    revision = EXCLUDED.revision, committed_at = EXCLUDED.committed_at), "
    "head AS (UPDATE store_revision SET revision = $22) "
    "SELECT pg_notify('protomesh_changes', $22::text)";

inline constexpr const char* kHeadRevision = "head_revision";
inline constexpr const char* kHeadRevisionSql = "SELECT revision FROM store_revision";

inline constexpr const char* kCompactedRevision = "compacted_revision";
inline constexpr const char* kCompactedRevisionSql = "SELECT compacted_revision FROM compaction";

inline constexpr const char* kGetHead = "get_head";
inline constexpr const char* kGetHeadSql =
    "SELECT " PROTOMESH_RESOURCE_COLUMNS " FROM resources WHERE namespace = $1 AND id = $2::uuid";

inline constexpr const char* kGetAt = "get_at";
inline constexpr const char* kGetAtSql =
    "SELECT " PROTOMESH_RESOURCE_COLUMNS ", dropped FROM changes "
    "WHERE namespace = $1 AND id = $2::uuid AND revision <= $3 ORDER BY revision DESC LIMIT 1";

// $1 namespace, $2 after id ('' for the start), $3 type URLs (text[], empty
// for all), $4 name prefix, $5 limit.
inline constexpr const char* kListHead = "list_head";
inline constexpr const char* kListHeadSql =
    "SELECT " PROTOMESH_RESOURCE_COLUMNS " FROM resources "
    "WHERE namespace = $1 AND ($2 = '' OR id > NULLIF($2, '')::uuid) "
    "  AND (cardinality($3::text[]) = 0 OR type_url = ANY($3::text[])) "
    "  AND starts_with(name, $4) "
    "ORDER BY id LIMIT $5";

// As kListHead, at revision $6, rebuilt from the change log.
inline constexpr const char* kListAt = "list_at";
inline constexpr const char* kListAtSql =
    "SELECT " PROTOMESH_RESOURCE_COLUMNS " FROM ("
    "  SELECT DISTINCT ON (id) namespace, id, name, type_url, spec, sha256, revision, committed_at, dropped"
    "  FROM changes WHERE namespace = $1 AND revision <= $6"
    "    AND ($2 = '' OR id > NULLIF($2, '')::uuid)"
    "  ORDER BY id, revision DESC) latest "
    "WHERE NOT dropped AND (cardinality($3::text[]) = 0 OR type_url = ANY($3::text[])) "
    "  AND starts_with(name, $4) "
    "ORDER BY id LIMIT $5";

// $1 namespace, $2 id, $3 before revision (0: from the newest), $4 limit.
inline constexpr const char* kHistory = "history";
inline constexpr const char* kHistorySql =
    "SELECT " PROTOMESH_RESOURCE_COLUMNS ", dropped FROM changes "
    "WHERE namespace = $1 AND id = $2::uuid AND ($3 = 0 OR revision < $3) "
    "ORDER BY revision DESC LIMIT $4";

// Changes of one namespace in (after, upto], in revision order.
inline constexpr const char* kChangesOfNamespace = "changes_of_namespace";
inline constexpr const char* kChangesOfNamespaceSql =
    "SELECT " PROTOMESH_RESOURCE_COLUMNS ", dropped FROM changes "
    "WHERE namespace = $1 AND revision > $2 AND revision <= $3 ORDER BY revision, id";

// Changes of every namespace in (after, upto], in revision order.
inline constexpr const char* kChangesOfAll = "changes_of_all";
inline constexpr const char* kChangesOfAllSql =
    "SELECT " PROTOMESH_RESOURCE_COLUMNS ", dropped FROM changes "
    "WHERE revision > $1 AND revision <= $2 ORDER BY revision, namespace, id";

#undef PROTOMESH_RESOURCE_COLUMNS

// Prepares every statement above on a new connection.
void PrepareStatements(pqxx::connection_base& connection);

}  // namespace protomesh::store::sql
