// The store side: protomesh.services.v1.ResourceStore.
#include <condition_variable>
#include <thread>

#include "absl/strings/str_cat.h"
#include "api/services/v1/resource_store.grpc.pb.h"
#include "bench/systems.h"

namespace protomesh::bench {
namespace {

namespace svc = protomesh::services::v1;
using protomesh::types::v1::Resource;

// Specs are opaque bytes to the store; any message type URL will do.
constexpr char kSpecType[] = "type.googleapis.com/google.protobuf.BytesValue";
// Puts per Apply when loading (the store's limit is 1000).
constexpr int64_t kLoadBatch = 1000;

void FillResource(Resource* resource, const std::string& space, int64_t key,
                  const std::string& value) {
  resource->set_namespace_(space);
  resource->set_id(KeyId(key));
  resource->set_name(absl::StrCat("k", key));
  resource->mutable_spec()->set_type_url(kSpecType);
  resource->mutable_spec()->set_value(value);
}

std::string Describe(const grpc::Status& status) {
  return absl::StrCat(status.error_code(), ": ", status.error_message());
}

class StoreWatcher : public Watcher,
                     public grpc::ClientReadReactor<svc::WatchResourcesResponse> {
 public:
  StoreWatcher(svc::ResourceStore::Stub* stub, const std::string& space) {
    request_.set_namespace_(space);
    stub->async()->Watch(&context_, &request_, this);
    StartRead(&response_);
    StartCall();
  }
  ~StoreWatcher() override {
    context_.TryCancel();
    std::unique_lock lock(done_mu_);
    done_cv_.wait(lock, [&] { return done_; });
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // OnDone follows.
    auto now = Clock::now();
    if (response_.end_of_list()) {
      established_ = true;
    } else if (established_) {
      Record(response_.revision(), now);
    }
    StartRead(&response_);
  }
  void OnDone(const grpc::Status& status) override {
    SetEnded(status.ok() ? "" : Describe(status));
    std::lock_guard lock(done_mu_);
    done_ = true;
    done_cv_.notify_all();
  }

 private:
  grpc::ClientContext context_;
  svc::WatchResourcesRequest request_;
  svc::WatchResourcesResponse response_;
  std::mutex done_mu_;
  std::condition_variable done_cv_;
  bool done_ = false;
};

class StoreSystem : public KvSystem {
 public:
  StoreSystem(const std::string& address, pid_t pid, int channels) : pid_(pid) {
    for (auto& channel : MakeChannels(address, channels)) {
      stubs_.push_back(svc::ResourceStore::NewStub(channel));
    }
  }

  std::string name() const override { return "protomesh"; }
  pid_t server_pid() const override { return pid_; }

  void Put(int channel, const std::string& space, int64_t key, const std::string& value,
           PutDone done) override {
    svc::PutResourceRequest request;
    FillResource(request.mutable_resource(), space, key, value);
    auto* stub = Stub(channel);
    AsyncUnary<svc::PutResourceResponse>(
        std::move(request),
        [stub](auto* context, auto* req, auto* res, auto callback) {
          stub->async()->Put(context, req, res, std::move(callback));
        },
        [done = std::move(done)](const grpc::Status& status,
                                 const svc::PutResourceResponse& response) {
          if (status.ok()) {
            done(response.version().index());
          } else {
            done(absl::InternalError(Describe(status)));
          }
        });
  }

  void Get(int channel, const std::string& space, int64_t key, GetDone done) override {
    svc::GetResourceRequest request;
    request.set_namespace_(space);
    request.set_resource_id(KeyId(key));
    auto* stub = Stub(channel);
    AsyncUnary<svc::GetResourceResponse>(
        std::move(request),
        [stub](auto* context, auto* req, auto* res, auto callback) {
          stub->async()->Get(context, req, res, std::move(callback));
        },
        [done = std::move(done)](grpc::Status status, const svc::GetResourceResponse& response) {
          if (status.ok() && response.resource().spec().value().empty()) {
            status = grpc::Status(grpc::StatusCode::INTERNAL, "empty spec");
          }
          done(status.ok() ? absl::OkStatus() : absl::InternalError(Describe(status)));
        });
  }

  absl::Status Load(const std::string& space, int64_t count, const std::string& value) override {
    return LoadInBatches(count, kLoadBatch, 2, [&](int channel, int64_t from, int64_t to) {
      svc::ApplyRequest request;
      for (int64_t key = from; key < to; ++key) {
        FillResource(request.add_operations()->mutable_put()->mutable_resource(), space, key, value);
      }
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
      svc::ApplyResponse response;
      grpc::Status status = Stub(channel)->Apply(&context, request, &response);
      if (!status.ok()) return absl::InternalError(absl::StrCat("Apply: ", Describe(status)));
      return absl::OkStatus();
    });
  }

  std::unique_ptr<Watcher> Watch(int channel, const std::string& space) override {
    return std::make_unique<StoreWatcher>(Stub(channel), space);
  }

  absl::StatusOr<int64_t> InitialSync(const std::string& space) override {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
    svc::WatchResourcesRequest request;
    request.set_namespace_(space);
    auto reader = Stub(0)->Watch(&context, request);
    svc::WatchResourcesResponse response;
    int64_t received = 0;
    bool complete = false;
    while (reader->Read(&response)) {
      received += response.updated_resources_size();
      if (response.end_of_list()) {
        complete = true;
        break;
      }
    }
    context.TryCancel();
    grpc::Status status = reader->Finish();
    if (!complete) return absl::InternalError(absl::StrCat("Watch ended: ", Describe(status)));
    return received;
  }

 private:
  svc::ResourceStore::Stub* Stub(int channel) {
    return stubs_[static_cast<size_t>(channel) % stubs_.size()].get();
  }

  pid_t pid_;
  std::vector<std::unique_ptr<svc::ResourceStore::Stub>> stubs_;
};

}  // namespace

std::unique_ptr<KvSystem> NewStoreSystem(const std::string& address, pid_t pid, int channels) {
  return std::make_unique<StoreSystem>(address, pid, channels);
}

}  // namespace protomesh::bench
