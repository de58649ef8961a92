#pragma once
// A gRPC channel to one of Protomesh's servers (the store, protomesh-xds)
// from protomeshctl's settings: TLS when any TLS setting is given
// (src/common/tls_credentials).
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "src/ctl/settings.h"

namespace protomesh::ctl {

// Whether any TLS setting is given (then the channel uses TLS).
bool UsesTls(const Settings& settings);

// Reads the TLS files (a missing one is a usage error); connects lazily.
absl::StatusOr<std::shared_ptr<grpc::Channel>> CreateChannel(const Settings& settings,
                                                             const std::string& address);

}  // namespace protomesh::ctl
