#pragma once
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

namespace protomesh::client {

// A channel to the store for long-lived watchers, tuned so that a store that
// restarts is reconnected to within about a second (gRPC's defaults can take
// many seconds, and up to two minutes after repeated failures).
// `credentials`: src/common/tls_credentials makes them from PEM files;
// `tls_server_name`: the name to verify in the store's certificate (empty:
// the host of `address`).
std::shared_ptr<grpc::Channel> CreateStoreChannel(
    const std::string& address, const std::shared_ptr<grpc::ChannelCredentials>& credentials,
    const std::string& tls_server_name = "");

}  // namespace protomesh::client
