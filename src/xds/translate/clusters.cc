// Service -> Cluster: EDS over ADS, and whatever the service asks for
// (protocol, TLS, load balancing, circuit breakers, outlier detection,
// active health checks).
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/core/v3/protocol.pb.h"
#include "envoy/extensions/transport_sockets/tls/v3/tls.pb.h"
#include "envoy/extensions/upstreams/http/v3/http_protocol_options.pb.h"
#include "src/xds/translate/internal.h"

namespace protomesh::xds::translate {
namespace {

namespace pb = google::protobuf;
using envoy::config::cluster::v3::Cluster;
using types::v1::Service;

using envoy::extensions::upstreams::http::v3::HttpProtocolOptions;

// The protocol to the instances, made explicit.
pb::Any ExplicitHttpProtocolOptions(const envoy::config::core::v3::Http2ProtocolOptions* http2) {
  HttpProtocolOptions options;
  auto* explicit_config = options.mutable_explicit_http_config();
  if (http2 != nullptr) {
    *explicit_config->mutable_http2_protocol_options() = *http2;
  } else {
    explicit_config->mutable_http_protocol_options();
  }
  return Pack(options);
}

absl::StatusOr<Cluster> BuildCluster(const Service& service) {
  if (service.service_name().empty()) return absl::InvalidArgumentError("service_name is empty");
  Cluster cluster;
  cluster.set_name(service.service_name());
  cluster.set_type(Cluster::EDS);
  auto* eds_config = cluster.mutable_eds_cluster_config()->mutable_eds_config();
  eds_config->mutable_ads();
  eds_config->set_resource_api_version(envoy::config::core::v3::V3);
  if (service.has_connect_timeout()) {
    absl::Status status = CheckDuration(service.connect_timeout(), "connect_timeout", true);
    if (!status.ok()) return status;
    *cluster.mutable_connect_timeout() = service.connect_timeout();
  }

  switch (service.lb_policy()) {
    case Service::LB_POLICY_UNSPECIFIED:
    case Service::LB_POLICY_ROUND_ROBIN:
      break;  // Envoy's default
    case Service::LB_POLICY_LEAST_REQUEST:
      cluster.set_lb_policy(Cluster::LEAST_REQUEST);
      break;
    case Service::LB_POLICY_RANDOM:
      if (!service.grpc_target_name().empty()) {
        // A gRPC client rejects the cluster (and the others of the response).
        return absl::InvalidArgumentError(
            "lb_policy LB_POLICY_RANDOM is not supported by proxyless gRPC clients, and the "
            "service sets grpc_target_name");
      }
      cluster.set_lb_policy(Cluster::RANDOM);
      break;
    case Service::LB_POLICY_RING_HASH:
      cluster.set_lb_policy(Cluster::RING_HASH);
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("lb_policy ", static_cast<int>(service.lb_policy()), " is not known"));
  }

  const bool http2 = service.has_instance_http2_options();
  if (service.has_instance_http1_options()) {
    (*cluster.mutable_typed_extension_protocol_options())[HttpProtocolOptions::descriptor()->full_name()] =
        ExplicitHttpProtocolOptions(nullptr);
  } else if (http2) {
    envoy::config::core::v3::Http2ProtocolOptions options;
    int32_t streams = service.instance_http2_options().max_concurrent_streams();
    if (streams < 0) {
      return absl::InvalidArgumentError(
          "instance_http2_options.max_concurrent_streams is negative");
    }
    if (streams > 0) options.mutable_max_concurrent_streams()->set_value(streams);
    (*cluster.mutable_typed_extension_protocol_options())[HttpProtocolOptions::descriptor()->full_name()] =
        ExplicitHttpProtocolOptions(&options);
  }

  if (service.enable_tls_transport()) {
    auto* socket = cluster.mutable_transport_socket();
    socket->set_name("envoy.transport_sockets.tls");
    *socket->mutable_typed_config() =
        Pack(envoy::extensions::transport_sockets::tls::v3::UpstreamTlsContext());
  }

  if (service.has_circuit_breakers()) {
    const auto& limits = service.circuit_breakers();
    auto* thresholds = cluster.mutable_circuit_breakers()->add_thresholds();
    thresholds->set_priority(envoy::config::core::v3::DEFAULT);
    if (limits.max_connections() > 0) {
      thresholds->mutable_max_connections()->set_value(limits.max_connections());
    }
    if (limits.max_pending_requests() > 0) {
      thresholds->mutable_max_pending_requests()->set_value(limits.max_pending_requests());
    }
    if (limits.max_requests() > 0) {
      thresholds->mutable_max_requests()->set_value(limits.max_requests());
    }
    if (limits.max_retries() > 0)
      thresholds->mutable_max_retries()->set_value(limits.max_retries());
  }

  if (service.has_outlier_detection()) {
    const auto& outlier = service.outlier_detection();
    auto* detection = cluster.mutable_outlier_detection();
    if (outlier.consecutive_5xx() > 0) {
      detection->mutable_consecutive_5xx()->set_value(outlier.consecutive_5xx());
    }
    if (outlier.has_interval()) {
      absl::Status status = CheckDuration(outlier.interval(), "outlier_detection.interval", true);
      if (!status.ok()) return status;
      *detection->mutable_interval() = outlier.interval();
    }
    if (outlier.has_base_ejection_time()) {
      absl::Status status =
          CheckDuration(outlier.base_ejection_time(), "outlier_detection.base_ejection_time", true);
      if (!status.ok()) return status;
      *detection->mutable_base_ejection_time() = outlier.base_ejection_time();
    }
    if (outlier.max_ejection_percent() > 100) {
      return absl::InvalidArgumentError("outlier_detection.max_ejection_percent is above 100");
    }
    if (outlier.max_ejection_percent() > 0) {
      detection->mutable_max_ejection_percent()->set_value(outlier.max_ejection_percent());
    }
  }

  if (service.has_health_check()) {
    const auto& check = service.health_check();
    if (check.path().empty() || check.path().front() != '/' || !IsHeaderValue(check.path())) {
      return absl::InvalidArgumentError(
          absl::StrCat("health_check.path \"", absl::CEscape(check.path()),
                       "\" is not a path (it must start with \"/\")"));
    }
    auto* health_check = cluster.add_health_checks();
    pb::Duration interval, timeout;
    interval.set_seconds(10);
    timeout.set_seconds(1);
    if (check.has_interval()) {
      absl::Status status = CheckDuration(check.interval(), "health_check.interval", true);
      if (!status.ok()) return status;
      interval = check.interval();
    }
    if (check.has_timeout()) {
      absl::Status status = CheckDuration(check.timeout(), "health_check.timeout", true);
      if (!status.ok()) return status;
      timeout = check.timeout();
    }
    *health_check->mutable_interval() = interval;
    *health_check->mutable_timeout() = timeout;
    health_check->mutable_healthy_threshold()->set_value(
        check.healthy_threshold() > 0 ? check.healthy_threshold() : 1);
    health_check->mutable_unhealthy_threshold()->set_value(
        check.unhealthy_threshold() > 0 ? check.unhealthy_threshold() : 3);
    auto* http = health_check->mutable_http_health_check();
    http->set_path(check.path());
    if (http2) http->set_codec_client_type(envoy::type::v3::HTTP2);
  }
  return cluster;
}

}  // namespace

void TranslateServices(const Inputs& inputs, Nodes& nodes, Errors& errors) {
  for (const auto& [resource, service] : inputs.services) {
    absl::StatusOr<Cluster> cluster = BuildCluster(service);
    if (!cluster.ok()) {
      errors.Report(*resource, std::string(cluster.status().message()));
      continue;
    }
    NodeBuild& node = nodes[service.xds_cluster_name()];
    const Entry* taken = Claim(node.clusters, service.service_name(),
                               Entry{Pack(*cluster), resource, Owner("Service", *resource)});
    if (taken != nullptr) {
      errors.Report(*resource, absl::StrCat("cluster \"", service.service_name(),
                                            "\" is already defined in node cluster \"",
                                            service.xds_cluster_name(), "\" by ", taken->owner));
      continue;
    }
    node.eds_names.insert(service.service_name());
  }
}

}  // namespace protomesh::xds::translate
