#pragma once
// The xDS server's Prometheus metrics, registered once and shared by the
// snapshot cache and every stream. Children a stream touches on every
// message are resolved here, up front, so the hot path takes no lock.
#include <array>
#include <string>

#include "src/common/metrics.h"

namespace protomesh::xds::server {

enum class Variant { kSotw = 0, kDelta = 1 };
inline constexpr int kVariantCount = 2;
// "sotw" or "delta".
const char* VariantName(Variant variant);

// The services a stream can arrive on: ADS carries every type, the others one.
enum class ServiceKind { kAds = 0, kCds = 1, kEds = 2, kLds = 3, kRds = 4 };
inline constexpr int kServiceCount = 5;
// "ads", "cds", "eds", "lds", "rds".
const char* ServiceName(ServiceKind service);

// Short label of a type of TypeOrder() by its index: "cds", "eds", "lds", "rds".
const char* TypeLabel(int type_index);

struct XdsServerMetrics {
  explicit XdsServerMetrics(metrics::Registry& registry);

  // Children of one resource type and protocol variant.
  struct PerType {
    metrics::Gauge* subscriptions;    // streams subscribed to the type
    metrics::Counter* responses;      // responses written (pushes and answers)
    metrics::Counter* acks;
    metrics::Counter* nacks;
    metrics::Counter* stale_requests;  // requests with a nonce that was not the latest
  };
  PerType& For(int type_index, Variant variant) {
    return per_type_[type_index][static_cast<int>(variant)];
  }
  metrics::Gauge& Streams(ServiceKind service, Variant variant) {
    return *streams_[static_cast<int>(service)][static_cast<int>(variant)];
  }

  metrics::Family<metrics::Gauge>& streams;             // service, variant
  metrics::Family<metrics::Gauge>& subscriptions;       // type, variant
  metrics::Family<metrics::Counter>& responses;         // type, variant
  metrics::Family<metrics::Counter>& acks;              // type, variant
  metrics::Family<metrics::Counter>& nacks;             // type, variant
  metrics::Family<metrics::Counter>& stale_requests;    // type, variant
  metrics::Family<metrics::Counter>& rejected_streams;  // reason
  // From the snapshot update to the completed write that brought a stream up
  // to date with it; observed once per stream and update that changed
  // something for that stream.
  metrics::Histogram& push_seconds;
  metrics::Counter& snapshot_updates;
  metrics::Gauge& node_clusters;

 private:
  std::array<std::array<PerType, kVariantCount>, 4> per_type_;
  std::array<std::array<metrics::Gauge*, kVariantCount>, kServiceCount> streams_;
};

}  // namespace protomesh::xds::server
