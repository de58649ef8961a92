#pragma once
// Helpers for tests that talk to a store: resources, calls, and a watch
// stream recorder that tests wait on (condition variable, no sleeps).
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "api/services/v1/resource_store.grpc.pb.h"

namespace protomesh::testing {

namespace svc = protomesh::services::v1;
using protomesh::types::v1::Resource;

std::string NewUuid();
// A resource whose spec is a google.protobuf.StringValue holding `payload`.
Resource MakeResource(const std::string& ns, const std::string& name,
                      const std::string& payload = "v1", const std::string& id = "");
inline constexpr const char* kStringValueType = "type.googleapis.com/google.protobuf.StringValue";
std::string PayloadOf(const Resource& resource);

absl::StatusOr<svc::PutResourceResponse> Put(svc::ResourceStore::Stub& stub,
                                             const Resource& resource,
                                             std::optional<int64_t> expected_revision = {});
absl::StatusOr<Resource> Get(svc::ResourceStore::Stub& stub, const std::string& ns,
                             const std::string& id, int64_t revision = 0);
absl::StatusOr<svc::DropResourcesResponse> Drop(svc::ResourceStore::Stub& stub,
                                                const std::string& ns,
                                                const std::vector<std::string>& ids);
absl::StatusOr<svc::ApplyResponse> Apply(svc::ResourceStore::Stub& stub,
                                         const svc::ApplyRequest& request);
absl::StatusOr<svc::ListResourcesResponse> List(svc::ResourceStore::Stub& stub,
                                                const svc::ListResourcesRequest& request);
// Every page of a listing.
absl::StatusOr<std::vector<Resource>> ListAll(svc::ResourceStore::Stub& stub, const std::string& ns,
                                              int page_size = 0);

// Records every response of one Watch stream, read on its own thread.
class WatchRecorder {
 public:
  WatchRecorder(std::shared_ptr<grpc::Channel> channel, svc::WatchResourcesRequest request);
  ~WatchRecorder();  // cancels the stream

  // Waits until `predicate` holds over the responses so far (it is checked
  // on every new response) or the stream ends; returns whether it held.
  bool WaitFor(const std::function<bool(const std::vector<svc::WatchResourcesResponse>&)>& predicate,
               std::chrono::milliseconds timeout = std::chrono::seconds(20));
  bool WaitForEndOfList(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // Waits for a response at or above `revision`.
  bool WaitForRevision(int64_t revision, std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // Waits until the stream ends; its status.
  std::optional<grpc::Status> WaitForEnd(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  std::vector<svc::WatchResourcesResponse> responses() const;
  void Cancel();

 private:
  grpc::ClientContext context_;
  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::vector<svc::WatchResourcesResponse> responses_;
  std::optional<grpc::Status> status_;
  std::thread thread_;
};

}  // namespace protomesh::testing
