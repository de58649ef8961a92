#include "src/xds/server/xds_server_metrics.h"

namespace protomesh::xds::server {

const char* VariantName(Variant variant) {
  return variant == Variant::kSotw ? "sotw" : "delta";
}

const char* ServiceName(ServiceKind service) {
  static const char* const kNames[kServiceCount] = {"ads", "cds", "eds", "lds", "rds"};
  return kNames[static_cast<int>(service)];
}

const char* TypeLabel(int type_index) {
  static const char* const kLabels[4] = {"cds", "eds", "lds", "rds"};
  return kLabels[type_index];
}

XdsServerMetrics::XdsServerMetrics(metrics::Registry& registry)
    : streams(registry.AddGauge("protomesh_xds_streams",
                                "Open xDS streams by service (ads or a per-type service) and "
                                "protocol variant (sotw or delta)",
                                {"service", "variant"})),
      subscriptions(registry.AddGauge("protomesh_xds_subscriptions",
                                      "Open xDS streams subscribed to a resource type",
                                      {"type", "variant"})),
      responses(registry.AddCounter("protomesh_xds_responses_total",
                                    "Discovery responses written, by resource type and variant",
                                    {"type", "variant"})),
      acks(registry.AddCounter("protomesh_xds_acks_total",
                               "Responses the client accepted (ACK)", {"type", "variant"})),
      nacks(registry.AddCounter("protomesh_xds_nacks_total",
                                "Responses the client rejected (NACK, with error_detail)",
                                {"type", "variant"})),
      stale_requests(registry.AddCounter(
          "protomesh_xds_stale_requests_total",
          "Requests whose response_nonce was not the latest sent for the type (ignored)",
          {"type", "variant"})),
      rejected_streams(registry.AddCounter("protomesh_xds_rejected_streams_total",
                                           "Streams ended by the server because of a bad "
                                           "request, by reason",
                                           {"reason"})),
      push_seconds(registry
                       .AddHistogram("protomesh_xds_push_seconds",
                                     "Time from a snapshot update to the completed write that "
                                     "brought a stream up to date with it",
                                     metrics::LatencyBuckets())
                       .Get()),
      snapshot_updates(registry
                           .AddCounter("protomesh_xds_snapshot_updates_total",
                                       "Snapshot cache updates (one per translation)")
                           .Get()),
      node_clusters(registry
                        .AddGauge("protomesh_xds_node_clusters",
                                  "Node clusters the snapshot cache holds a snapshot for")
                        .Get()) {
  for (int type = 0; type < 4; ++type) {
    for (int v = 0; v < kVariantCount; ++v) {
      std::vector<std::string> labels = {TypeLabel(type), VariantName(static_cast<Variant>(v))};
      per_type_[type][v] = PerType{&subscriptions.WithLabels(labels), &responses.WithLabels(labels),
                                   &acks.WithLabels(labels), &nacks.WithLabels(labels),
                                   &stale_requests.WithLabels(labels)};
    }
  }
  for (int s = 0; s < kServiceCount; ++s) {
    for (int v = 0; v < kVariantCount; ++v) {
      streams_[s][v] = &streams.WithLabels(
          {ServiceName(static_cast<ServiceKind>(s)), VariantName(static_cast<Variant>(v))});
    }
  }
}

}  // namespace protomesh::xds::server
