// RoutingPolicy -> a virtual host of the route configuration named
// ingress_name; every route configuration a listener asks for exists (maybe
// without virtual hosts), and a proxyless gRPC target without policies gets
// one virtual host "*" routing to its service.
#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "envoy/config/route/v3/route.pb.h"
#include "envoy/extensions/filters/http/cors/v3/cors.pb.h"
#include "re2/re2.h"
#include "src/xds/translate/internal.h"

namespace protomesh::xds::translate {
namespace {

using envoy::config::route::v3::RouteConfiguration;
using envoy::config::route::v3::VirtualHost;
using types::v1::RoutingPolicy;

constexpr char kDefaultRetryOn[] = "5xx,connect-failure,refused-stream";
constexpr absl::string_view kEveryDomain = "*";

// A virtual host and what it could not route.
struct HostResult {
  VirtualHost host;
  std::vector<std::string> missing;  // one message per route or target
};

absl::Status HeaderMatcher(const RoutingPolicy::HeaderMatch& match,
                           envoy::config::route::v3::HeaderMatcher& out) {
  if (!IsHeaderName(match.name())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "header match name \"", absl::CEscape(match.name()), "\" is not a header name"));
  }
  out.set_name(match.name());
  out.set_invert_match(match.invert());
  auto value = [&](const std::string& text, bool may_be_empty) -> absl::Status {
    if ((!may_be_empty && text.empty()) || !IsHeaderValue(text)) {
      return absl::InvalidArgumentError(
          absl::StrCat("header match on \"", match.name(), "\" has an empty or invalid value"));
    }
    return absl::OkStatus();
  };
  auto* string_match = out.mutable_string_match();
  absl::Status status;
  switch (match.match_case()) {
    case RoutingPolicy::HeaderMatch::kExact:
      status = value(match.exact(), true);
      string_match->set_exact(match.exact());
      break;
    case RoutingPolicy::HeaderMatch::kPrefix:
      status = value(match.prefix(), false);
      string_match->set_prefix(match.prefix());
      break;
    case RoutingPolicy::HeaderMatch::kSuffix:
      status = value(match.suffix(), false);
      string_match->set_suffix(match.suffix());
      break;
    case RoutingPolicy::HeaderMatch::kContains:
      status = value(match.contains(), false);
      string_match->set_contains(match.contains());
      break;
    case RoutingPolicy::HeaderMatch::kRegex: {
      // Envoy would reject the whole route configuration, other policies'
      // virtual hosts included, for one bad expression.
      RE2 re(match.regex(), RE2::Quiet);
      if (match.regex().empty() || !re.ok()) {
        return absl::InvalidArgumentError(absl::StrCat("header match on \"", match.name(),
                                                       "\": regex \"", absl::CEscape(match.regex()),
                                                       "\" is not valid RE2: ", re.error()));
      }
      string_match->mutable_safe_regex()->set_regex(match.regex());
      break;
    }
    case RoutingPolicy::HeaderMatch::kPresent:
      out.clear_string_match();
      // present: false means "absent": Envoy's present_match with the
      // condition inverted.
      out.set_present_match(true);
      if (!match.present()) out.set_invert_match(!match.invert());
      break;
    case RoutingPolicy::HeaderMatch::MATCH_NOT_SET:
      return absl::InvalidArgumentError(
          absl::StrCat("header match on \"", match.name(),
                       "\" sets none of exact, prefix, suffix, contains, regex and present"));
  }
  return status;
}

absl::StatusOr<HostResult> BuildVirtualHost(const RoutingPolicy& policy,
                                            const std::map<std::string, Entry>& clusters) {
  HostResult result;
  VirtualHost& host = result.host;
  const std::string domain = policy.domain().empty() ? std::string(kEveryDomain) : policy.domain();
  if (!IsHeaderValue(domain) || domain.find_first_of(" \t") != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("domain \"", absl::CEscape(domain), "\" is not a domain"));
  }
  host.add_domains(domain);

  for (const RoutingPolicy::Route& route : policy.routes()) {
    const std::string where = absl::StrCat("route \"", route.match_prefix(), "\"");
    auto* out = host.add_routes();
    out->mutable_match()->set_prefix(route.match_prefix());
    for (const auto& header : route.header_matches()) {
      absl::Status status = HeaderMatcher(header, *out->mutable_match()->add_headers());
      if (!status.ok())
        return absl::InvalidArgumentError(absl::StrCat(where, ": ", status.message()));
    }

    const bool single = !route.target_service().empty();
    const bool weighted = !route.weighted_targets().empty();
    if (single == weighted) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, " needs exactly one of target_service and weighted_targets"));
    }
    // Checked before anything is dropped for a missing service, so that a
    // policy is judged on its own content.
    if (route.has_timeout()) {
      absl::Status status = CheckDuration(route.timeout(), absl::StrCat(where, ": timeout"), false);
      if (!status.ok()) return status;
    }
    if (route.has_retry_policy() && route.retry_policy().has_per_try_timeout()) {
      absl::Status status = CheckDuration(route.retry_policy().per_try_timeout(),
                                          absl::StrCat(where, ": per_try_timeout"), true);
      if (!status.ok()) return status;
    }
    if (!IsHeaderValue(route.match_prefix()) || !IsHeaderValue(route.prefix_rewrite())) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": invalid prefix"));
    }

    std::vector<const RoutingPolicy::WeightedTarget*> present;
    if (single) {
      if (clusters.count(route.target_service()) == 0) {
        result.missing.push_back(absl::StrCat(where, ": service \"", route.target_service(),
                                              "\" does not exist; the route answers 503"));
      }
    } else {
      uint64_t total = 0;
      std::set<std::string> seen;
      for (const auto& target : route.weighted_targets()) {
        if (target.service().empty() || !seen.insert(target.service()).second) {
          return absl::InvalidArgumentError(
              absl::StrCat(where, ": weighted_targets need distinct, non-empty service names"));
        }
        total += target.weight();
        if (clusters.count(target.service()) > 0) {
          present.push_back(&target);
        } else {
          result.missing.push_back(absl::StrCat(where, ": weighted target \"", target.service(),
                                                "\" does not exist; it is left out of the split"));
        }
      }
      if (total == 0) {
        return absl::InvalidArgumentError(absl::StrCat(where, ": the weights sum to 0"));
      }
      uint64_t present_total = 0;
      for (const auto* target : present) present_total += target->weight();
      if (present_total == 0) {
        result.missing.push_back(absl::StrCat(
            where, ": no weighted target with a weight exists; the route answers 503"));
        present.clear();
      }
    }

    if ((single && clusters.count(route.target_service()) == 0) || (weighted && present.empty())) {
      out->mutable_direct_response()->set_status(503);
      continue;
    }
    auto* action = out->mutable_route();
    if (single) {
      action->set_cluster(route.target_service());
    } else {
      uint32_t sum = 0;
      for (const auto* target : present) {
        auto* cluster = action->mutable_weighted_clusters()->add_clusters();
        cluster->set_name(target->service());
        cluster->mutable_weight()->set_value(target->weight());
        sum += target->weight();
      }
      // Deprecated (Envoy now uses the sum), but proxyless gRPC clients
      // before 1.55 take an unset total as 100 and NACK any other sum: a
      // 3:1 split, or a split missing one of its targets.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
      action->mutable_weighted_clusters()->mutable_total_weight()->set_value(sum);
#pragma GCC diagnostic pop
    }
    if (route.has_timeout()) *action->mutable_timeout() = route.timeout();
    if (!route.prefix_rewrite().empty()) action->set_prefix_rewrite(route.prefix_rewrite());
    if (route.has_retry_policy()) {
      const auto& retry = route.retry_policy();
      auto* policy_out = action->mutable_retry_policy();
      policy_out->set_retry_on(retry.retry_on().empty() ? std::string(kDefaultRetryOn)
                                                        : absl::StrJoin(retry.retry_on(), ","));
      if (retry.num_retries() > 0)
        policy_out->mutable_num_retries()->set_value(retry.num_retries());
      if (retry.has_per_try_timeout())
        *policy_out->mutable_per_try_timeout() = retry.per_try_timeout();
    }
  }

  if (policy.has_cors()) {
    const auto& cors = policy.cors();
    envoy::extensions::filters::http::cors::v3::CorsPolicy out;
    for (const std::string& prefix : cors.allow_origin_string_match_prefix()) {
      if (prefix.empty()) {
        return absl::InvalidArgumentError("cors: an allowed origin prefix is empty");
      }
      out.add_allow_origin_string_match()->set_prefix(prefix);
    }
    out.set_allow_methods(absl::StrJoin(cors.allow_methods(), ","));
    out.set_allow_headers(absl::StrJoin(cors.allow_headers(), ","));
    out.set_expose_headers(absl::StrJoin(cors.expose_headers(), ","));
    if (cors.has_max_age()) {
      absl::Status status = CheckDuration(cors.max_age(), "cors.max_age", false);
      if (!status.ok()) return status;
      out.set_max_age(absl::StrCat(cors.max_age().seconds()));
    }
    (*host.mutable_typed_per_filter_config())["envoy.filters.http.cors"] = Pack(out);
  }
  return result;
}

// A route configuration being assembled from several resources.
struct Building {
  RouteConfiguration config;
  std::set<std::string> domains;  // lower case: Envoy compares them so
  std::set<std::string> host_names;
  std::string owner;
};

}  // namespace

void TranslateRoutes(const Inputs& inputs, Nodes& nodes, Errors& errors) {
  std::map<std::string, std::map<std::string, Building>> building;  // node cluster, name

  for (const auto& [resource, policy] : inputs.policies) {
    if (policy.ingress_name().empty()) {
      errors.Report(*resource, "ingress_name is empty");
      continue;
    }
    const std::string& node_cluster = policy.xds_cluster_name();
    NodeBuild& node = nodes[node_cluster];
    absl::StatusOr<HostResult> result = BuildVirtualHost(policy, node.clusters);
    if (!result.ok()) {
      errors.Report(*resource, std::string(result.status().message()));
      continue;
    }
    if (policy.has_cors() && node.grpc_targets.count(policy.ingress_name()) > 0) {
      // gRPC clients reject a route configuration with per-filter config
      // of a filter they do not implement, CORS included (gRFC A39).
      errors.Report(*resource, absl::StrCat("cors: route configuration \"", policy.ingress_name(),
                                            "\" is for proxyless gRPC clients, which do not "
                                            "support CORS"));
      continue;
    }
    Building& config = building[node_cluster][policy.ingress_name()];
    const std::string domain = absl::AsciiStrToLower(result->host.domains(0));
    if (config.domains.count(domain) > 0) {
      errors.Report(*resource, absl::StrCat("domain \"", result->host.domains(0),
                                            "\" is already routed in route configuration \"",
                                            policy.ingress_name(), "\" of node cluster \"",
                                            node_cluster, "\" (by ", config.owner, ")"));
      continue;
    }
    config.domains.insert(domain);
    std::string host_name = resource->name();
    if (!config.host_names.insert(host_name).second) {
      host_name = absl::StrCat(resource->name(), "-", resource->id());
      config.host_names.insert(host_name);
    }
    result->host.set_name(host_name);
    if (config.owner.empty()) config.owner = Owner("RoutingPolicy", *resource);
    *config.config.add_virtual_hosts() = std::move(result->host);
    for (std::string& message : result->missing) {
      errors.Report(*resource, absl::StrCat(message, " (node cluster \"", node_cluster, "\")"));
    }
  }

  for (auto& [node_cluster, node] : nodes) {
    auto& configs = building[node_cluster];
    for (const std::string& name : node.rds_names) configs[name];
    for (const auto& [target, cluster] : node.grpc_targets) {
      Building& config = configs[target];
      if (config.config.virtual_hosts_size() > 0) continue;
      auto* host = config.config.add_virtual_hosts();
      host->set_name(target);
      host->add_domains(std::string(kEveryDomain));
      auto* route = host->add_routes();
      route->mutable_match()->set_prefix("");
      route->mutable_route()->set_cluster(cluster);
    }
    for (auto& [name, config] : configs) {
      config.config.set_name(name);
      std::string owner =
          config.owner.empty() ? absl::StrCat("the listener \"", name, "\"") : config.owner;
      Claim(node.routes, name, Entry{Pack(config.config), nullptr, std::move(owner)});
    }
  }
}

}  // namespace protomesh::xds::translate
