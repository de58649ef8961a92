#pragma once
// One xDS stream, state-of-the-world or incremental (delta), on ADS or on a
// per-type service (then restricted to that type). The stream watches the
// snapshot of its node's cluster and keeps, per resource type, what the
// client subscribed to and what it has been sent; whenever either side
// changes it works out the next response from the latest state. One write
// is in flight at a time, and what is pending is a flag per type, not a
// queue of versions: a burst of snapshot updates costs a stream at most one
// response per type.
//
// Protocol (Envoy's "xDS REST and gRPC protocol"):
// - The first request must carry node.cluster (INVALID_ARGUMENT otherwise);
//   the stream is served that node cluster's snapshot.
// - Every response carries a nonce unique in the process. A request whose
//   response_nonce is not the latest sent for its type is stale: it is not
//   an ACK or NACK, but its subscription applies, in SotW as in delta (a
//   client that unsubscribed from a name while a response carrying it was
//   on the way has dropped it; ignoring the request would leave the server
//   believing the client holds it, and a later subscription would never be
//   answered).
// - The client drops what it unsubscribes from: a name subscribed to again
//   is sent again.
// - ACK: the latest nonce, no error_detail. NACK: error_detail set; the
//   last ACKed version stays, the error is logged, counted and shown in the
//   config dump, and the rejected resources are not sent again until they
//   change.
// - SotW: an empty resource_names on the first request, or "*", subscribes
//   to everything (wildcard); LDS and CDS responses carry the full set, EDS
//   and RDS the subscribed resources that exist. The first request of a type
//   is always answered, even with nothing.
// - Delta: only what differs from what the client has is sent; the client's
//   initial_resource_versions count as what it has. Subscribed names that do
//   not exist are answered in removed_resources, and stay subscribed: they
//   are sent once they exist.
// - Make-before-break: pending types are sent in TypeOrder() (CDS, EDS, LDS,
//   RDS), removals afterwards in reverse order. A type with both additions
//   and removals while later types also have additions is sent twice: first
//   with the removed resources kept (SotW) or not yet removed (delta), then,
//   after the other types, without them.
// - Nothing is sent to a stream for which nothing changed.
// - Requests for a type this server does not serve (e.g. secrets over ADS)
//   are ignored; on a per-type service, another type ends the stream with
//   INVALID_ARGUMENT, and an empty type_url means the service's type.
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "envoy/service/discovery/v3/discovery.pb.h"
#include "src/xds/server/snapshot_cache.h"
#include "src/xds/server/xds_server_metrics.h"

namespace protomesh::xds::server {

// What the config dump shows of one subscribed type of one stream.
struct TypeStatus {
  std::string type_url;
  bool wildcard = false;
  std::vector<std::string> names;  // explicit subscriptions
  std::string sent_version;
  std::string sent_nonce;
  std::string acked_version;  // empty until the first ACK
  uint64_t acks = 0;
  uint64_t nacks = 0;
  bool rejected = false;  // the latest response sent was NACKed
  std::string last_nack_error;
  std::string last_nack_version;
  std::string last_nack_nonce;
  // Name and version of each resource the client was sent (SotW: the last
  // response; delta: what the client has).
  std::vector<std::pair<std::string, std::string>> resources;
};

struct StreamStatus {
  uint64_t id = 0;
  std::string node_id;
  std::string cluster;
  std::string service;  // "ads", "cds", ...
  std::string variant;  // "sotw" or "delta"
  std::string peer;
  bool writing = false;  // a response is being written
  bool pending = false;  // some type may still have something to send
  std::vector<TypeStatus> types;  // the subscribed ones, in TypeOrder()
};

class AdsStream;

// What every stream of one server shares: the snapshots, the metrics, and
// the set of open streams (for the config dump and shutdown).
class StreamRegistry {
 public:
  StreamRegistry(SnapshotCache* cache, XdsServerMetrics* metrics)
      : cache_(cache), metrics_(metrics) {}

  SnapshotCache* cache() const { return cache_; }
  XdsServerMetrics* metrics() const { return metrics_; }

  // False once shutting down.
  bool Add(const std::shared_ptr<AdsStream>& stream);
  void Remove(const AdsStream* stream);
  // Streams whose node is known, by id.
  std::vector<StreamStatus> Status() const;
  size_t size() const;
  // Ends every stream with `status` and refuses new ones.
  void Shutdown(const grpc::Status& status);

 private:
  SnapshotCache* const cache_;
  XdsServerMetrics* const metrics_;
  mutable absl::Mutex mu_;  // guards the fields below
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_map<const AdsStream*, std::shared_ptr<AdsStream>> streams_ ABSL_GUARDED_BY(mu_);
};

// gRPC's reactor of a stream whose method is registered raw: requests and
// responses are bytes, parsed and serialized by the stream.
using RawStreamReactor = grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>;

// Reactors for one stream; gRPC owns them. `service` restricts the stream
// to its type unless it is ServiceKind::kAds.
RawStreamReactor* StartSotwStream(grpc::CallbackServerContext* context, StreamRegistry* registry,
                                  ServiceKind service);
RawStreamReactor* StartDeltaStream(grpc::CallbackServerContext* context, StreamRegistry* registry,
                                   ServiceKind service);

}  // namespace protomesh::xds::server
