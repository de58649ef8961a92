#pragma once
// A simulated Envoy: one ADS stream, state-of-the-world or delta, that
// subscribes the way Envoy does. It asks for every cluster (CDS) and every
// listener (LDS); the EDS names it subscribes to are its clusters', the RDS
// names its listeners' route configurations (HTTP connection managers and
// api_listeners). It ACKs every response with the response's version and
// nonce, and records per type what it last ACKed and when that ACK was
// written, which is what xds_scale measures.
#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "bench/bench_util.h"
#include "envoy/service/discovery/v3/ads.grpc.pb.h"

namespace protomesh::bench {

enum class AdsVariant { kSotw, kDelta };

// Indices of the four types, in protomesh::xds::TypeOrder() order.
inline constexpr int kCds = 0, kEds = 1, kLds = 2, kRds = 3;
inline constexpr int kAdsTypes = 4;

struct TypeProgress {
  std::string acked_version;  // SotW version_info, delta system_version_info
  Clock::time_point acked_at;  // when the ACK of that version was written
  uint64_t responses = 0;      // responses received
  uint64_t acks = 0;           // ACKs written
};

class SimulatedEnvoy {
 public:
  virtual ~SimulatedEnvoy() = default;

  // Every type was ACKed, the last response of each is ACKed, and EDS and
  // RDS hold exactly what the clusters and listeners name.
  virtual bool synced() const = 0;
  virtual TypeProgress progress(int type) const = 0;
  // The stream ended; `error()` says why unless it was Cancel().
  virtual bool ended() const = 0;
  virtual std::string error() const = 0;
  // Cancels the stream, as a disconnecting Envoy does. The destructor
  // cancels too, and waits until gRPC is done with the stream.
  virtual void Cancel() = 0;
};

// Opens the stream on `stub` at once. The node is {id: node_id, cluster:
// node_cluster}, sent on every request as Envoy does by default.
std::unique_ptr<SimulatedEnvoy> ConnectEnvoy(
    envoy::service::discovery::v3::AggregatedDiscoveryService::Stub* stub,
    const std::string& node_id, const std::string& node_cluster, AdsVariant variant);

}  // namespace protomesh::bench
