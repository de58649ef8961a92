// HttpIngress -> Listener on 0.0.0.0:listen_port with an HTTP connection
// manager (filters in order, then the router; routes from RDS over ADS;
// optional stdout access log). Service.grpc_target_name -> an api_listener
// for proxyless gRPC clients.
#include <set>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/extensions/access_loggers/stream/v3/stream.pb.h"
#include "envoy/extensions/filters/http/cors/v3/cors.pb.h"
#include "envoy/extensions/filters/http/grpc_web/v3/grpc_web.pb.h"
#include "envoy/extensions/filters/http/health_check/v3/health_check.pb.h"
#include "envoy/extensions/filters/http/router/v3/router.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "src/xds/envoy_descriptors.h"
#include "src/xds/translate/internal.h"

namespace protomesh::xds::translate {
namespace {

namespace pb = google::protobuf;
using envoy::config::listener::v3::Listener;
using HttpConnectionManager =
    envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager;
using types::v1::HttpFilter;
using types::v1::HttpIngress;

constexpr char kJwtAuthentication[] =
    "envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication";

// An HTTP connection manager whose routes come from RDS over ADS.
HttpConnectionManager RdsConnectionManager(const std::string& name) {
  HttpConnectionManager hcm;
  hcm.set_stat_prefix(name);
  auto* rds = hcm.mutable_rds();
  rds->mutable_config_source()->mutable_ads();
  rds->mutable_config_source()->set_resource_api_version(envoy::config::core::v3::V3);
  rds->set_route_config_name(name);
  return hcm;
}

void AddFilter(HttpConnectionManager& hcm, const std::string& name, pb::Any config) {
  auto* filter = hcm.add_http_filters();
  filter->set_name(name);
  *filter->mutable_typed_config() = std::move(config);
}

pb::Value StringValue(const std::string& text) {
  pb::Value value;
  value.set_string_value(text);
  return value;
}

pb::Value StringList(const pb::RepeatedPtrField<std::string>& items) {
  pb::Value value;
  auto* list = value.mutable_list_value();
  for (const std::string& item : items) *list->add_values() = StringValue(item);
  return value;
}

// The jwt_authn filter's config: built as JSON (its C++ type cannot be
// compiled, see envoy_descriptors.h) and parsed against the descriptors.
absl::StatusOr<pb::Any> JwtAuthentication(const HttpFilter::JwtAuthn& jwt) {
  pb::Struct config;
  pb::Struct& providers = *(*config.mutable_fields())["providers"].mutable_struct_value();
  for (const auto& provider : jwt.providers()) {
    const std::string& name = provider.provider_name();
    if (name.empty())
      return absl::InvalidArgumentError("jwt_authn: a provider has no provider_name");
    if (providers.fields().count(name) > 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("jwt_authn: provider \"", name, "\" is defined twice"));
    }
    pb::Struct& out = *(*providers.mutable_fields())[name].mutable_struct_value();
    auto& fields = *out.mutable_fields();
    if (!provider.issuer().empty()) fields["issuer"] = StringValue(provider.issuer());
    if (!provider.audiences().empty()) fields["audiences"] = StringList(provider.audiences());
    if (provider.forward()) fields["forward"].set_bool_value(true);
    const bool remote = provider.has_remote_jwks();
    const bool local = provider.has_local_jwks();
    if (remote == local) {
      return absl::InvalidArgumentError(absl::StrCat(
          "jwt_authn: provider \"", name, "\" needs exactly one of remote_jwks and local_jwks"));
    }
    if (remote) {
      const auto& jwks = provider.remote_jwks();
      if (jwks.http_uri().empty() || jwks.cluster_name().empty()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "jwt_authn: provider \"", name, "\": remote_jwks needs http_uri and cluster_name"));
      }
      pb::Duration timeout;
      timeout.set_seconds(5);
      if (jwks.has_timeout()) {
        absl::Status status = CheckDuration(jwks.timeout(), "jwt_authn remote_jwks.timeout", true);
        if (!status.ok()) return status;
        timeout = jwks.timeout();
      }
      auto& uri = *(*fields["remoteJwks"].mutable_struct_value()->mutable_fields())["httpUri"]
                       .mutable_struct_value()
                       ->mutable_fields();
      uri["uri"] = StringValue(jwks.http_uri());
      uri["cluster"] = StringValue(jwks.cluster_name());
      uri["timeout"] = StringValue(pb::util::TimeUtil::ToString(timeout));
    } else {
      auto& source = *fields["localJwks"].mutable_struct_value()->mutable_fields();
      switch (provider.local_jwks().specifier_case()) {
        case HttpFilter::JwtAuthn::LocalJwks::kInlineString:
          source["inlineString"] = StringValue(provider.local_jwks().inline_string());
          break;
        case HttpFilter::JwtAuthn::LocalJwks::kFilename:
          source["filename"] = StringValue(provider.local_jwks().filename());
          break;
        case HttpFilter::JwtAuthn::LocalJwks::SPECIFIER_NOT_SET:
          return absl::InvalidArgumentError(absl::StrCat(
              "jwt_authn: provider \"", name, "\": local_jwks needs inline_string or filename"));
      }
    }
    if (!provider.from_headers().empty()) {
      auto* list = fields["fromHeaders"].mutable_list_value();
      for (const auto& header : provider.from_headers()) {
        if (!IsHeaderName(header.header_name())) {
          return absl::InvalidArgumentError(
              absl::StrCat("jwt_authn: provider \"", name, "\": from_headers name \"",
                           absl::CEscape(header.header_name()), "\" is not a header name"));
        }
        auto& entry = *list->add_values()->mutable_struct_value()->mutable_fields();
        entry["name"] = StringValue(header.header_name());
        if (!header.value_prefix().empty()) {
          entry["valuePrefix"] = StringValue(header.value_prefix());
        }
      }
    }
    if (!provider.claim_to_headers().empty()) {
      auto* list = fields["claimToHeaders"].mutable_list_value();
      for (const auto& claim : provider.claim_to_headers()) {
        if (!IsHeaderName(claim.header_name()) || claim.claim_name().empty()) {
          return absl::InvalidArgumentError(
              absl::StrCat("jwt_authn: provider \"", name,
                           "\": claim_to_headers needs a header_name and a claim_name"));
        }
        auto& entry = *list->add_values()->mutable_struct_value()->mutable_fields();
        entry["headerName"] = StringValue(claim.header_name());
        entry["claimName"] = StringValue(claim.claim_name());
      }
    }
  }

  if (!jwt.rules().empty()) {
    auto* rules = (*config.mutable_fields())["rules"].mutable_list_value();
    for (const auto& rule : jwt.rules()) {
      auto& out = *rules->add_values()->mutable_struct_value()->mutable_fields();
      (*out["match"].mutable_struct_value()->mutable_fields())["prefix"] =
          StringValue(rule.match_prefix());
      std::vector<pb::Value> requirements;
      for (const std::string& required : rule.required_providers_names()) {
        if (providers.fields().count(required) == 0) {
          return absl::InvalidArgumentError(absl::StrCat("jwt_authn: rule \"", rule.match_prefix(),
                                                         "\" requires provider \"", required,
                                                         "\", which is not defined"));
        }
        pb::Value requirement;
        (*requirement.mutable_struct_value()->mutable_fields())["providerName"] =
            StringValue(required);
        requirements.push_back(std::move(requirement));
      }
      // One provider is named directly; Envoy's requires_all takes two or
      // more. None: the prefix is matched but nothing is required.
      if (requirements.size() == 1) {
        out["requires"] = std::move(requirements.front());
      } else if (requirements.size() > 1) {
        auto* all = (*(*out["requires"].mutable_struct_value()->mutable_fields())["requiresAll"]
                          .mutable_struct_value()
                          ->mutable_fields())["requirements"]
                        .mutable_list_value();
        for (auto& requirement : requirements) *all->add_values() = std::move(requirement);
      }
    }
  }

  std::string json;
  auto printed = pb::util::MessageToJsonString(config, &json);
  if (!printed.ok()) return absl::InternalError(std::string(printed.message()));
  absl::StatusOr<pb::Any> any = AnyFromJson(kJwtAuthentication, json);
  if (!any.ok()) return any.status();
  return Canonical(*any);
}

absl::StatusOr<Listener> BuildIngressListener(const HttpIngress& ingress) {
  const std::string& name = ingress.ingress_name();
  if (name.empty()) return absl::InvalidArgumentError("ingress_name is empty");
  if (ingress.listen_port() < 1 || ingress.listen_port() > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("listen_port ", ingress.listen_port(), " is not a port (1-65535)"));
  }

  HttpConnectionManager hcm = RdsConnectionManager(name);
  std::set<HttpFilter::FilterCase> seen;
  for (const HttpFilter& filter : ingress.http_filters()) {
    if (filter.filter_case() != HttpFilter::FILTER_NOT_SET &&
        !seen.insert(filter.filter_case()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("http_filters: ",
                       HttpFilter::descriptor()->FindFieldByNumber(filter.filter_case())->name(),
                       " appears twice"));
    }
    switch (filter.filter_case()) {
      case HttpFilter::kCors:
        if (filter.cors().enable()) {
          AddFilter(hcm, "envoy.filters.http.cors",
                    Pack(envoy::extensions::filters::http::cors::v3::Cors()));
        }
        break;
      case HttpFilter::kHealthCheck: {
        const std::string& path = filter.health_check().path();
        if (path.empty() || !IsHeaderValue(path)) {
          return absl::InvalidArgumentError("http_filters: health_check needs a path");
        }
        envoy::extensions::filters::http::health_check::v3::HealthCheck health_check;
        health_check.mutable_pass_through_mode()->set_value(false);
        auto* header = health_check.add_headers();
        header->set_name(":path");
        header->mutable_string_match()->set_exact(path);
        AddFilter(hcm, "envoy.filters.http.health_check", Pack(health_check));
        break;
      }
      case HttpFilter::kGrpcWeb:
        if (filter.grpc_web().enable()) {
          AddFilter(hcm, "envoy.filters.http.grpc_web",
                    Pack(envoy::extensions::filters::http::grpc_web::v3::GrpcWeb()));
        }
        break;
      case HttpFilter::kJwtAuthn: {
        absl::StatusOr<pb::Any> config = JwtAuthentication(filter.jwt_authn());
        if (!config.ok()) return config.status();
        AddFilter(hcm, "envoy.filters.http.jwt_authn", *std::move(config));
        break;
      }
      case HttpFilter::FILTER_NOT_SET:
        return absl::InvalidArgumentError(
            "http_filters: a filter sets none of cors, health_check, grpc_web and jwt_authn");
    }
  }
  AddFilter(hcm, "envoy.filters.http.router",
            Pack(envoy::extensions::filters::http::router::v3::Router()));

  if (!ingress.access_log_stdout_format().empty()) {
    envoy::extensions::access_loggers::stream::v3::StdoutAccessLog stdout_log;
    stdout_log.mutable_log_format()->mutable_text_format_source()->set_inline_string(
        ingress.access_log_stdout_format());
    auto* log = hcm.add_access_log();
    log->set_name("envoy.access_loggers.stdout");
    *log->mutable_typed_config() = Pack(stdout_log);
  }

  Listener listener;
  listener.set_name(name);
  auto* address = listener.mutable_address()->mutable_socket_address();
  address->set_address("0.0.0.0");
  address->set_port_value(ingress.listen_port());
  auto* network_filter = listener.add_filter_chains()->add_filters();
  network_filter->set_name("envoy.filters.network.http_connection_manager");
  *network_filter->mutable_typed_config() = Pack(hcm);
  return listener;
}

// What a gRPC client dialling xds:///name asks for first.
Listener GrpcApiListener(const std::string& name) {
  HttpConnectionManager hcm = RdsConnectionManager(name);
  AddFilter(hcm, "envoy.filters.http.router",
            Pack(envoy::extensions::filters::http::router::v3::Router()));
  Listener listener;
  listener.set_name(name);
  *listener.mutable_api_listener()->mutable_api_listener() = Pack(hcm);
  return listener;
}

}  // namespace

void TranslateListeners(const Inputs& inputs, Nodes& nodes, Errors& errors) {
  for (const auto& [resource, ingress] : inputs.ingresses) {
    absl::StatusOr<Listener> listener = BuildIngressListener(ingress);
    if (!listener.ok()) {
      errors.Report(*resource, std::string(listener.status().message()));
      continue;
    }
    const std::string& node_cluster = ingress.xds_cluster_name();
    NodeBuild& node = nodes[node_cluster];
    const uint32_t port = static_cast<uint32_t>(ingress.listen_port());
    if (auto it = node.ports.find(port); it != node.ports.end()) {
      errors.Report(*resource,
                    absl::StrCat("listen_port ", port, " is already used in node cluster \"",
                                 node_cluster, "\" by listener \"", it->second, "\""));
      continue;
    }
    const Entry* taken = Claim(node.listeners, ingress.ingress_name(),
                               Entry{Pack(*listener), resource, Owner("HttpIngress", *resource)});
    if (taken != nullptr) {
      errors.Report(*resource, absl::StrCat("listener \"", ingress.ingress_name(),
                                            "\" is already defined in node cluster \"",
                                            node_cluster, "\" by ", taken->owner));
      continue;
    }
    node.ports[port] = ingress.ingress_name();
    node.rds_names.insert(ingress.ingress_name());
  }

  for (const auto& [resource, service] : inputs.services) {
    const std::string& target = service.grpc_target_name();
    if (target.empty()) continue;
    NodeBuild& node = nodes[service.xds_cluster_name()];
    // Only the service that is served under its name is exposed.
    auto cluster = node.clusters.find(service.service_name());
    if (cluster == node.clusters.end() || cluster->second.source != resource) continue;
    const Entry* taken =
        Claim(node.listeners, target,
              Entry{Pack(GrpcApiListener(target)), resource, Owner("Service", *resource)});
    if (taken != nullptr) {
      errors.Report(*resource, absl::StrCat("grpc_target_name \"", target, "\": listener \"",
                                            target, "\" is already defined in node cluster \"",
                                            service.xds_cluster_name(), "\" by ", taken->owner,
                                            "; the service is not exposed to gRPC clients"));
      continue;
    }
    node.rds_names.insert(target);
    node.grpc_targets[target] = service.service_name();
  }
}

}  // namespace protomesh::xds::translate
