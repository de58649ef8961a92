#include "tests/support/store_process.h"

#include "absl/strings/str_cat.h"
#include "src/common/metrics.h"
#include "tests/support/http_get.h"
#include "tests/support/postgres_server.h"
#include "tests/support/wait.h"

namespace protomesh::testing {

std::string StoreBinary() { return PROTOMESH_STORE_BIN; }

absl::StatusOr<std::unique_ptr<StoreProcess>> StoreProcess::Start(
    const std::string& database_url, std::vector<std::string> extra_args) {
  std::unique_ptr<StoreProcess> store(new StoreProcess());
  store->database_url_ = database_url;
  store->extra_args_ = std::move(extra_args);
  store->grpc_port_ = FreePort();
  store->admin_port_ = FreePort();
  if (auto s = store->Launch(); !s.ok()) return s;
  return store;
}

absl::StatusOr<std::unique_ptr<StoreProcess>> StoreProcess::StartWithArgs(
    std::vector<std::string> args) {
  return Start("", std::move(args));
}

absl::StatusOr<std::unique_ptr<StoreProcess>> StoreProcess::StartOnFreshDatabase(
    const std::string& database, std::vector<std::string> extra_args) {
  auto& postgres = SharedPostgres();
  if (auto s = postgres.CreateDatabase(database); !s.ok()) return s;
  return Start(postgres.Url(database), std::move(extra_args));
}

absl::Status StoreProcess::Launch() {
  std::vector<std::string> argv = {StoreBinary(),
                                   absl::StrCat("--grpc-listen=127.0.0.1:", grpc_port_),
                                   absl::StrCat("--admin-listen=127.0.0.1:", admin_port_),
                                   "--log-level=debug",
                                   "--shutdown-grace=2s"};
  if (!database_url_.empty()) argv.insert(argv.begin() + 1, "--database-url=" + database_url_);
  argv.insert(argv.end(), extra_args_.begin(), extra_args_.end());
  auto process = ChildProcess::Start(argv);
  if (!process.ok()) return process.status();
  process_ = *std::move(process);
  bool ready = WaitUntil(
      [&] { return !process_->Running() || AdminGet("/readyz").first == 200; },
      std::chrono::seconds(60));
  if (!ready || !process_->Running()) {
    return absl::InternalError(absl::StrCat("protomesh-store did not become ready:\n", Output()));
  }
  channel_ = grpc::CreateChannel(grpc_address(), grpc::InsecureChannelCredentials());
  return absl::OkStatus();
}

std::unique_ptr<protomesh::services::v1::ResourceStore::Stub> StoreProcess::NewStub() const {
  return protomesh::services::v1::ResourceStore::NewStub(channel_);
}

std::string StoreProcess::grpc_address() const { return absl::StrCat("127.0.0.1:", grpc_port_); }

std::pair<int, std::string> StoreProcess::AdminGet(const std::string& path) const {
  return HttpGet(admin_port_, path);
}

double StoreProcess::Metric(const std::string& series) const {
  return metrics::FindSample(AdminGet("/metrics").second, series).value_or(-1);
}

absl::StatusOr<int> StoreProcess::Terminate() { return process_->Terminate(); }

void StoreProcess::Kill() { process_->Kill(); }

absl::Status StoreProcess::Restart() {
  if (process_) {
    previous_output_ += process_->Output();
    if (process_->Running()) process_->Kill();
  }
  return Launch();
}

std::string StoreProcess::Output() const {
  return previous_output_ + (process_ ? process_->Output() : std::string());
}

}  // namespace protomesh::testing
