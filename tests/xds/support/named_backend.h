#pragma once
// A gRPC backend on a free loopback port whose health service answers Check
// with the header "x-backend: <name>", so that a client can tell who served
// each call.
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

namespace protomesh::testing {

class NamedBackend {
 public:
  explicit NamedBackend(std::string name);
  ~NamedBackend();

  int port() const { return port_; }  // 0 when the server did not start.

 private:
  class Service;
  std::unique_ptr<Service> service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace protomesh::testing
