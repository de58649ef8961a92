#pragma once
// Schema migrations: the SQL files of migrations/ (NNNN_name.sql), embedded
// into the binary at build time, applied in order at start under a session
// advisory lock, so that replicas starting together apply each one once.
// Applied versions are recorded in schema_migrations.
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace protomesh::store {

struct Migration {
  int version = 0;
  std::string name;
  std::string sql;
};

// The migrations built into this binary, by version.
const std::vector<Migration>& EmbeddedMigrations();

// Applies what is missing; returns how many were applied. FAILED_PRECONDITION
// when the database has a version this binary does not know (it is newer).
absl::StatusOr<int> ApplyMigrations(pqxx::connection_base& connection,
                                    const std::vector<Migration>& migrations);

// Connects (retrying while the database is unreachable, up to
// `connect_timeout`) and applies the embedded migrations.
absl::StatusOr<int> MigrateDatabase(const std::string& url, absl::Duration connect_timeout);

}  // namespace protomesh::store
