#pragma once
// The store as protomeshctl uses it: a channel from the settings (TLS when
// asked), each call under --timeout, listings and histories with every
// page, and errors in words (see StoreError).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "api/services/v1/resource_store.grpc.pb.h"
#include "src/ctl/settings.h"

namespace protomesh::ctl {

namespace svc = protomesh::services::v1;

class StoreClient {
 public:
  // Reads the TLS files (a missing one is a usage error); connects lazily.
  static absl::StatusOr<std::unique_ptr<StoreClient>> Create(const Settings& settings);

  absl::StatusOr<svc::ApplyResponse> Apply(const svc::ApplyRequest& request);
  // revision 0: the latest state.
  absl::StatusOr<protomesh::types::v1::Resource> Get(const std::string& ns, const std::string& id,
                                                     int64_t revision = 0);

  struct Listing {
    std::vector<protomesh::types::v1::Resource> resources;
    int64_t revision = 0;  // what every page was read at
  };
  // Every page; `revision` 0 is the latest.
  absl::StatusOr<Listing> List(const std::string& ns, const std::vector<std::string>& type_urls = {},
                               const std::string& name_prefix = "", int64_t revision = 0);
  // Every change, newest first.
  absl::StatusOr<std::vector<svc::ResourceChange>> History(const std::string& ns,
                                                           const std::string& id);

  // A Watch stream; no deadline (it runs until cancelled).
  std::unique_ptr<grpc::ClientReader<svc::WatchResourcesResponse>> Watch(
      grpc::ClientContext& context, const svc::WatchResourcesRequest& request);

  // The store's error, in words and with the server when it was not reached.
  absl::Status Error(const grpc::Status& status) const;
  const std::string& server() const { return server_; }

 private:
  StoreClient(std::shared_ptr<grpc::Channel> channel, std::string server, bool tls,
              absl::Duration timeout);
  void SetDeadline(grpc::ClientContext& context) const;

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<svc::ResourceStore::Stub> stub_;
  std::string server_;
  bool tls_;  // Whether the channel uses TLS, for StoreError.
  absl::Duration timeout_;
};

}  // namespace protomesh::ctl
