#include "src/store/write_batcher.h"

#include <chrono>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"
#include "src/common/absl_fmt.h"
#include "src/store/db_executor.h"
#include "src/store/pg_array.h"
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

std::string Key(absl::string_view ns, absl::string_view id) { return absl::StrCat(ns, "/", id); }

// What one key looks like to the batch: its stored row, then after each
// mutation of the batch that wrote it.
struct KeyState {
  std::optional<CurrentRow> current;
  // The put of this batch whose content is the current state; null while the
  // state is the stored one (or there is none).
  const PutOp* written = nullptr;
  bool touched = false;  // written or dropped by this batch
  std::string ns, id;
};
using KeyStates = absl::flat_hash_map<std::string, KeyState>;

// The writes a batch makes, collected while its mutations are checked and
// numbered, then sent as a few statements over arrays (see WriteAll).
struct BatchWrites {
  // Change rows whose content is in memory: puts, and drops of resources
  // this batch wrote first.
  struct Change {
    int64_t revision;
    const protomesh::types::v1::Resource* resource;
    const std::string* sha256;
    bool dropped;
  };
  std::vector<Change> changes;
  // Drops of stored resources: their change row copies the stored row.
  struct StoredDrop {
    const std::string* ns;
    const std::string* id;
    int64_t revision;
  };
  std::vector<StoredDrop> stored_drops;
};

Version MakeVersion(const std::string& sha256, int64_t revision, int64_t committed_us) {
  Version version;
  version.set_sha256_hash(sha256);
  version.set_index(revision);
  version.mutable_timestamp()->set_seconds(committed_us / 1000000);
  version.mutable_timestamp()->set_nanos(static_cast<int32_t>(committed_us % 1000000) * 1000);
  return version;
}

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

// Reads the stored row of every key the batch touches, in one statement.
template <typename Batch>  // std::vector<WriteBatcher::Pending>
KeyStates ReadKeyStates(pqxx::work& tx, const Batch& batch) {
  KeyStates states;
  PgArrayLiteral namespaces, ids;
  auto add = [&](const std::string& ns, const std::string& id) {
    auto [it, inserted] = states.try_emplace(Key(ns, id));
    if (!inserted) return;
    it->second.ns = ns;
    it->second.id = id;
    namespaces.AddText(ns);
    ids.AddText(id);
  };
  for (const auto& pending : batch) {
    for (const Operation& operation : pending.mutation.operations) {
      if (const auto* put = std::get_if<PutOp>(&operation)) {
        add(put->resource.namespace_(), put->resource.id());
      } else {
        const auto& drop = std::get<DropOp>(operation);
        for (const std::string& id : drop.ids) add(drop.namespace_, id);
      }
    }
  }
  if (states.empty()) return states;
  pqxx::result rows =
      tx.exec_prepared(sql::kSelectCurrentBatch, namespaces.Finish(), ids.Finish());
  for (const auto& row : rows) {
    auto it = states.find(Key(row[0].c_str(), row[1].c_str()));
    if (it == states.end()) continue;  // cannot happen: ids come back as sent
    it->second.current =
        CurrentRow{row[2].c_str(), row[3].as<int64_t>(), row[4].as<int64_t>()};
  }
  return states;
}

// Checks every precondition of the mutation against the batch's view of
// its keys first; a failed one changes nothing. Then numbers the mutation,
// records its writes and updates the view, so that later mutations of the
// batch see it.
absl::StatusOr<MutationResult> PlanMutation(const Mutation& mutation, const TransactionClock& clock,
                                            KeyStates& states, BatchWrites& writes) {
  std::vector<KeyState*> put_states(mutation.operations.size(), nullptr);
  std::vector<std::vector<KeyState*>> drop_states(mutation.operations.size());
  bool changes_something = false;

  for (size_t i = 0; i < mutation.operations.size(); ++i) {
    const Operation& operation = mutation.operations[i];
    if (const auto* put = std::get_if<PutOp>(&operation)) {
      const auto& resource = put->resource;
      KeyState& state = states.at(Key(resource.namespace_(), resource.id()));
      if (put->expected_revision) {
        if (auto s = CheckExpected(resource.namespace_(), resource.id(), state.current,
                                   *put->expected_revision);
            !s.ok()) {
          return s;
        }
      }
      changes_something =
          changes_something || !state.current || state.current->sha256 != put->content_hash;
      put_states[i] = &state;
    } else {
      const auto& drop = std::get<DropOp>(operation);
      for (const std::string& id : drop.ids) {
        KeyState& state = states.at(Key(drop.namespace_, id));
        if (auto it = drop.expected_revisions.find(id); it != drop.expected_revisions.end()) {
          if (auto s = CheckExpected(drop.namespace_, id, state.current, it->second); !s.ok()) {
            return s;
          }
        }
        if (state.current) drop_states[i].push_back(&state);
      }
      changes_something = changes_something || !drop_states[i].empty();
    }
  }

  MutationResult result;
  result.revision = changes_something ? clock.next_revision : 0;
  for (size_t i = 0; i < mutation.operations.size(); ++i) {
    if (const auto* put = std::get_if<PutOp>(&mutation.operations[i])) {
      KeyState& state = *put_states[i];
      PutOutcome outcome;
      if (state.current && state.current->sha256 == put->content_hash) {
        outcome.unchanged = true;
        outcome.version = MakeVersion(put->content_hash, state.current->revision,
                                      state.current->committed_us);
      } else {
        writes.changes.push_back({result.revision, &put->resource, &put->content_hash, false});
        outcome.created = !state.current;
        outcome.version = MakeVersion(put->content_hash, result.revision, clock.committed_us);
        state.current = CurrentRow{put->content_hash, result.revision, clock.committed_us};
        state.written = put;
        state.touched = true;
      }
      result.outcomes.emplace_back(std::move(outcome));
    } else {
      DropOutcome outcome;
      for (KeyState* state : drop_states[i]) {
        if (state->written) {
          writes.changes.push_back(
              {result.revision, &state->written->resource, &state->written->content_hash, true});
        } else {
          writes.stored_drops.push_back({&state->ns, &state->id, result.revision});
        }
        state->current.reset();
        state->written = nullptr;
        state->touched = true;
        outcome.dropped_ids.push_back(state->id);
      }
      result.outcomes.emplace_back(std::move(outcome));
    }
  }
  return result;
}

// Sends the batch's writes in one statement (sql::kWriteBatch): the change
// rows, the final state of each key the batch touched (deleted, or its last
// put), the new head revision and the NOTIFY.
void WriteAll(pqxx::work& tx, const KeyStates& states, const BatchWrites& writes,
              const TransactionClock& clock, int64_t last_revision) {
  PgArrayLiteral drop_namespaces, drop_ids, drop_revisions;
  for (const auto& drop : writes.stored_drops) {
    drop_namespaces.AddText(*drop.ns);
    drop_ids.AddText(*drop.id);
    drop_revisions.AddInt(drop.revision);
  }
  PgArrayLiteral revisions, namespaces, ids, dropped, names, type_urls, specs, hashes;
  for (const auto& change : writes.changes) {
    revisions.AddInt(change.revision);
    namespaces.AddText(change.resource->namespace_());
    ids.AddText(change.resource->id());
    dropped.AddBool(change.dropped);
    names.AddText(change.resource->name());
    type_urls.AddText(change.resource->spec().type_url());
    specs.AddBytea(change.resource->spec().value());
    hashes.AddText(*change.sha256);
  }
  PgArrayLiteral gone_namespaces, gone_ids;
  PgArrayLiteral put_namespaces, put_ids, put_names, put_type_urls, put_specs, put_hashes,
      put_revisions;
  for (const auto& [key, state] : states) {
    if (!state.touched) continue;
    if (!state.current) {
      gone_namespaces.AddText(state.ns);
      gone_ids.AddText(state.id);
      continue;
    }
    const auto& resource = state.written->resource;
    put_namespaces.AddText(state.ns);
    put_ids.AddText(state.id);
    put_names.AddText(resource.name());
    put_type_urls.AddText(resource.spec().type_url());
    put_specs.AddBytea(resource.spec().value());
    put_hashes.AddText(state.written->content_hash);
    put_revisions.AddInt(state.current->revision);
  }
  tx.exec_prepared(sql::kWriteBatch, drop_namespaces.Finish(), drop_ids.Finish(),
                   drop_revisions.Finish(), revisions.Finish(), namespaces.Finish(), ids.Finish(),
                   dropped.Finish(), names.Finish(), type_urls.Finish(), specs.Finish(),
                   hashes.Finish(), gone_namespaces.Finish(), gone_ids.Finish(),
                   put_namespaces.Finish(), put_ids.Finish(), put_names.Finish(),
                   put_type_urls.Finish(), put_specs.Finish(), put_hashes.Finish(),
                   put_revisions.Finish(), clock.committed_at, last_revision);
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
    KeyStates states = ReadKeyStates(tx, batch);
    BatchWrites writes;
    for (auto& pending : batch) {
      outcomes.push_back(PlanMutation(pending.mutation, clock, states, writes));
      if (outcomes.back().ok() && outcomes.back()->revision != 0) ++clock.next_revision;
    }
    const int64_t last_revision = clock.next_revision - 1;
    if (last_revision == locked_revision) {
      tx.abort();  // nothing to write; outcomes are no-ops or failed preconditions
      return absl::OkStatus();
    }
    WriteAll(tx, states, writes, clock, last_revision);
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
