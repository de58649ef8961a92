#include "tests/support/store_test_util.h"

#include <random>

#include "absl/strings/str_format.h"
#include "google/protobuf/wrappers.pb.h"
#include "src/common/grpc_status.h"

namespace protomesh::testing {

std::string NewUuid() {
  static std::mutex mu;
  static std::mt19937_64 rng{std::random_device{}()};
  std::lock_guard lock(mu);
  uint64_t a = rng(), b = rng();
  a = (a & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // variant
  return absl::StrFormat("%08x-%04x-%04x-%04x-%012x", a >> 32, (a >> 16) & 0xffff, a & 0xffff,
                         b >> 48, b & 0xffffffffffffULL);
}

Resource MakeResource(const std::string& ns, const std::string& name, const std::string& payload,
                      const std::string& id) {
  Resource resource;
  resource.set_namespace_(ns);
  resource.set_id(id.empty() ? NewUuid() : id);
  resource.set_name(name);
  google::protobuf::StringValue value;
  value.set_value(payload);
  resource.mutable_spec()->PackFrom(value);
  return resource;
}

std::string PayloadOf(const Resource& resource) {
  google::protobuf::StringValue value;
  resource.spec().UnpackTo(&value);
  return value.value();
}

namespace {
template <typename Response, typename Call>
absl::StatusOr<Response> Unary(Call call) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  Response response;
  grpc::Status status = call(&context, &response);
  if (!status.ok()) return FromGrpcStatus(status);
  return response;
}
}  // namespace

absl::StatusOr<svc::PutResourceResponse> Put(svc::ResourceStore::Stub& stub,
                                             const Resource& resource,
                                             std::optional<int64_t> expected_revision) {
  svc::PutResourceRequest request;
  *request.mutable_resource() = resource;
  if (expected_revision) request.set_expected_revision(*expected_revision);
  return Unary<svc::PutResourceResponse>(
      [&](auto* context, auto* response) { return stub.Put(context, request, response); });
}

absl::StatusOr<Resource> Get(svc::ResourceStore::Stub& stub, const std::string& ns,
                             const std::string& id, int64_t revision) {
  svc::GetResourceRequest request;
  request.set_namespace_(ns);
  request.set_resource_id(id);
  request.set_revision(revision);
  auto response = Unary<svc::GetResourceResponse>(
      [&](auto* context, auto* response) { return stub.Get(context, request, response); });
  if (!response.ok()) return response.status();
  return response->resource();
}

absl::StatusOr<svc::DropResourcesResponse> Drop(svc::ResourceStore::Stub& stub,
                                                const std::string& ns,
                                                const std::vector<std::string>& ids) {
  svc::DropResourcesRequest request;
  request.set_namespace_(ns);
  for (const auto& id : ids) request.add_resource_ids(id);
  return Unary<svc::DropResourcesResponse>(
      [&](auto* context, auto* response) { return stub.Drop(context, request, response); });
}

absl::StatusOr<svc::ApplyResponse> Apply(svc::ResourceStore::Stub& stub,
                                         const svc::ApplyRequest& request) {
  return Unary<svc::ApplyResponse>(
      [&](auto* context, auto* response) { return stub.Apply(context, request, response); });
}

absl::StatusOr<svc::ListResourcesResponse> List(svc::ResourceStore::Stub& stub,
                                                const svc::ListResourcesRequest& request) {
  return Unary<svc::ListResourcesResponse>(
      [&](auto* context, auto* response) { return stub.List(context, request, response); });
}

absl::StatusOr<std::vector<Resource>> ListAll(svc::ResourceStore::Stub& stub, const std::string& ns,
                                              int page_size) {
  std::vector<Resource> all;
  svc::ListResourcesRequest request;
  request.set_namespace_(ns);
  request.set_page_size(page_size);
  do {
    auto page = List(stub, request);
    if (!page.ok()) return page.status();
    all.insert(all.end(), page->resources().begin(), page->resources().end());
    request.set_page_token(page->next_page_token());
  } while (!request.page_token().empty());
  return all;
}

WatchRecorder::WatchRecorder(std::shared_ptr<grpc::Channel> channel,
                             svc::WatchResourcesRequest request) {
  thread_ = std::thread([this, channel, request] {
    auto stub = svc::ResourceStore::NewStub(channel);
    auto reader = stub->Watch(&context_, request);
    svc::WatchResourcesResponse response;
    while (reader->Read(&response)) {
      std::lock_guard lock(mu_);
      responses_.push_back(response);
      changed_.notify_all();
    }
    grpc::Status status = reader->Finish();
    std::lock_guard lock(mu_);
    status_ = status;
    changed_.notify_all();
  });
}

WatchRecorder::~WatchRecorder() {
  Cancel();
  thread_.join();
}

void WatchRecorder::Cancel() { context_.TryCancel(); }

bool WatchRecorder::WaitFor(
    const std::function<bool(const std::vector<svc::WatchResourcesResponse>&)>& predicate,
    std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return changed_.wait_for(lock, timeout,
                           [&] { return predicate(responses_) || status_.has_value(); }) &&
         predicate(responses_);
}

bool WatchRecorder::WaitForEndOfList(std::chrono::milliseconds timeout) {
  return WaitFor(
      [](const auto& responses) {
        for (const auto& r : responses) {
          if (r.end_of_list()) return true;
        }
        return false;
      },
      timeout);
}

bool WatchRecorder::WaitForRevision(int64_t revision, std::chrono::milliseconds timeout) {
  return WaitFor(
      [revision](const auto& responses) {
        return !responses.empty() && responses.back().revision() >= revision;
      },
      timeout);
}

std::optional<grpc::Status> WatchRecorder::WaitForEnd(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  changed_.wait_for(lock, timeout, [&] { return status_.has_value(); });
  return status_;
}

std::vector<svc::WatchResourcesResponse> WatchRecorder::responses() const {
  std::lock_guard lock(mu_);
  return responses_;
}

}  // namespace protomesh::testing
