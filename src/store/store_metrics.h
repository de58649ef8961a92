#pragma once
// The store's Prometheus metrics, registered once and shared by its parts.
#include "src/common/metrics.h"

namespace protomesh::store {

struct StoreMetrics {
  explicit StoreMetrics(metrics::Registry& registry);

  metrics::Family<metrics::Counter>& requests;          // method, code
  metrics::Family<metrics::Histogram>& request_seconds;  // method
  metrics::Gauge& watch_streams;
  metrics::Counter& watch_cutoffs;
  metrics::Histogram& notification_lag_seconds;
  metrics::Family<metrics::Counter>& feed_changes;  // source: handover, log
  metrics::Counter& feed_reconnects;
  metrics::Gauge& feed_revision;
  metrics::Gauge& writes_queued;
  metrics::Histogram& batch_mutations;
  metrics::Histogram& commit_seconds;
  metrics::Counter& compacted_changes;
  metrics::Gauge& compacted_revision;
};

}  // namespace protomesh::store
