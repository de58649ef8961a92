#include "src/store/compactor.h"

#include <pqxx/pqxx>

#include "spdlog/spdlog.h"
#include "src/common/absl_fmt.h"
#include "src/store/db_executor.h"
#include "src/store/pg_errors.h"

namespace protomesh::store {
namespace {

// Any constant shared by all replicas; pg_try_advisory_xact_lock(key).
constexpr int64_t kCompactionLockKey = 0x70726f746f6d02;

constexpr const char* kTargetSql =
    "SELECT LEAST("
    "  (SELECT revision FROM store_revision) - $1,"
    "  CASE WHEN $2 = 0 THEN (SELECT revision FROM store_revision)"
    "       ELSE (SELECT COALESCE(max(revision), 0) FROM changes"
    "             WHERE committed_at < now() - make_interval(secs => $2)) END)";

constexpr const char* kDeleteSql =
    "DELETE FROM changes c WHERE c.revision <= $1 AND (c.dropped OR EXISTS ("
    "  SELECT 1 FROM changes n WHERE n.namespace = c.namespace AND n.id = c.id"
    "    AND n.revision > c.revision AND n.revision <= $1))";

// store_writers rows are only read back right after their writer lost a
// connection; a store process leaves one behind when it stops.
constexpr const char* kForgetWritersSql =
    "DELETE FROM store_writers WHERE written_at < now() - interval '1 day'";

}  // namespace

Compactor::Compactor(std::string url, RetentionOptions options, StoreMetrics* metrics)
    : url_(std::move(url)), options_(options), metrics_(metrics) {}

Compactor::~Compactor() { Stop(); }

void Compactor::Start() {
  if (options_.interval <= absl::ZeroDuration()) return;
  thread_ = std::thread([this] { Run(); });
}

void Compactor::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

absl::StatusOr<int64_t> Compactor::CompactOnce() {
  auto connection = OpenConnection(url_);
  if (!connection.ok()) return connection.status();
  try {
    pqxx::work tx(**connection);
    if (!tx.exec_params1("SELECT pg_try_advisory_xact_lock($1)", kCompactionLockKey)[0].as<bool>()) {
      return tx.exec1("SELECT compacted_revision FROM compaction")[0].as<int64_t>();  // another replica is at it
    }
    int64_t compacted = tx.exec1("SELECT compacted_revision FROM compaction FOR UPDATE")[0].as<int64_t>();
    int64_t target = tx.exec_params1(kTargetSql, options_.retention_revisions,
                                     absl::ToDoubleSeconds(options_.retention_age))[0]
                         .as<int64_t>();
    tx.exec(kForgetWritersSql);
    if (target <= compacted) {
      tx.commit();
      return compacted;
    }
    pqxx::result deleted = tx.exec_params(kDeleteSql, target);
    tx.exec_params("UPDATE compaction SET compacted_revision = $1", target);
    tx.commit();
    metrics_->compacted_changes.Increment(static_cast<double>(deleted.affected_rows()));
    metrics_->compacted_revision.Set(static_cast<double>(target));
    spdlog::info("compacted the change log up to revision {} ({} changes removed)", target,
                 deleted.affected_rows());
    return target;
  } catch (...) {
    return StatusFromCurrentException("compacting the change log");
  }
}

void Compactor::Run() {
  while (true) {
    {
      std::unique_lock lock(mu_);
      wake_.wait_for(lock, absl::ToChronoMilliseconds(options_.interval), [&] { return stopping_; });
      if (stopping_) return;
    }
    if (auto result = CompactOnce(); !result.ok()) {
      spdlog::warn("compaction failed: {}", result.status().message());
    }
  }
}

}  // namespace protomesh::store
