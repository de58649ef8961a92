#pragma once
// A bounded pool of database connections, each owned by one worker thread
// (a pqxx connection belongs to one thread at a time). Tasks run on the
// first free worker; gRPC callback threads never block on the database.
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <pqxx/pqxx>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace protomesh::store {

// Opens a connection with every statement prepared; UNAVAILABLE on failure.
absl::StatusOr<std::unique_ptr<pqxx::connection>> OpenConnection(const std::string& url);

class DbExecutor {
 public:
  // Runs on a worker with its connection. A task must be read-only or
  // idempotent: after a lost connection it runs once more on a new one.
  using Task = std::function<absl::Status(pqxx::connection&)>;
  using Done = std::function<void(absl::Status)>;

  DbExecutor(std::string url, int connections, size_t max_queued);
  ~DbExecutor();  // Finishes queued tasks, then stops.

  // `done` runs on the worker thread. When more than max_queued tasks wait,
  // `done` gets RESOURCE_EXHAUSTED at once.
  void Submit(Task task, Done done);
  void Shutdown();

 private:
  struct Item {
    Task task;
    Done done;
  };
  void Work();
  absl::Status RunWithReconnect(std::unique_ptr<pqxx::connection>& connection, const Task& task);

  const std::string url_;
  const size_t max_queued_;
  std::mutex mu_;  // guards queue_ and stopping_
  std::condition_variable wake_;
  std::deque<Item> queue_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace protomesh::store
