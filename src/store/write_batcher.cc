#include "src/store/write_batcher.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <tuple>
#include <utility>

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

using protomesh::types::v1::Resource;
using protomesh::types::v1::Version;

// The columns protomesh_write_batch returns, one row per entry.
enum Column {
  kMutationRevision = 0,
  kFailed,
  kKeyExisted,
  kKeyRevision,
  kKeyCommittedUs,
  kUnchanged,
  kCommittedUs,
  kDropOfEntry,
  kDroppedName,
  kDroppedTypeUrl,
  kDroppedSpec,
  kDroppedSha256,
};

// One protomesh_write_batch call: its array arguments, and which operation
// of which mutation each entry (each row of the answer) stands for.
struct BatchCall {
  struct Entry {
    size_t mutation;
    size_t operation;
    const std::string* drop_id;  // null for a put
  };
  std::vector<Entry> entries;
  // Mutation m's entries are entries[first_entry[m] .. first_entry[m + 1]).
  std::vector<size_t> first_entry;
  using Type = PgBinaryArray::Type;
  PgBinaryArray key_namespaces{Type::kText}, key_ids{Type::kUuid};
  PgBinaryArray mutations{Type::kInt4}, keys{Type::kInt4}, puts{Type::kBool},
      expected{Type::kInt8};
  PgBinaryArray names{Type::kText}, type_urls{Type::kText}, specs{Type::kBytea},
      hashes{Type::kText};
};

template <typename Batch>  // std::vector<WriteBatcher::Pending>
BatchCall BuildCall(const Batch& batch) {
  BatchCall call;
  absl::flat_hash_map<std::pair<absl::string_view, absl::string_view>, size_t> key_numbers;
  auto add_entry = [&](size_t m, size_t o, const std::string& ns, const std::string& id,
                       const std::string* drop_id) {
    auto [it, inserted] = key_numbers.try_emplace({ns, id}, key_numbers.size() + 1);
    if (inserted) {
      call.key_namespaces.AddText(ns);
      call.key_ids.AddUuid(id);
    }
    call.entries.push_back({m, o, drop_id});
    call.mutations.AddInt4(static_cast<int32_t>(m + 1));
    call.keys.AddInt4(static_cast<int32_t>(it->second));
    call.puts.AddBool(drop_id == nullptr);
  };
  for (size_t m = 0; m < batch.size(); ++m) {
    call.first_entry.push_back(call.entries.size());
    const auto& operations = batch[m].mutation.operations;
    for (size_t o = 0; o < operations.size(); ++o) {
      if (const auto* put = std::get_if<PutOp>(&operations[o])) {
        const Resource& resource = put->resource;
        add_entry(m, o, resource.namespace_(), resource.id(), nullptr);
        if (put->expected_revision) {
          call.expected.AddInt8(*put->expected_revision);
        } else {
          call.expected.AddNull();
        }
        call.names.AddText(resource.name());
        call.type_urls.AddText(resource.spec().type_url());
        call.specs.AddBytes(resource.spec().value());
        call.hashes.AddText(put->content_hash);
        continue;
      }
      const auto& drop = std::get<DropOp>(operations[o]);
      for (const std::string& id : drop.ids) {
        add_entry(m, o, drop.namespace_, id, &id);
        if (auto it = drop.expected_revisions.find(id); it != drop.expected_revisions.end()) {
          call.expected.AddInt8(it->second);
        } else {
          call.expected.AddNull();
        }
        call.names.AddText("");
        call.type_urls.AddText("");
        call.specs.AddBytes("");
        call.hashes.AddText("");
      }
    }
  }
  call.first_entry.push_back(call.entries.size());
  return call;
}

void SetTimestamp(int64_t committed_us, Version* version) {
  version->mutable_timestamp()->set_seconds(committed_us / 1000000);
  version->mutable_timestamp()->set_nanos(static_cast<int32_t>(committed_us % 1000000) * 1000);
}

Version MakeVersion(const std::string& sha256, int64_t revision, int64_t committed_us) {
  Version version;
  version.set_sha256_hash(sha256);
  version.set_index(revision);
  SetTimestamp(committed_us, &version);
  return version;
}

// The resource as its change row holds it, field by field, as the change
// feed would read it back (ResourceFromRow).
Resource StoredResource(const std::string& ns, const std::string& id, const std::string& name,
                        const std::string& type_url, std::string spec, const std::string& sha256,
                        int64_t revision, int64_t committed_us) {
  Resource resource;
  resource.set_namespace_(ns);
  resource.set_id(id);
  resource.set_name(name);
  resource.mutable_spec()->set_type_url(type_url);
  resource.mutable_spec()->set_value(std::move(spec));
  *resource.mutable_version() = MakeVersion(sha256, revision, committed_us);
  return resource;
}

absl::Status PreconditionFailed(const std::string& ns, const std::string& id,
                                std::optional<int64_t> current, int64_t expected) {
  const std::string key = absl::StrCat(ns, "/", id);
  if (expected == 0) {
    return absl::AbortedError(absl::StrCat("resource ", key, " already exists at revision ",
                                           current.value_or(0),
                                           "; expected_revision 0 means create only"));
  }
  if (!current) {
    return absl::AbortedError(absl::StrCat("resource ", key,
                                           " does not exist; expected it at revision ", expected));
  }
  return absl::AbortedError(absl::StrCat("resource ", key, " is at revision ", *current,
                                         ", not the expected revision ", expected,
                                         "; read it again and retry"));
}

// The answer to mutation m, from its entries' rows.
absl::StatusOr<MutationResult> MutationOutcome(const Mutation& mutation, const BatchCall& call,
                                               size_t m, const pqxx::result& rows) {
  const size_t begin = call.first_entry[m];
  const size_t end = call.first_entry[m + 1];
  auto resource_of = [&](const BatchCall::Entry& entry)
      -> std::pair<const std::string&, const std::string&> {
    const Operation& operation = mutation.operations[entry.operation];
    if (const auto* put = std::get_if<PutOp>(&operation)) {
      return {put->resource.namespace_(), put->resource.id()};
    }
    return {std::get<DropOp>(operation).namespace_, *entry.drop_id};
  };
  for (size_t e = begin; e < end; ++e) {
    if (!rows[e][kFailed].as<bool>()) continue;
    const BatchCall::Entry& entry = call.entries[e];
    const Operation& operation = mutation.operations[entry.operation];
    int64_t expected = 0;
    if (const auto* put = std::get_if<PutOp>(&operation)) {
      expected = put->expected_revision.value_or(0);
    } else {
      expected = std::get<DropOp>(operation).expected_revisions.at(*entry.drop_id);
    }
    std::optional<int64_t> current;
    if (rows[e][kKeyExisted].as<bool>()) current = rows[e][kKeyRevision].as<int64_t>();
    auto [ns, id] = resource_of(entry);
    return PreconditionFailed(ns, id, current, expected);
  }

  MutationResult result;
  for (const Operation& operation : mutation.operations) {
    if (std::holds_alternative<PutOp>(operation)) {
      result.outcomes.emplace_back(PutOutcome{});
    } else {
      result.outcomes.emplace_back(DropOutcome{});
    }
  }
  if (begin == end) return result;  // drops of no ids
  const pqxx::row first = rows[begin];
  if (first[kMutationRevision].is_null()) {
    return absl::InternalError("protomesh_write_batch failed a mutation without saying why");
  }
  result.revision = first[kMutationRevision].as<int64_t>();
  for (size_t e = begin; e < end; ++e) {
    const BatchCall::Entry& entry = call.entries[e];
    const pqxx::row row = rows[e];
    const bool existed = row[kKeyExisted].as<bool>();
    auto& outcome = result.outcomes[entry.operation];
    if (const auto* put = std::get_if<PutOp>(&mutation.operations[entry.operation])) {
      auto& put_outcome = std::get<PutOutcome>(outcome);
      if (row[kUnchanged].as<bool>()) {
        put_outcome.unchanged = true;
        put_outcome.version = MakeVersion(put->content_hash, row[kKeyRevision].as<int64_t>(),
                                          row[kKeyCommittedUs].as<int64_t>());
      } else {
        put_outcome.created = !existed;
        put_outcome.version =
            MakeVersion(put->content_hash, result.revision, row[kCommittedUs].as<int64_t>());
      }
    } else if (existed) {
      std::get<DropOutcome>(outcome).dropped_ids.push_back(*entry.drop_id);
    }
  }
  return result;
}

// Every change the call committed, as the change log holds it.
template <typename Batch>
CommittedChanges ChangesOf(const Batch& batch, const BatchCall& call, const pqxx::result& rows) {
  CommittedChanges committed;
  auto put_of = [&](size_t e) -> const PutOp& {
    const BatchCall::Entry& entry = call.entries[e];
    return std::get<PutOp>(batch[entry.mutation].mutation.operations[entry.operation]);
  };
  auto add = [&](int64_t revision, bool dropped, Resource resource) {
    ChangeRecord& record = committed.records.emplace_back();
    record.revision = revision;
    record.dropped = dropped;
    record.resource = std::move(resource);
  };
  for (size_t e = 0; e < call.entries.size(); ++e) {
    const pqxx::row row = rows[e];
    if (row[kMutationRevision].is_null()) continue;
    const int64_t revision = row[kMutationRevision].as<int64_t>();
    if (revision == 0) continue;
    if (committed.first_revision == 0 || revision < committed.first_revision) {
      committed.first_revision = revision;
    }
    committed.last_revision = std::max(committed.last_revision, revision);
    const int64_t committed_us = row[kCommittedUs].as<int64_t>();
    const BatchCall::Entry& entry = call.entries[e];
    if (entry.drop_id == nullptr) {
      if (row[kUnchanged].as<bool>()) continue;
      const PutOp& put = put_of(e);
      const Resource& r = put.resource;
      add(revision, false,
          StoredResource(r.namespace_(), r.id(), r.name(), r.spec().type_url(), r.spec().value(),
                         put.content_hash, revision, committed_us));
    } else if (row[kKeyExisted].as<bool>()) {
      const auto& drop = std::get<DropOp>(batch[entry.mutation].mutation.operations[entry.operation]);
      if (!row[kDropOfEntry].is_null()) {
        // A drop of what this batch put: the change row holds that put.
        const PutOp& put = put_of(row[kDropOfEntry].as<size_t>() - 1);
        const Resource& r = put.resource;
        add(revision, true,
            StoredResource(r.namespace_(), r.id(), r.name(), r.spec().type_url(),
                           r.spec().value(), put.content_hash, revision, committed_us));
      } else {
        pqxx::binarystring spec(row[kDroppedSpec]);
        add(revision, true,
            StoredResource(drop.namespace_, *entry.drop_id, row[kDroppedName].c_str(),
                           row[kDroppedTypeUrl].c_str(), spec.str(), row[kDroppedSha256].c_str(),
                           revision, committed_us));
      }
    }
  }
  std::sort(committed.records.begin(), committed.records.end(),
            [](const ChangeRecord& a, const ChangeRecord& b) {
              return std::forward_as_tuple(a.revision, a.resource.namespace_(), a.resource.id()) <
                     std::forward_as_tuple(b.revision, b.resource.namespace_(), b.resource.id());
            });
  return committed;
}

}  // namespace

WriteBatcher::WriteBatcher(std::string url, std::string writer_id, WriteBatcherOptions options,
                           StoreMetrics* metrics, CommitListener* listener)
    : url_(std::move(url)),
      writer_id_(std::move(writer_id)),
      options_(options),
      metrics_(metrics),
      listener_(listener),
      reply_thread_([this] { SendReplies(); }),
      thread_([this] { Run(); }) {}

WriteBatcher::~WriteBatcher() { Shutdown(); }

void WriteBatcher::Shutdown() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
  {
    std::lock_guard lock(reply_mu_);
    replies_stopping_ = true;
  }
  reply_wake_.notify_all();
  reply_thread_.join();
}

void WriteBatcher::SendReplies() {
  std::vector<Reply> replies;
  while (true) {
    {
      std::unique_lock lock(reply_mu_);
      reply_wake_.wait(lock, [&] { return replies_stopping_ || !replies_.empty(); });
      if (replies_.empty()) return;  // stopping, and every reply is sent
      replies.swap(replies_);
    }
    for (auto& reply : replies) reply.done(std::move(reply.result));
    replies.clear();
  }
}

void WriteBatcher::Deliver(std::vector<Pending>& batch, Outcomes& outcomes) {
  bool more_waiting;
  {
    std::lock_guard lock(mu_);
    more_waiting = !queue_.empty();
  }
  if (!more_waiting) {
    for (size_t i = 0; i < batch.size(); ++i) batch[i].done(std::move(outcomes[i]));
    return;
  }
  {
    std::lock_guard lock(reply_mu_);
    for (size_t i = 0; i < batch.size(); ++i) {
      replies_.push_back({std::move(batch[i].done), std::move(outcomes[i])});
    }
  }
  reply_wake_.notify_one();
}

void WriteBatcher::Submit(Mutation mutation, MutationCallback done) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_ && queue_.size() < options_.max_queued_mutations) {
      queue_.push_back({std::move(mutation), std::move(done)});
      metrics_->writes_queued.Add(1);
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
      metrics_->writes_queued.Add(-static_cast<double>(n));
    }
    Process(batch);
  }
}

absl::Status WriteBatcher::EnsureConnected() {
  if (connection_) {
    try {
      // Reads whatever the server sent since the last call without waiting:
      // a connection it closed meanwhile (a restart) fails here, before
      // anything is sent on it.
      connection_->get_notifs();
      if (connection_->is_open()) return absl::OkStatus();
    } catch (...) {
    }
    connection_.reset();
  }
  auto opened = OpenConnection(url_);
  if (!opened.ok()) return opened.status();
  try {
    pqxx::nontransaction tx(**opened);
    tx.exec(sql::kWriterSessionSql);
    pqxx::row identity = tx.exec_prepared1(sql::kBackendIdentity);
    backend_pid_ = identity[0].as<int64_t>();
    backend_start_ = identity[1].c_str();
  } catch (...) {
    return StatusFromCurrentException("connecting");
  }
  connection_ = *std::move(opened);
  return absl::OkStatus();
}

absl::StatusOr<bool> WriteBatcher::BatchCommitted(int64_t lost_pid, const std::string& lost_start,
                                                  int64_t batch_number) {
  if (auto s = EnsureConnected(); !s.ok()) return s;
  try {
    pqxx::nontransaction tx(*connection_);
    // Each statement is its own transaction, with a fresh view of
    // pg_stat_activity: once the process is gone, its transaction has
    // either committed or rolled back for good.
    tx.exec_prepared(sql::kEndBackend, lost_pid, lost_start);
    if (tx.exec_prepared1(sql::kBackendAlive, lost_pid, lost_start)[0].as<int64_t>() != 0) {
      return absl::UnavailableError(absl::StrCat(
          "the lost connection's server process (pid ", lost_pid, ") did not end"));
    }
    pqxx::result row = tx.exec_prepared(sql::kWriterBatch, writer_id_);
    return !row.empty() && row[0][0].as<int64_t>() == batch_number;
  } catch (...) {
    absl::Status status = StatusFromCurrentException("finding out whether a write committed");
    if (IsConnectionLoss(status)) connection_.reset();
    return status;
  }
}

absl::Status WriteBatcher::ExecuteBatch(std::vector<Pending>& batch, Outcomes& outcomes,
                                        CommittedChanges& committed, bool& nothing_committed) {
  nothing_committed = true;
  if (auto s = EnsureConnected(); !s.ok()) return s;
  const std::string what = absl::StrCat("committing ", batch.size(), " write(s)");
  const BatchCall call = BuildCall(batch);
  const int64_t batch_number = ++batch_number_;
  const int64_t pid = backend_pid_;
  const std::string started_at = backend_start_;
  auto started = std::chrono::steady_clock::now();
  absl::Status status;
  pqxx::result rows;
  try {
    pqxx::nontransaction tx(*connection_);
    auto binary = [](const PgBinaryArray& array) { return pqxx::binarystring(array.Finish()); };
    rows = tx.exec_prepared(sql::kWriteBatch, writer_id_, batch_number,
                            binary(call.key_namespaces), binary(call.key_ids),
                            binary(call.mutations), binary(call.keys), binary(call.puts),
                            binary(call.expected), binary(call.names), binary(call.type_urls),
                            binary(call.specs), binary(call.hashes));
  } catch (...) {
    status = StatusFromCurrentException(what);
  }
  if (!status.ok()) {
    if (!IsConnectionLoss(status)) return status;  // the call failed, and its transaction with it
    // Lost with the call in flight: it may still commit on the server.
    connection_.reset();
    auto applied = BatchCommitted(pid, started_at, batch_number);
    if (applied.ok() && !*applied) return status;  // nothing committed: may run again
    nothing_committed = false;
    if (listener_) listener_->CommitOutcomeUnknown();
    if (applied.ok()) {
      spdlog::warn("a write batch committed, but its connection was lost before the answer: {}",
                   status.message());
      return InDoubtError(what, absl::StrCat("the transaction committed; ", status.message()));
    }
    spdlog::warn("a write batch's connection was lost in flight ({}); whether it committed is "
                 "unknown: {}",
                 status.message(), applied.status().message());
    return InDoubtError(what, absl::StrCat(status.message(), "; whether it committed is unknown: ",
                                           applied.status().message()));
  }

  // The call has committed (when it wrote anything).
  nothing_committed = false;
  try {
    if (rows.size() != call.entries.size()) {
      throw std::runtime_error(absl::StrCat("protomesh_write_batch answered ", rows.size(),
                                            " rows for ", call.entries.size(), " entries"));
    }
    outcomes.clear();
    for (size_t m = 0; m < batch.size(); ++m) {
      outcomes.push_back(MutationOutcome(batch[m].mutation, call, m, rows));
    }
    committed = ChangesOf(batch, call, rows);
  } catch (...) {
    if (listener_) listener_->CommitOutcomeUnknown();
    return absl::InternalError(absl::StrCat(
        "the writes may have been applied, but their outcome could not be read; read them back: ",
        StatusFromCurrentException("reading a write batch's answer").message()));
  }
  metrics_->commit_seconds.Observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  metrics_->batch_mutations.Observe(static_cast<double>(batch.size()));
  return absl::OkStatus();
}

void WriteBatcher::Process(std::vector<Pending>& batch) {
  Outcomes outcomes;
  CommittedChanges committed;
  bool nothing_committed = true;
  absl::Status status = ExecuteBatch(batch, outcomes, committed, nothing_committed);
  // A connection lost before the batch could commit: run it once more on a
  // new connection.
  if (IsConnectionLoss(status) && nothing_committed) {
    status = ExecuteBatch(batch, outcomes, committed, nothing_committed);
  }
  if (status.ok()) {
    if (listener_ && !committed.records.empty()) listener_->Committed(std::move(committed));
    Deliver(batch, outcomes);
    return;
  }
  // A statement error aborts the whole transaction; run every mutation on
  // its own so that only the one at fault fails.
  if (!IsConnectionLoss(status) && nothing_committed && batch.size() > 1) {
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
