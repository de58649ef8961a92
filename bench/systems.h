#pragma once
// A system under test, reached over its own gRPC API on loopback:
// protomesh-store (ResourceStore) or etcd (etcdserverpb KV and Watch). The
// workloads only see this interface, so both sides pay the same client
// costs: the same gRPC C++ client, callback API, channels and threads.
//
// Keys live in a "space": a namespace of the store, a key prefix of etcd
// ("/<space>/"). Key number k is resource id KeyId(k) in the store and key
// "/<space>/<KeyId(k)>" in etcd; its value (the store's spec bytes, etcd's
// value) is what the caller passes.
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "bench/bench_util.h"

namespace protomesh::bench {

// A UUID made from a key number: 00000000-0000-4000-8000-<12 hex digits>.
std::string KeyId(int64_t key);

// `count` channels to `address`, each with its own TCP connection.
std::vector<std::shared_ptr<grpc::Channel>> MakeChannels(const std::string& address, int count);

// One open watch of a space. It records, for every change that arrives
// after the watch was established, the change's revision and when it
// arrived. Destroying it cancels the stream.
class Watcher {
 public:
  struct Arrival {
    int64_t revision;
    Clock::time_point at;
  };
  virtual ~Watcher() = default;
  bool established() const { return established_.load(); }
  // The stream ended (an error, or the server closed it).
  bool ended() const { return ended_.load(); }
  int64_t last_revision() const { return last_revision_.load(); }
  std::vector<Arrival> arrivals() const {
    std::lock_guard lock(mu_);
    return arrivals_;
  }
  std::string error() const {
    std::lock_guard lock(mu_);
    return error_;
  }

 protected:
  void Record(int64_t revision, Clock::time_point at) {
    {
      std::lock_guard lock(mu_);
      arrivals_.push_back({revision, at});
    }
    last_revision_ = std::max(last_revision_.load(), revision);
  }
  void SetEnded(const std::string& error) {
    {
      std::lock_guard lock(mu_);
      error_ = error;
    }
    ended_ = true;
  }
  std::atomic<bool> established_{false};

 private:
  mutable std::mutex mu_;  // guards arrivals_ and error_
  std::vector<Arrival> arrivals_;
  std::string error_;
  std::atomic<int64_t> last_revision_{0};
  std::atomic<bool> ended_{false};
};

class KvSystem {
 public:
  virtual ~KvSystem() = default;
  virtual std::string name() const = 0;
  // The server process, for its memory.
  virtual pid_t server_pid() const = 0;

  // Asynchronous calls; `done` runs on a gRPC thread and may start the next
  // call. `channel` picks one of the system's channels (modulo their count).
  // A put answers the revision it committed at.
  using PutDone = std::function<void(absl::StatusOr<int64_t> revision)>;
  virtual void Put(int channel, const std::string& space, int64_t key, const std::string& value,
                   PutDone done) = 0;
  using GetDone = std::function<void(absl::Status)>;
  virtual void Get(int channel, const std::string& space, int64_t key, GetDone done) = 0;

  // Writes keys 0..count-1 with `value`, batched as the system allows.
  virtual absl::Status Load(const std::string& space, int64_t count, const std::string& value) = 0;
  // Opens a watch of every key of the space, from now on.
  virtual std::unique_ptr<Watcher> Watch(int channel, const std::string& space) = 0;
  // What a new client does to get the full state of the space: the store
  // watches it until end_of_list, etcd gets the prefix in pages. Returns
  // how many keys it received.
  virtual absl::StatusOr<int64_t> InitialSync(const std::string& space) = 0;
};

// protomesh-store's ResourceStore service at `address`.
std::unique_ptr<KvSystem> NewStoreSystem(const std::string& address, pid_t pid, int channels);
// etcd's KV and Watch services at `address`. Range pages hold `page_size` keys.
std::unique_ptr<KvSystem> NewEtcdSystem(const std::string& address, pid_t pid, int channels,
                                        int64_t page_size);

}  // namespace protomesh::bench
