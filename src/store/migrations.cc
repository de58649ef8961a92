#include "src/store/migrations.h"

#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"
#include "src/common/absl_fmt.h"
#include "src/store/pg_errors.h"

namespace protomesh::store {
namespace {

constexpr int64_t kMigrationLockKey = 0x70726f746f6d01;

absl::StatusOr<int> ApplyLocked(pqxx::connection_base& connection,
                                const std::vector<Migration>& migrations) {
  {
    pqxx::work tx(connection);
    tx.exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        "  version integer PRIMARY KEY, name text NOT NULL,"
        "  applied_at timestamptz NOT NULL DEFAULT now())");
    tx.commit();
  }
  std::set<int> applied;
  {
    pqxx::read_transaction tx(connection);
    for (const auto& row : tx.exec("SELECT version FROM schema_migrations")) {
      applied.insert(row[0].as<int>());
    }
  }
  int known_max = migrations.empty() ? 0 : migrations.back().version;
  if (!applied.empty() && *applied.rbegin() > known_max) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the database schema is at version ", *applied.rbegin(),
        ", newer than the latest this binary knows (", known_max,
        "); run a newer protomesh-store"));
  }
  int count = 0;
  for (const auto& migration : migrations) {
    if (applied.count(migration.version)) continue;
    pqxx::work tx(connection);
    tx.exec(migration.sql);
    tx.exec_params("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                   migration.version, migration.name);
    tx.commit();
    spdlog::info("applied migration {:04d}_{}", migration.version, migration.name);
    ++count;
  }
  return count;
}

}  // namespace

absl::StatusOr<int> ApplyMigrations(pqxx::connection_base& connection,
                                    const std::vector<Migration>& migrations) {
  try {
    // A session-level lock: it spans the migrations' own transactions.
    pqxx::nontransaction(connection).exec_params("SELECT pg_advisory_lock($1)", kMigrationLockKey);
    absl::StatusOr<int> result;
    try {
      result = ApplyLocked(connection, migrations);
    } catch (...) {
      result = StatusFromCurrentException("applying migrations");
    }
    pqxx::nontransaction(connection).exec_params("SELECT pg_advisory_unlock($1)", kMigrationLockKey);
    return result;
  } catch (...) {
    return StatusFromCurrentException("locking the schema for migrations");
  }
}

absl::StatusOr<int> MigrateDatabase(const std::string& url, absl::Duration connect_timeout) {
  absl::Time deadline = absl::Now() + connect_timeout;
  auto backoff = absl::Milliseconds(100);
  while (true) {
    absl::Status status;
    try {
      pqxx::connection connection(url);
      auto applied = ApplyMigrations(connection, EmbeddedMigrations());
      if (applied.ok() || !IsConnectionLoss(applied.status())) return applied;
      status = applied.status();
    } catch (...) {
      status = StatusFromCurrentException("connecting");
    }
    if (!IsConnectionLoss(status) || absl::Now() + backoff > deadline) return status;
    spdlog::warn("{}; retrying in {}", status.message(), absl::FormatDuration(backoff));
    std::this_thread::sleep_for(absl::ToChronoMilliseconds(backoff));
    backoff = std::min(backoff * 2, absl::Seconds(2));
  }
}

}  // namespace protomesh::store
