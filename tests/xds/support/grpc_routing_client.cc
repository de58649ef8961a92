#include "tests/xds/support/grpc_routing_client.h"

#include <chrono>

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"

namespace protomesh::testing {
namespace {

// GRPC_ARG_TEST_ONLY_DO_NOT_USE_IN_PROD_XDS_BOOTSTRAP_CONFIG, from gRPC's
// internal headers: a channel with it gets an xDS client of its own.
constexpr char kBootstrapArg[] = "grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config";

}  // namespace

GrpcRoutingClient::GrpcRoutingClient(const std::string& target, const std::string& bootstrap) {
  grpc::ChannelArguments args;
  args.SetString(kBootstrapArg, bootstrap);
  stub_ = grpc::health::v1::Health::NewStub(
      grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args));
}

absl::StatusOr<CallTally> GrpcRoutingClient::Call(int count) {
  CallTally tally;
  for (int i = 0; i < count; ++i) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
    grpc::health::v1::HealthCheckRequest request;
    grpc::health::v1::HealthCheckResponse response;
    const grpc::Status status = stub_->Check(&context, request, &response);
    if (!status.ok()) {
      ++tally.failures;
      tally.last_error = absl::StrCat(status.error_code(), ": ", status.error_message());
      continue;
    }
    const auto& headers = context.GetServerInitialMetadata();
    auto it = headers.find("x-backend");
    ++tally.backends[it == headers.end() ? "?" : std::string(it->second.data(), it->second.size())];
  }
  return tally;
}

}  // namespace protomesh::testing
