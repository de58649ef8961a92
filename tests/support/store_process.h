#pragma once
// A real protomesh-store process for integration tests, on free loopback
// ports, against a database URL (or whatever StartWithArgs says). Start()
// returns once it serves gRPC and /readyz says ready.
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "api/services/v1/resource_store.grpc.pb.h"
#include "tests/support/child_process.h"

namespace protomesh::testing {

class StoreProcess {
 public:
  static absl::StatusOr<std::unique_ptr<StoreProcess>> Start(
      const std::string& database_url, std::vector<std::string> extra_args = {});
  // Without --database-url: `args` say where the data is (for instance
  // --embedded-postgres-dir).
  static absl::StatusOr<std::unique_ptr<StoreProcess>> StartWithArgs(
      std::vector<std::string> args);

  // Creates `database` afresh on SharedPostgres() and starts a store on it.
  static absl::StatusOr<std::unique_ptr<StoreProcess>> StartOnFreshDatabase(
      const std::string& database, std::vector<std::string> extra_args = {});

  const std::string& database_url() const { return database_url_; }
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  std::unique_ptr<protomesh::services::v1::ResourceStore::Stub> NewStub() const;
  std::string grpc_address() const;
  int grpc_port() const { return grpc_port_; }
  int admin_port() const { return admin_port_; }
  // GET on the admin port; returns {status, body}.
  std::pair<int, std::string> AdminGet(const std::string& path) const;
  // A counter or gauge value from /metrics (the sample line that starts
  // with `series`), or -1 when absent.
  double Metric(const std::string& series) const;

  absl::StatusOr<int> Terminate();  // SIGTERM; the exit code
  void Kill();                       // SIGKILL
  // Starts the binary again on the same ports and arguments.
  absl::Status Restart();
  std::string Output() const;
  ChildProcess& process() { return *process_; }

 private:
  StoreProcess() = default;
  absl::Status Launch();

  std::string database_url_;  // Empty: not passed.
  std::vector<std::string> extra_args_;
  int grpc_port_ = 0;
  int admin_port_ = 0;
  std::unique_ptr<ChildProcess> process_;
  std::shared_ptr<grpc::Channel> channel_;
  std::string previous_output_;
};

// The built binaries (set by CMake).
std::string StoreBinary();

}  // namespace protomesh::testing
