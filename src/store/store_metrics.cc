#include "src/store/store_metrics.h"

namespace protomesh::store {

StoreMetrics::StoreMetrics(metrics::Registry& registry)
    : requests(registry.AddCounter("protomesh_store_requests_total",
                                   "gRPC requests handled, by method and status code",
                                   {"method", "code"})),
      request_seconds(registry.AddHistogram("protomesh_store_request_duration_seconds",
                                            "gRPC request latency by method (Watch: until the "
                                            "initial state is sent)",
                                            metrics::LatencyBuckets(), {"method"})),
      watch_streams(registry.AddGauge("protomesh_store_watch_streams", "Open Watch streams").Get()),
      watch_cutoffs(registry
                        .AddCounter("protomesh_store_watch_cutoffs_total",
                                    "Watch streams ended because the client fell too far behind")
                        .Get()),
      notification_lag_seconds(
          registry
              .AddHistogram("protomesh_store_notification_lag_seconds",
                            "Time from a change's commit to the change feed publishing it "
                            "to watchers",
                            metrics::LatencyBuckets())
              .Get()),
      feed_changes(registry.AddCounter(
          "protomesh_store_feed_changes_total",
          "Changes the change feed published, by where it got them: handed over by this "
          "process's write batcher, or read from the change log",
          {"source"})),
      feed_reconnects(registry
                          .AddCounter("protomesh_store_feed_reconnects_total",
                                      "Times the change feed reopened its LISTEN connection")
                          .Get()),
      feed_revision(registry
                        .AddGauge("protomesh_store_feed_revision",
                                  "Latest revision the change feed has published to watchers")
                        .Get()),
      writes_queued(registry
                        .AddGauge("protomesh_store_writes_queued",
                                  "Write mutations waiting for the write batcher")
                        .Get()),
      batch_mutations(registry
                          .AddHistogram("protomesh_store_batch_mutations",
                                        "Write mutations committed per database transaction",
                                        {1, 2, 4, 8, 16, 32, 64, 128, 256, 512})
                          .Get()),
      commit_seconds(registry
                         .AddHistogram("protomesh_store_batch_commit_seconds",
                                       "Duration of one write transaction, from sending it to its "
                                       "committed answer",
                                       metrics::LatencyBuckets())
                         .Get()),
      compacted_changes(registry
                            .AddCounter("protomesh_store_compacted_changes_total",
                                        "Change log rows removed by compaction")
                            .Get()),
      compacted_revision(registry
                             .AddGauge("protomesh_store_compacted_revision",
                                       "Revision at or below which the change log is compacted")
                             .Get()) {}

}  // namespace protomesh::store
