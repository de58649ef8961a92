#include "src/store/db_executor.h"

#include "absl/strings/str_cat.h"
#include "src/store/pg_errors.h"
#include "src/store/sql.h"

namespace protomesh::store {

absl::StatusOr<std::unique_ptr<pqxx::connection>> OpenConnection(const std::string& url) {
  try {
    auto connection = std::make_unique<pqxx::connection>(url);
    sql::PrepareStatements(*connection);
    return connection;
  } catch (...) {
    return StatusFromCurrentException("connecting");
  }
}

DbExecutor::DbExecutor(std::string url, int connections, size_t max_queued)
    : url_(std::move(url)), max_queued_(max_queued) {
  for (int i = 0; i < connections; ++i) workers_.emplace_back([this] { Work(); });
}

DbExecutor::~DbExecutor() { Shutdown(); }

void DbExecutor::Shutdown() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& worker : workers_) worker.join();
}

void DbExecutor::Submit(Task task, Done done) {
  bool stopping;
  {
    std::lock_guard lock(mu_);
    stopping = stopping_;
    if (!stopping_ && queue_.size() < max_queued_) {
      queue_.push_back({std::move(task), std::move(done)});
      wake_.notify_one();
      return;
    }
  }
  done(stopping ? absl::UnavailableError("the store is shutting down; retry on another replica")
                : absl::ResourceExhaustedError(
                      "the store has too many database reads queued; retry with backoff"));
}

absl::Status DbExecutor::RunWithReconnect(std::unique_ptr<pqxx::connection>& connection,
                                          const Task& task) {
  absl::Status status;
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!connection) {
      auto opened = OpenConnection(url_);
      if (!opened.ok()) return opened.status();
      connection = *std::move(opened);
    }
    try {
      status = task(*connection);
    } catch (...) {
      status = StatusFromCurrentException("running a query");
    }
    if (!IsConnectionLoss(status)) return status;
    connection.reset();
  }
  return status;
}

void DbExecutor::Work() {
  std::unique_ptr<pqxx::connection> connection;
  while (true) {
    Item item;
    {
      std::unique_lock lock(mu_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      item = std::move(queue_.front());
      queue_.pop_front();
    }
    item.done(RunWithReconnect(connection, item.task));
  }
}

}  // namespace protomesh::store
