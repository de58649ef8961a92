#pragma once
// Every SQL statement the store runs, as named constants with $n parameters.
// Prepared once per connection (PrepareStatements) and run by name.
#include <pqxx/pqxx>

namespace protomesh::store::sql {

// The channel a committing writer notifies. Payload: "<last revision>
// <first revision> <writer>" (before migration 0002: "<last revision>").
inline constexpr const char* kChangesChannel = "protomesh_changes";

// Columns that make a Resource, shared by reads of both tables.
#define PROTOMESH_RESOURCE_COLUMNS                                               \
  "namespace, id::text AS id, name, type_url, spec, sha256, revision, "          \
  "(extract(epoch FROM committed_at) * 1000000)::bigint AS committed_us"

// Writes. A write transaction is one call of protomesh_write_batch
// (migrations/0002_write_batch_function.sql), run outside a transaction
// block so that the call commits before it answers. The write batcher passes
// each column of a whole batch as one array:
//   $1 writer, $2 batch number (recorded in store_writers);
//   $3-$4   the distinct resources the batch touches (namespaces, ids);
//   $5-$8   one entry per put and per id of a drop: its mutation, its
//           resource (index into $3-$4), put or drop, expected revision;
//   $9-$12  what each put writes: names, type URLs, specs, sha256s.
// One row per entry comes back; see the migration for its columns.
inline constexpr const char* kWriteBatch = "write_batch";
inline constexpr const char* kWriteBatchSql =
    "SELECT * FROM protomesh_write_batch($1::uuid, $2, $3::text[], $4::uuid[], $5::int[], "
    "$6::int[], $7::boolean[], $8::bigint[], $9::text[], $10::text[], $11::bytea[], $12::text[])";

// The write connection's transactions must be READ COMMITTED (each
// statement of protomesh_write_batch sees what committed before it),
// whatever the database's default.
inline constexpr const char* kWriterSessionSql =
    "SET default_transaction_isolation TO 'read committed'";

// This connection's server process, as pg_stat_activity names it.
inline constexpr const char* kBackendIdentity = "backend_identity";
inline constexpr const char* kBackendIdentitySql =
    "SELECT pid, backend_start::text FROM pg_stat_activity WHERE pid = pg_backend_pid()";

// Ends the server process ($1 pid, $2 start time) of a lost connection,
// waiting up to 5 s for it to exit; no row when it is already gone.
inline constexpr const char* kEndBackend = "end_backend";
inline constexpr const char* kEndBackendSql =
    "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
    "WHERE pid = $1 AND backend_start = $2::timestamptz";

// Whether that server process still exists.
inline constexpr const char* kBackendAlive = "backend_alive";
inline constexpr const char* kBackendAliveSql =
    "SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND backend_start = $2::timestamptz";

// The last batch writer $1 committed.
inline constexpr const char* kWriterBatch = "writer_batch";
inline constexpr const char* kWriterBatchSql = "SELECT batch FROM store_writers WHERE writer = $1::uuid";

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

// Run in a List's transaction, when it has no name prefix, before kListHead
// or kListAt. Both can read their rows in order from an index (the primary
// key; changes_by_resource), and that is the plan wanted however many rows
// the tables are thought to hold: right after a bulk load, before autovacuum's ANALYZE, the planner
// guessed a few hundred rows where there were 100 000 and sorted them on
// disk. The sort's disable cost would make a plan worth JIT-compiling.
inline constexpr const char* kListSettingsSql = "SET LOCAL enable_sort = off; SET LOCAL jit = off";

// $1 namespace, $2 after id ('' for the start), $3 type URLs (text[], empty
// for all), $4 name prefix ('' for all), $5 limit.
// Ordered by the uuid column, which the primary key reads in order: the
// output column "id" is its text, and ordering by that sorted the whole
// namespace on every page (on disk, for a large one). Without a prefix, the
// name index is not offered to the planner at all.
inline constexpr const char* kListHead = "list_head";
inline constexpr const char* kListHeadSql =
    "SELECT " PROTOMESH_RESOURCE_COLUMNS " FROM resources "
    "WHERE namespace = $1 AND ($2 = '' OR id > NULLIF($2, '')::uuid) "
    "  AND (cardinality($3::text[]) = 0 OR type_url = ANY($3::text[])) "
    "  AND ($4 = '' OR starts_with(name, $4)) "
    "ORDER BY resources.id LIMIT $5";

// As kListHead, at revision $6, rebuilt from the change log.
inline constexpr const char* kListAt = "list_at";
inline constexpr const char* kListAtSql =
    "SELECT " PROTOMESH_RESOURCE_COLUMNS " FROM ("
    "  SELECT DISTINCT ON (id) namespace, id, name, type_url, spec, sha256, revision, committed_at, dropped"
    "  FROM changes WHERE namespace = $1 AND revision <= $6"
    "    AND ($2 = '' OR id > NULLIF($2, '')::uuid)"
    "  ORDER BY id, revision DESC) latest "
    "WHERE NOT dropped AND (cardinality($3::text[]) = 0 OR type_url = ANY($3::text[])) "
    "  AND ($4 = '' OR starts_with(name, $4)) "
    "ORDER BY latest.id LIMIT $5";

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
