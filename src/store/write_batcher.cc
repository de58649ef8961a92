#include "src/store/write_batcher.h"

#include <chrono>
#include <optional>

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"
#include "src/common/absl_fmt.h"
#include "src/store/db_executor.h"
#include "src/store/pg_errors.h"
#include "src/store/sql.h"

namespace protomesh::store {
namespace {

using protomesh::types::v1::Version;

struct CurrentRow {
  std::string sha256;
  int64_t revision = 0;
  int64_t committed_us = 0;
};

// The time and revision numbering a transaction works with.
struct TransactionClock {
  int64_t next_revision = 0;
  std::string committed_at;  // timestamptz text, as Postgres printed it
  int64_t committed_us = 0;
};

std::optional<CurrentRow> SelectCurrent(pqxx::work& tx, const std::string& ns,
                                        const std::string& id) {
  pqxx::result rows = tx.exec_prepared(sql::kSelectCurrent, ns, id);
  if (rows.empty()) return std::nullopt;
  return CurrentRow{rows[0][0].c_str(), rows[0][1].as<int64_t>(), rows[0][2].as<int64_t>()};
}

Version MakeVersion(const std::string& sha256, int64_t revision, int64_t committed_us) {
  Version version;
  version.set_sha256_hash(sha256);
  version.set_index(revision);
  version.mutable_timestamp()->set_seconds(committed_us / 1000000);
  version.mutable_timestamp()->set_nanos(static_cast<int32_t>(committed_us % 1000000) * 1000);
  return version;
}

std::string Key(const std::string& ns, const std::string& id) { return absl::StrCat(ns, "/", id); }

absl::Status CheckExpected(const std::string& ns, const std::string& id,
                           const std::optional<CurrentRow>& current, int64_t expected) {
  if (expected == 0 && current) {
    return absl::AbortedError(absl::StrCat("resource ", Key(ns, id),
                                           " already exists at revision ", current->revision,
                                           "; expected_revision 0 means create only"));
  }
  if (expected != 0 && !current) {
    return absl::AbortedError(absl::StrCat("resource ", Key(ns, id),
                                           " does not exist; expected it at revision ", expected));
  }
  if (expected != 0 && current->revision != expected) {
    return absl::AbortedError(absl::StrCat("resource ", Key(ns, id), " is at revision ",
                                           current->revision, ", not the expected revision ",
                                           expected, "; read it again and retry"));
  }
  return absl::OkStatus();
}

// Checks every precondition of the mutation first, then writes; a failed
// precondition leaves the transaction untouched.
absl::StatusOr<MutationResult> ApplyMutation(pqxx::work& tx, const Mutation& mutation,
                                             const TransactionClock& clock) {
  struct PutPlan {
    std::optional<CurrentRow> current;
  };
  struct DropPlan {
    std::vector<std::string> existing;
  };
  std::vector<std::variant<PutPlan, DropPlan>> plans;
  plans.reserve(mutation.operations.size());
  bool changes_something = false;

  for (const Operation& operation : mutation.operations) {
    if (const auto* put = std::get_if<PutOp>(&operation)) {
      const auto& resource = put->resource;
      auto current = SelectCurrent(tx, resource.namespace_(), resource.id());
      if (put->expected_revision) {
        if (auto s = CheckExpected(resource.namespace_(), resource.id(), current,
                                   *put->expected_revision);
            !s.ok()) {
          return s;
        }
      }
      changes_something = changes_something || !current || current->sha256 != put->content_hash;
      plans.push_back(PutPlan{std::move(current)});
    } else {
      const auto& drop = std::get<DropOp>(operation);
      DropPlan plan;
      for (const std::string& id : drop.ids) {
        auto current = SelectCurrent(tx, drop.namespace_, id);
        if (auto it = drop.expected_revisions.find(id); it != drop.expected_revisions.end()) {
          if (auto s = CheckExpected(drop.namespace_, id, current, it->second); !s.ok()) return s;
        }
        if (current) plan.existing.push_back(id);
      }
      changes_something = changes_something || !plan.existing.empty();
      plans.push_back(std::move(plan));
    }
  }

  MutationResult result;
  result.revision = changes_something ? clock.next_revision : 0;
  for (size_t i = 0; i < plans.size(); ++i) {
    if (auto* plan = std::get_if<PutPlan>(&plans[i])) {
      const auto& put = std::get<PutOp>(mutation.operations[i]);
      const auto& resource = put.resource;
      PutOutcome outcome;
      if (plan->current && plan->current->sha256 == put.content_hash) {
        outcome.unchanged = true;
        outcome.version = MakeVersion(put.content_hash, plan->current->revision,
                                      plan->current->committed_us);
      } else {
        tx.exec_prepared(sql::kUpsert, resource.namespace_(), resource.id(), resource.name(),
                         resource.spec().type_url(), pqxx::binarystring(resource.spec().value()),
                         put.content_hash, result.revision, clock.committed_at);
        outcome.created = !plan->current;
        outcome.version = MakeVersion(put.content_hash, result.revision, clock.committed_us);
      }
      result.outcomes.emplace_back(std::move(outcome));
    } else {
      const auto& drop = std::get<DropOp>(mutation.operations[i]);
      DropOutcome outcome;
      for (const std::string& id : std::get<DropPlan>(plans[i]).existing) {
        tx.exec_prepared(sql::kDrop, drop.namespace_, id, result.revision, clock.committed_at);
        outcome.dropped_ids.push_back(id);
      }
      result.outcomes.emplace_back(std::move(outcome));
    }
  }
  return result;
}

}  // namespace

WriteBatcher::WriteBatcher(std::string url, WriteBatcherOptions options, StoreMetrics* metrics)
    : url_(std::move(url)), options_(options), metrics_(metrics), thread_([this] { Run(); }) {}

WriteBatcher::~WriteBatcher() { Shutdown(); }

void WriteBatcher::Shutdown() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void WriteBatcher::Submit(Mutation mutation, MutationCallback done) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_ && queue_.size() < options_.max_queued_mutations) {
      queue_.push_back({std::move(mutation), std::move(done)});
      if (queue_.size() == 1) wake_.notify_one();
      return;
    }
  }
  done(absl::UnavailableError(
      "the store is shutting down or has too many writes queued; retry with backoff"));
}

void WriteBatcher::Run() {
  while (true) {
    std::vector<Pending> batch;
    {
      std::unique_lock lock(mu_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything queued is done
      size_t n = std::min(queue_.size(), options_.max_batch_mutations);
      batch.reserve(n);
      for (size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    Process(batch);
  }
}

absl::Status WriteBatcher::EnsureConnected() {
  if (connection_) return absl::OkStatus();
  auto opened = OpenConnection(url_);
  if (!opened.ok()) return opened.status();
  connection_ = *std::move(opened);
  return absl::OkStatus();
}

absl::Status WriteBatcher::ExecuteBatch(std::vector<Pending>& batch, Outcomes& outcomes,
                                        bool& commit_attempted) {
  commit_attempted = false;
  if (auto s = EnsureConnected(); !s.ok()) return s;
  auto started = std::chrono::steady_clock::now();
  try {
    pqxx::work tx(*connection_);
    pqxx::row lock = tx.exec_prepared1(sql::kLockRevision);
    const int64_t locked_revision = lock[0].as<int64_t>();
    TransactionClock clock{locked_revision + 1, lock[1].c_str(), lock[2].as<int64_t>()};
    outcomes.clear();
    for (auto& pending : batch) {
      outcomes.push_back(ApplyMutation(tx, pending.mutation, clock));
      if (outcomes.back().ok() && outcomes.back()->revision != 0) ++clock.next_revision;
    }
    const int64_t last_revision = clock.next_revision - 1;
    if (last_revision == locked_revision) {
      tx.abort();  // nothing to write; outcomes are no-ops or failed preconditions
      return absl::OkStatus();
    }
    tx.exec_prepared(sql::kSetRevision, last_revision);
    tx.exec_prepared(sql::kNotify, std::to_string(last_revision));
    commit_attempted = true;
    tx.commit();
    metrics_->commit_seconds.Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    metrics_->batch_mutations.Observe(static_cast<double>(batch.size()));
    return absl::OkStatus();
  } catch (...) {
    absl::Status status =
        StatusFromCurrentException(absl::StrCat("committing ", batch.size(), " write(s)"));
    if (IsConnectionLoss(status)) connection_.reset();
    return status;
  }
}

void WriteBatcher::Process(std::vector<Pending>& batch) {
  Outcomes outcomes;
  bool commit_attempted = false;
  absl::Status status = ExecuteBatch(batch, outcomes, commit_attempted);
  // A connection lost before COMMIT was sent committed nothing: run the
  // batch once more on a new connection.
  if (IsConnectionLoss(status) && !commit_attempted) {
    status = ExecuteBatch(batch, outcomes, commit_attempted);
  }
  if (status.ok()) {
    for (size_t i = 0; i < batch.size(); ++i) batch[i].done(std::move(outcomes[i]));
    return;
  }
  // A statement error aborts the whole transaction; run every mutation on
  // its own so that only the one at fault fails.
  if (!IsConnectionLoss(status) && batch.size() > 1) {
    spdlog::warn("write batch of {} failed ({}); retrying its writes one by one", batch.size(),
                 status.message());
    for (auto& pending : batch) {
      std::vector<Pending> single;
      single.push_back(std::move(pending));
      Process(single);
    }
    return;
  }
  if (!IsConnectionLoss(status)) spdlog::error("write failed: {}", status.message());
  for (auto& pending : batch) pending.done(status);
}

}  // namespace protomesh::store
