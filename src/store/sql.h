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

inline constexpr const char* kSetRevision = "set_revision";
inline constexpr const char* kSetRevisionSql = "UPDATE store_revision SET revision = $1";

inline constexpr const char* kNotify = "notify";
inline constexpr const char* kNotifySql = "SELECT pg_notify('protomesh_changes', $1)";

inline constexpr const char* kSelectCurrent = "select_current";
inline constexpr const char* kSelectCurrentSql =
    "SELECT sha256, revision, (extract(epoch FROM committed_at) * 1000000)::bigint "
    "FROM resources WHERE namespace = $1 AND id = $2::uuid";

// $1 namespace, $2 id, $3 name, $4 type_url, $5 spec, $6 sha256,
// $7 revision, $8 committed_at.
inline constexpr const char* kUpsert = "upsert";
inline constexpr const char* kUpsertSql =
    "WITH upserted AS ("
    "  INSERT INTO resources (namespace, id, name, type_url, spec, sha256, revision, committed_at)"
    "  VALUES ($1, $2::uuid, $3, $4, $5, $6, $7, $8::timestamptz)"
    "  ON CONFLICT (namespace, id) DO UPDATE SET name = EXCLUDED.name,"
    "    type_url = EXCLUDED.type_url, spec = EXCLUDED.spec, sha256 = EXCLUDED.sha256,"
    "    revision = EXCLUDED.revision, committed_at = EXCLUDED.committed_at"
    "  RETURNING 1) "
    "INSERT INTO changes (revision, namespace, id, dropped, name, type_url, spec, sha256, committed_at) "
    "SELECT $7, $1, $2::uuid, false, $3, $4, $5, $6, $8::timestamptz FROM upserted";

// $1 namespace, $2 id, $3 revision, $4 committed_at. Affects 1 row when the
// resource existed.
inline constexpr const char* kDrop = "drop";
inline constexpr const char* kDropSql =
    "WITH dropped AS (DELETE FROM resources WHERE namespace = $1 AND id = $2::uuid RETURNING *) "
    "INSERT INTO changes (revision, namespace, id, dropped, name, type_url, spec, sha256, committed_at) "
    "SELECT $3, namespace, id, true, name, type_url, spec, sha256, $4::timestamptz FROM dropped";

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
