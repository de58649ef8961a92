#include "tests/xds/support/named_backend.h"

#include <chrono>
#include <utility>

#include "grpc/health/v1/health.grpc.pb.h"

namespace protomesh::testing {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

class NamedBackend::Service final : public grpc::health::v1::Health::Service {
 public:
  explicit Service(std::string name) : name_(std::move(name)) {}

  grpc::Status Check(grpc::ServerContext* context, const HealthCheckRequest*,
                     HealthCheckResponse* response) override {
    context->AddInitialMetadata("x-backend", name_);
    response->set_status(HealthCheckResponse::SERVING);
    return grpc::Status::OK;
  }

 private:
  const std::string name_;
};

NamedBackend::NamedBackend(std::string name)
    : service_(std::make_unique<Service>(std::move(name))) {
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
  builder.RegisterService(service_.get());
  server_ = builder.BuildAndStart();
}

NamedBackend::~NamedBackend() {
  if (server_ != nullptr) {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  }
}

}  // namespace protomesh::testing
