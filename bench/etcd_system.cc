// The etcd side: etcdserverpb.KV and etcdserverpb.Watch (etcd 3.4).
#include <condition_variable>
#include <thread>

#include "absl/strings/str_cat.h"
#include "bench/systems.h"
#include "etcd/etcdserver/etcdserverpb/rpc.grpc.pb.h"

namespace protomesh::bench {
namespace {

namespace pb = etcdserverpb;

// Puts per Txn when loading: etcd's default --max-txn-ops.
constexpr int64_t kLoadBatch = 128;

std::string Prefix(const std::string& space) { return absl::StrCat("/", space, "/"); }
// The end of the prefix's range: "/space0" ('0' follows '/').
std::string PrefixEnd(const std::string& space) { return absl::StrCat("/", space, "0"); }
std::string Key(const std::string& space, int64_t key) {
  return absl::StrCat(Prefix(space), KeyId(key));
}

std::string Describe(const grpc::Status& status) {
  return absl::StrCat(status.error_code(), ": ", status.error_message());
}

class EtcdWatcher : public Watcher, public grpc::ClientBidiReactor<pb::WatchRequest, pb::WatchResponse> {
 public:
  EtcdWatcher(pb::Watch::Stub* stub, const std::string& space) {
    auto* create = request_.mutable_create_request();
    create->set_key(Prefix(space));
    create->set_range_end(PrefixEnd(space));
    stub->async()->Watch(&context_, this);
    StartWrite(&request_);
    StartRead(&response_);
    StartCall();
  }
  ~EtcdWatcher() override {
    context_.TryCancel();
    std::unique_lock lock(done_mu_);
    done_cv_.wait(lock, [&] { return done_; });
  }

  void OnWriteDone(bool) override {}
  void OnReadDone(bool ok) override {
    if (!ok) return;  // OnDone follows.
    auto now = Clock::now();
    if (response_.created()) established_ = true;
    if (response_.canceled()) {
      SetEnded(absl::StrCat("watch canceled: ", response_.cancel_reason()));
      return;
    }
    for (const auto& event : response_.events()) Record(event.kv().mod_revision(), now);
    StartRead(&response_);
  }
  void OnDone(const grpc::Status& status) override {
    if (!ended()) SetEnded(status.ok() ? "" : Describe(status));
    std::lock_guard lock(done_mu_);
    done_ = true;
    done_cv_.notify_all();
  }

 private:
  grpc::ClientContext context_;
  pb::WatchRequest request_;
  pb::WatchResponse response_;
  std::mutex done_mu_;
  std::condition_variable done_cv_;
  bool done_ = false;
};

class EtcdSystem : public KvSystem {
 public:
  EtcdSystem(const std::string& address, pid_t pid, int channels, int64_t page_size)
      : pid_(pid), page_size_(page_size) {
    for (auto& channel : MakeChannels(address, channels)) {
      kv_.push_back(pb::KV::NewStub(channel));
      watch_.push_back(pb::Watch::NewStub(channel));
    }
  }

  std::string name() const override { return "etcd"; }
  pid_t server_pid() const override { return pid_; }

  void Put(int channel, const std::string& space, int64_t key, const std::string& value,
           PutDone done) override {
    pb::PutRequest request;
    request.set_key(Key(space, key));
    request.set_value(value);
    auto* kv = Kv(channel);
    AsyncUnary<pb::PutResponse>(
        std::move(request),
        [kv](auto* context, auto* req, auto* res, auto callback) {
          kv->async()->Put(context, req, res, std::move(callback));
        },
        [done = std::move(done)](const grpc::Status& status, const pb::PutResponse& response) {
          if (status.ok()) {
            done(response.header().revision());
          } else {
            done(absl::InternalError(Describe(status)));
          }
        });
  }

  void Get(int channel, const std::string& space, int64_t key, GetDone done) override {
    pb::RangeRequest request;
    request.set_key(Key(space, key));  // linearizable, as etcd's default
    auto* kv = Kv(channel);
    AsyncUnary<pb::RangeResponse>(
        std::move(request),
        [kv](auto* context, auto* req, auto* res, auto callback) {
          kv->async()->Range(context, req, res, std::move(callback));
        },
        [done = std::move(done)](grpc::Status status, const pb::RangeResponse& response) {
          if (status.ok() && response.kvs_size() != 1) {
            status = grpc::Status(grpc::StatusCode::NOT_FOUND, "no such key");
          }
          done(status.ok() ? absl::OkStatus() : absl::InternalError(Describe(status)));
        });
  }

  absl::Status Load(const std::string& space, int64_t count, const std::string& value) override {
    return LoadInBatches(count, kLoadBatch, 4, [&](int channel, int64_t from, int64_t to) {
      pb::TxnRequest request;
      for (int64_t key = from; key < to; ++key) {
        auto* put = request.add_success()->mutable_request_put();
        put->set_key(Key(space, key));
        put->set_value(value);
      }
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
      pb::TxnResponse response;
      grpc::Status status = Kv(channel)->Txn(&context, request, &response);
      if (!status.ok()) return absl::InternalError(absl::StrCat("Txn: ", Describe(status)));
      return absl::OkStatus();
    });
  }

  std::unique_ptr<Watcher> Watch(int channel, const std::string& space) override {
    return std::make_unique<EtcdWatcher>(
        watch_[static_cast<size_t>(channel) % watch_.size()].get(), space);
  }

  // Pages of page_size_ keys, all read at the first page's revision, as
  // etcd's clientv3 paging and Kubernetes' reflector list do.
  absl::StatusOr<int64_t> InitialSync(const std::string& space) override {
    int64_t received = 0;
    int64_t revision = 0;
    std::string from = Prefix(space);
    while (true) {
      pb::RangeRequest request;
      request.set_key(from);
      request.set_range_end(PrefixEnd(space));
      request.set_limit(page_size_);
      request.set_revision(revision);
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
      pb::RangeResponse response;
      grpc::Status status = Kv(0)->Range(&context, request, &response);
      if (!status.ok()) return absl::InternalError(absl::StrCat("Range: ", Describe(status)));
      if (revision == 0) revision = response.header().revision();
      received += response.kvs_size();
      if (!response.more() || response.kvs_size() == 0) break;
      from = response.kvs(response.kvs_size() - 1).key() + std::string(1, '\0');
    }
    return received;
  }

 private:
  pb::KV::Stub* Kv(int channel) { return kv_[static_cast<size_t>(channel) % kv_.size()].get(); }

  pid_t pid_;
  int64_t page_size_;
  std::vector<std::unique_ptr<pb::KV::Stub>> kv_;
  std::vector<std::unique_ptr<pb::Watch::Stub>> watch_;
};

}  // namespace

std::unique_ptr<KvSystem> NewEtcdSystem(const std::string& address, pid_t pid, int channels,
                                        int64_t page_size) {
  return std::make_unique<EtcdSystem>(address, pid, channels, page_size);
}

}  // namespace protomesh::bench
