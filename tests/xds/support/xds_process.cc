#include "tests/xds/support/xds_process.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "tests/support/http_get.h"
#include "tests/support/wait.h"

namespace protomesh::testing {

absl::StatusOr<std::unique_ptr<XdsProcess>> XdsProcess::Start(
    const std::string& store_address, const std::string& ns, std::vector<std::string> extra_args) {
  std::unique_ptr<XdsProcess> xds(new XdsProcess());
  xds->grpc_port_ = FreePort();
  xds->admin_port_ = FreePort();
  std::vector<std::string> argv = {PROTOMESH_XDS_BIN,
                                   absl::StrCat("--grpc-listen=127.0.0.1:", xds->grpc_port_),
                                   absl::StrCat("--admin-listen=127.0.0.1:", xds->admin_port_),
                                   "--store-address=" + store_address,
                                   "--namespace=" + ns,
                                   "--log-level=debug",
                                   "--shutdown-grace=2s"};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  auto process = ChildProcess::Start(argv);
  if (!process.ok()) return process.status();
  xds->process_ = *std::move(process);
  const bool ready = WaitUntil(
      [&] { return !xds->process_->Running() || xds->AdminGet("/readyz").first == 200; },
      std::chrono::seconds(20));
  if (!ready || !xds->process_->Running()) {
    return absl::InternalError(
        absl::StrCat("protomesh-xds did not become ready:\n", xds->Output()));
  }
  return xds;
}

std::string XdsProcess::grpc_address() const { return absl::StrCat("127.0.0.1:", grpc_port_); }

std::pair<int, std::string> XdsProcess::AdminGet(const std::string& path) const {
  return HttpGet(admin_port_, path);
}

std::string XdsProcess::Bootstrap(const std::string& node_id,
                                  const std::string& node_cluster) const {
  // grpc-js-xds rejects a node without "locality"; gRPC C++ does not mind it.
  return absl::StrCat(R"({"xds_servers":[{"server_uri":")", grpc_address(),
                      R"(","channel_creds":[{"type":"insecure"}],"server_features":["xds_v3"]}],)",
                      R"("node":{"id":")", node_id, R"(","cluster":")", node_cluster,
                      R"(","locality":{}}})");
}

absl::StatusOr<int> XdsProcess::Terminate() { return process_->Terminate(); }

std::string XdsProcess::Output() const { return process_->Output(); }

}  // namespace protomesh::testing
