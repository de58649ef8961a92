// The translator: golden files of what each node cluster is served (the
// examples and one per feature; UPDATE_GOLDEN=1 rewrites them), invariants
// checked over every translation (routes name existing clusters, every EDS
// cluster has endpoints, listener ports are unique, versions are content
// hashes, and the same input in any order gives the same versions), and
// each error case: the error is reported and everything else still served.
#include "src/xds/translate/translator.h"

#include <gmock/gmock.h>
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>
#include <openssl/sha.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "api/types/v1/envoy.pb.h"
#include "api/types/v1/gateway.pb.h"
#include "api/types/v1/networking.pb.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/config/route/v3/route.pb.h"
#include "envoy/extensions/filters/http/cors/v3/cors.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/json_util.h"
#include "src/common/json_text.h"
#include "src/common/proto_bytes.h"
#include "src/xds/envoy_descriptors.h"

namespace protomesh::xds {
namespace {

namespace pb = google::protobuf;
using envoy::config::cluster::v3::Cluster;
using envoy::config::endpoint::v3::ClusterLoadAssignment;
using envoy::config::listener::v3::Listener;
using envoy::config::route::v3::RouteConfiguration;
using HttpConnectionManager =
    envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using types::v1::Resource;

constexpr char kNamespace[] = "shop";
constexpr char kHcmType[] =
    "type.googleapis.com/"
    "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";

// ---------------------------------------------------------------------------
// Building inputs.

// A stable, UUID-shaped id per name (FNV-1a), so goldens do not change.
std::string FakeId(std::string_view name) {
  uint64_t hash = 1469598103934665603ULL;
  for (char c : name) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ULL;
  }
  std::string hex =
      absl::StrCat(absl::Hex(hash, absl::kZeroPad16), absl::Hex(~hash, absl::kZeroPad16));
  return absl::StrCat(hex.substr(0, 8), "-", hex.substr(8, 4), "-", hex.substr(12, 4), "-",
                      hex.substr(16, 4), "-", hex.substr(20, 12));
}

Resource MakeResource(const std::string& name, const pb::Any& spec) {
  Resource resource;
  resource.set_namespace_(kNamespace);
  resource.set_id(FakeId(name));
  resource.set_name(name);
  *resource.mutable_spec() = spec;
  return resource;
}

Resource MakeResource(const std::string& name, const pb::Message& spec) {
  pb::Any any;
  any.PackFrom(spec);
  return MakeResource(name, any);
}

// A NetworkingNode whose `field` (http_ingress, service, routing_policy,
// instance_set) is `json` (protobuf's JSON mapping).
Resource Node(const std::string& name, const std::string& field, const std::string& json) {
  types::v1::NetworkingNode node;
  auto status = pb::util::JsonStringToMessage(absl::StrCat("{\"", field, "\":", json, "}"), &node);
  EXPECT_TRUE(status.ok()) << name << ": " << status;
  return MakeResource(name, node);
}

// A raw Envoy resource from JSON: wrapped in an EnvoyResource scoped to
// `scope`, or with std::nullopt stored as the spec itself.
Resource Raw(const std::string& name, const std::string& envoy_type, const std::string& json,
             std::optional<std::string> scope) {
  absl::StatusOr<pb::Any> any = AnyFromJson(envoy_type, json);
  EXPECT_TRUE(any.ok()) << name << ": " << any.status();
  if (!any.ok()) return Resource();
  if (!scope.has_value()) return MakeResource(name, *any);
  types::v1::EnvoyResource wrapper;
  wrapper.set_xds_cluster_name(*scope);
  *wrapper.mutable_resource() = *any;
  return MakeResource(name, wrapper);
}

// YAML -> JSON, enough for examples/*.yaml: plain scalars that read as
// numbers or booleans stay unquoted, everything else is a string.
std::string YamlToJson(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      std::vector<std::string> members;
      for (const auto& item : node) {
        members.push_back(
            absl::StrCat(json::Quote(item.first.as<std::string>()), ":", YamlToJson(item.second)));
      }
      return absl::StrCat("{", absl::StrJoin(members, ","), "}");
    }
    case YAML::NodeType::Sequence: {
      std::vector<std::string> items;
      for (const auto& item : node) items.push_back(YamlToJson(item));
      return absl::StrCat("[", absl::StrJoin(items, ","), "]");
    }
    case YAML::NodeType::Scalar: {
      const std::string& text = node.Scalar();
      if (node.Tag() != "!") {
        if (text == "true" || text == "false") return text;
        bool number = !text.empty();
        for (size_t i = 0; i < text.size(); ++i) {
          if (!(std::isdigit(static_cast<unsigned char>(text[i])) || (i == 0 && text[i] == '-'))) {
            number = false;
          }
        }
        if (number) return text;
      }
      return json::Quote(text);
    }
    default:
      return "null";
  }
}

std::vector<Resource> LoadExample(const std::string& file) {
  static const std::map<std::string, std::string> kFields = {{"HttpIngress", "http_ingress"},
                                                             {"Service", "service"},
                                                             {"RoutingPolicy", "routing_policy"},
                                                             {"InstanceSet", "instance_set"}};
  std::vector<Resource> resources;
  for (const YAML::Node& document :
       YAML::LoadAllFromFile(absl::StrCat(PROTOMESH_SOURCE_DIR, "/examples/", file))) {
    const std::string kind = document["kind"].as<std::string>();
    EXPECT_EQ(kFields.count(kind), 1u) << kind;
    Resource resource =
        Node(document["name"].as<std::string>(), kFields.at(kind), YamlToJson(document["spec"]));
    resource.set_namespace_(document["namespace"].as<std::string>());
    resources.push_back(std::move(resource));
  }
  return resources;
}

std::vector<Resource> Examples() {
  std::vector<Resource> resources = LoadExample("ingress.yaml");
  for (Resource& resource : LoadExample("services.yaml")) resources.push_back(std::move(resource));
  return resources;
}

std::vector<Resource> Concat(std::vector<Resource> a, const std::vector<Resource>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// ---------------------------------------------------------------------------
// Reading outputs.

std::string Sha256Hex(const std::string& bytes) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

const XdsResource* Find(const Translation& translation, const std::string& node_cluster,
                        const std::string& type, const std::string& name) {
  auto snapshot = translation.snapshots.find(node_cluster);
  if (snapshot == translation.snapshots.end()) return nullptr;
  auto resources = snapshot->second->resources.find(type);
  if (resources == snapshot->second->resources.end()) return nullptr;
  auto resource = resources->second.find(name);
  return resource == resources->second.end() ? nullptr : resource->second.get();
}

template <typename T>
T Get(const Translation& translation, const std::string& node_cluster, const std::string& type,
      const std::string& name) {
  T message;
  const XdsResource* resource = Find(translation, node_cluster, type, name);
  if (resource == nullptr) {
    ADD_FAILURE() << "no " << type << " \"" << name << "\" in node cluster \"" << node_cluster
                  << "\"";
  } else {
    EXPECT_TRUE(resource->resource.UnpackTo(&message));
  }
  return message;
}

HttpConnectionManager ListenerHcm(const Listener& listener) {
  HttpConnectionManager hcm;
  if (listener.has_api_listener()) {
    EXPECT_TRUE(listener.api_listener().api_listener().UnpackTo(&hcm));
  } else if (listener.filter_chains_size() > 0 && listener.filter_chains(0).filters_size() > 0) {
    EXPECT_TRUE(listener.filter_chains(0).filters(0).typed_config().UnpackTo(&hcm));
  }
  return hcm;
}

// (node cluster, type, name) -> version
using Served = std::map<std::tuple<std::string, std::string, std::string>, std::string>;

Served ServedVersions(const Translation& translation) {
  Served served;
  for (const auto& [node_cluster, snapshot] : translation.snapshots) {
    for (const auto& [type, resources] : snapshot->resources) {
      for (const auto& [name, resource] : resources) {
        served[{node_cluster, type, name}] = resource->version;
      }
    }
  }
  return served;
}

std::vector<std::string> ErrorTexts(const Translation& translation) {
  std::vector<std::string> texts;
  for (const auto& error : translation.errors) {
    texts.push_back(
        absl::StrCat(error.namespace_, "/", error.name, " (", error.id, "): ", error.message));
  }
  return texts;
}

// ---------------------------------------------------------------------------
// Invariants, checked on every translation the tests make.

void CheckInvariants(const Translation& translation) {
  for (const auto& [node_cluster, snapshot] : translation.snapshots) {
    SCOPED_TRACE(absl::StrCat("node cluster \"", node_cluster, "\""));
    ASSERT_NE(snapshot, nullptr);
    ASSERT_EQ(snapshot->resources.size(), 4u);
    for (const std::string& type : TypeOrder()) {
      ASSERT_EQ(snapshot->resources.count(type), 1u) << type;
      ASSERT_EQ(snapshot->type_versions.count(type), 1u) << type;
      for (const auto& [name, resource] : snapshot->resources.at(type)) {
        EXPECT_EQ(resource->name, name);
        EXPECT_EQ(resource->resource.type_url(), type);
        // Each version is the content hash of its resource.
        EXPECT_EQ(resource->version, Sha256Hex(SerializeDeterministic(resource->resource))) << name;
      }
    }

    std::set<std::string> clusters, eds_names;
    for (const auto& [name, resource] : snapshot->resources.at(kClusterType)) {
      Cluster cluster;
      ASSERT_TRUE(resource->resource.UnpackTo(&cluster)) << name;
      EXPECT_EQ(cluster.name(), name);
      clusters.insert(name);
      const auto& eds = cluster.eds_cluster_config();
      if (cluster.type() == Cluster::EDS &&
          (eds.eds_config().has_ads() || eds.eds_config().has_self())) {
        eds_names.insert(eds.service_name().empty() ? name : eds.service_name());
      }
    }
    // Every EDS cluster gets a ClusterLoadAssignment.
    for (const std::string& name : eds_names) {
      const XdsResource* assignment = Find(translation, node_cluster, kEndpointType, name);
      EXPECT_NE(assignment, nullptr) << "EDS cluster " << name << " has no ClusterLoadAssignment";
      if (assignment == nullptr) continue;
      ClusterLoadAssignment cla;
      ASSERT_TRUE(assignment->resource.UnpackTo(&cla));
      EXPECT_EQ(cla.cluster_name(), name);
    }

    // Listener ports are unique; every RDS name a listener asks for exists.
    std::map<uint32_t, std::string> ports;
    for (const auto& [name, resource] : snapshot->resources.at(kListenerType)) {
      Listener listener;
      ASSERT_TRUE(resource->resource.UnpackTo(&listener)) << name;
      EXPECT_EQ(listener.name(), name);
      if (listener.address().has_socket_address()) {
        uint32_t port = listener.address().socket_address().port_value();
        auto [it, inserted] = ports.emplace(port, name);
        EXPECT_TRUE(inserted) << "port " << port << " used by " << it->second << " and " << name;
      }
      bool has_hcm = listener.has_api_listener();
      for (const auto& chain : listener.filter_chains()) {
        for (const auto& filter : chain.filters())
          has_hcm |= filter.typed_config().type_url() == kHcmType;
      }
      if (!has_hcm) continue;
      HttpConnectionManager hcm = ListenerHcm(listener);
      if (hcm.has_rds()) {
        EXPECT_NE(Find(translation, node_cluster, kRouteType, hcm.rds().route_config_name()),
                  nullptr)
            << "listener " << name << " asks for route configuration "
            << hcm.rds().route_config_name();
      }
      ASSERT_GT(hcm.http_filters_size(), 0) << name;
      EXPECT_EQ(hcm.http_filters(hcm.http_filters_size() - 1).name(), "envoy.filters.http.router");
    }

    // Every route's cluster exists in the same node cluster.
    for (const auto& [name, resource] : snapshot->resources.at(kRouteType)) {
      RouteConfiguration config;
      ASSERT_TRUE(resource->resource.UnpackTo(&config)) << name;
      EXPECT_EQ(config.name(), name);
      std::set<std::string> domains;
      for (const auto& host : config.virtual_hosts()) {
        for (const std::string& domain : host.domains()) {
          EXPECT_TRUE(domains.insert(domain).second) << "domain " << domain << " twice in " << name;
        }
        for (const auto& route : host.routes()) {
          if (!route.has_route()) continue;
          if (!route.route().cluster().empty()) {
            EXPECT_EQ(clusters.count(route.route().cluster()), 1u)
                << name << " routes to missing cluster " << route.route().cluster();
          }
          for (const auto& weighted : route.route().weighted_clusters().clusters()) {
            EXPECT_EQ(clusters.count(weighted.name()), 1u)
                << name << " routes to missing cluster " << weighted.name();
          }
        }
      }
    }
  }
}

// The same input in another order gives the same snapshots, versions and
// errors.
void CheckDeterministic(std::vector<Resource> resources, const Translation& expected) {
  std::reverse(resources.begin(), resources.end());
  for (int round = 0; round < 2; ++round) {
    Translation again = Translate(resources, expected.revision);
    EXPECT_EQ(ServedVersions(again), ServedVersions(expected));
    EXPECT_EQ(ErrorTexts(again), ErrorTexts(expected));
    for (const auto& [node_cluster, snapshot] : expected.snapshots) {
      ASSERT_EQ(again.snapshots.count(node_cluster), 1u);
      EXPECT_EQ(again.snapshots.at(node_cluster)->type_versions, snapshot->type_versions);
    }
    std::mt19937 random(42 + round);
    std::shuffle(resources.begin(), resources.end(), random);
  }
}

Translation TranslateChecked(const std::vector<Resource>& resources, int64_t revision = 7) {
  Translation translation = Translate(resources, revision);
  EXPECT_EQ(translation.revision, revision);
  CheckInvariants(translation);
  CheckDeterministic(resources, translation);
  return translation;
}

// ---------------------------------------------------------------------------
// Golden files: the snapshots as text, each resource in protobuf text format
// with its Anys expanded.


class TestTypes {
 public:
  static TestTypes& Get() {
    static TestTypes* types = new TestTypes();
    return *types;
  }

  const pb::DescriptorPool& pool() const { return pool_; }

  std::unique_ptr<pb::Message> Parse(const pb::Any& any) {
    std::string name = any.type_url().substr(any.type_url().rfind('/') + 1);
    const pb::Descriptor* descriptor = pool_.FindMessageTypeByName(name);
    if (descriptor == nullptr) return nullptr;
    std::unique_ptr<pb::Message> message(factory_.GetPrototype(descriptor)->New());
    if (!message->ParseFromString(any.value())) return nullptr;
    return message;
  }

  std::string Text(const pb::Any& any) {
    std::unique_ptr<pb::Message> message = Parse(any);
    if (message == nullptr) return absl::StrCat("(cannot parse ", any.type_url(), ")\n");
    pb::TextFormat::Printer printer;
    printer.SetExpandAny(true);
    printer.SetFinder(&finder_);
    std::string text;
    printer.PrintToString(*message, &text);
    return text;
  }

 private:
  class Finder : public pb::TextFormat::Finder {
   public:
    explicit Finder(const pb::DescriptorPool* pool) : pool_(pool) {}
    const pb::Descriptor* FindAnyType(const pb::Message&, const std::string&,
                                      const std::string& name) const override {
      return pool_->FindMessageTypeByName(name);
    }

   private:
    const pb::DescriptorPool* pool_;
  };

  TestTypes() : pool_(&EnvoyDescriptorPool()), finder_(&pool_) {}

  pb::DescriptorPool pool_;  // Envoy's types
  pb::DynamicMessageFactory factory_;
  Finder finder_;
};

std::string GoldenText(const Translation& translation) {
  std::string text = "# translator_test golden file; UPDATE_GOLDEN=1 rewrites it.\n";
  for (const auto& [node_cluster, snapshot] : translation.snapshots) {
    absl::StrAppend(&text, "\n=== node cluster \"", node_cluster, "\"\n");
    for (const std::string& type : TypeOrder()) {
      const std::string short_type = type.substr(type.rfind('.') + 1);
      const auto& resources = snapshot->resources.at(type);
      if (resources.empty()) absl::StrAppend(&text, "\n--- no ", short_type, "\n");
      for (const auto& [name, resource] : resources) {
        absl::StrAppend(&text, "\n--- ", short_type, " \"", name, "\"\n",
                        TestTypes::Get().Text(resource->resource));
      }
    }
  }
  if (!translation.errors.empty()) {
    absl::StrAppend(&text, "\n=== errors\n");
    for (const std::string& error : ErrorTexts(translation)) absl::StrAppend(&text, error, "\n");
  }
  return text;
}

void ExpectGolden(const std::string& name, const Translation& translation) {
  const std::string path =
      absl::StrCat(PROTOMESH_SOURCE_DIR, "/tests/xds/translate/golden/", name, ".txt");
  const std::string actual = GoldenText(translation);
  const char* update = std::getenv("UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << actual;
    ASSERT_TRUE(out.good()) << "cannot write " << path;
    return;
  }
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(in.good()) << "no golden file " << path << "; run with UPDATE_GOLDEN=1 to create it";
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string expected = buffer.str();
  if (expected == actual) return;
  std::vector<std::string> want = absl::StrSplit(expected, '\n');
  std::vector<std::string> got = absl::StrSplit(actual, '\n');
  size_t line = 0;
  while (line < want.size() && line < got.size() && want[line] == got[line]) ++line;
  ADD_FAILURE() << "output differs from " << path << " at line " << line + 1
                << ":\n  golden: " << (line < want.size() ? want[line] : "(end)")
                << "\n  actual: " << (line < got.size() ? got[line] : "(end)")
                << "\nReview the change and rerun with UPDATE_GOLDEN=1 to accept it.";
}

// ---------------------------------------------------------------------------
// Inputs shared by several tests.

const char kOrdersV1[] = R"({"service_name": "orders-v1", "xds_cluster_name": "edge",
                             "connect_timeout": "1s", "instance_http2_options": {}})";
const char kOrdersV2[] = R"({"service_name": "orders-v2", "xds_cluster_name": "edge",
                             "connect_timeout": "1s", "instance_http2_options": {}})";

std::vector<Resource> OrdersVersions() {
  return {
      Node("orders-v1", "service", kOrdersV1),
      Node("orders-v2", "service", kOrdersV2),
      Node("orders-v1-instances", "instance_set", R"({"match_service_names": ["orders-v1"],
           "instances": [{"hostname": "orders-v1-a", "address": "10.0.3.1", "port": 8080},
                         {"hostname": "orders-v1-b", "address": "10.0.3.2", "port": 8080}]})"),
      Node("orders-v2-instances", "instance_set", R"({"match_service_names": ["orders-v2"],
           "instances": [{"hostname": "orders-v2-a", "address": "10.0.4.1", "port": 8080,
                          "region": "eu-west-1", "zone": "eu-west-1c"}]})"),
  };
}

// ---------------------------------------------------------------------------
// Golden translations.

TEST(TranslatorGoldenTest, Examples) {
  Translation translation = TranslateChecked(Examples());
  ExpectGolden("examples", translation);
  EXPECT_THAT(ErrorTexts(translation), ElementsAre());
  ASSERT_THAT(translation.snapshots.size(), 1u);

  Listener listener = Get<Listener>(translation, "edge", kListenerType, "public");
  EXPECT_EQ(listener.address().socket_address().address(), "0.0.0.0");
  EXPECT_EQ(listener.address().socket_address().port_value(), 8080u);
  HttpConnectionManager hcm = ListenerHcm(listener);
  EXPECT_EQ(hcm.stat_prefix(), "public");
  EXPECT_EQ(hcm.rds().route_config_name(), "public");
  EXPECT_TRUE(hcm.rds().config_source().has_ads());
  std::vector<std::string> filters;
  for (const auto& filter : hcm.http_filters()) filters.push_back(filter.name());
  EXPECT_THAT(filters, ElementsAre("envoy.filters.http.health_check", "envoy.filters.http.cors",
                                   "envoy.filters.http.jwt_authn", "envoy.filters.http.router"));
  ASSERT_EQ(hcm.access_log_size(), 1);
  EXPECT_EQ(hcm.access_log(0).name(), "envoy.access_loggers.stdout");

  // jwt_authn, built dynamically, reads back as Envoy's JSON.
  std::unique_ptr<pb::Message> jwt = TestTypes::Get().Parse(hcm.http_filters(2).typed_config());
  ASSERT_NE(jwt, nullptr);
  std::string jwt_json;
  ASSERT_TRUE(pb::util::MessageToJsonString(*jwt, &jwt_json).ok());
  EXPECT_THAT(jwt_json, HasSubstr(R"("requires":{"providerName":"identity"})"));
  EXPECT_THAT(jwt_json, HasSubstr(R"("cluster":"identity-jwks","timeout":"2s")"));

  Cluster catalog = Get<Cluster>(translation, "edge", kClusterType, "catalog");
  EXPECT_EQ(catalog.type(), Cluster::EDS);
  EXPECT_TRUE(catalog.eds_cluster_config().eds_config().has_ads());
  EXPECT_EQ(catalog.connect_timeout().seconds(), 1);
  EXPECT_FALSE(catalog.has_transport_socket());
  Cluster orders = Get<Cluster>(translation, "edge", kClusterType, "orders");
  EXPECT_EQ(orders.transport_socket().name(), "envoy.transport_sockets.tls");

  ClusterLoadAssignment endpoints =
      Get<ClusterLoadAssignment>(translation, "edge", kEndpointType, "catalog");
  ASSERT_EQ(endpoints.endpoints_size(), 2);
  EXPECT_EQ(endpoints.endpoints(0).locality().zone(), "eu-west-1a");
  EXPECT_EQ(endpoints.endpoints(1).locality().zone(), "eu-west-1b");
  EXPECT_EQ(endpoints.endpoints(1).lb_endpoints(0).endpoint().address().socket_address().address(),
            "10.0.2.11");

  RouteConfiguration routes = Get<RouteConfiguration>(translation, "edge", kRouteType, "public");
  ASSERT_EQ(routes.virtual_hosts_size(), 1);
  const auto& host = routes.virtual_hosts(0);
  EXPECT_THAT(host.domains(), ElementsAre("shop.example.com"));
  ASSERT_EQ(host.routes_size(), 2);
  EXPECT_EQ(host.routes(0).match().prefix(), "/api/orders");
  EXPECT_EQ(host.routes(0).route().cluster(), "orders");
  EXPECT_EQ(host.routes(0).route().prefix_rewrite(), "/orders");
  EXPECT_EQ(host.routes(0).route().timeout().seconds(), 10);
  envoy::extensions::filters::http::cors::v3::CorsPolicy cors;
  ASSERT_TRUE(host.typed_per_filter_config().at("envoy.filters.http.cors").UnpackTo(&cors));
  EXPECT_EQ(cors.allow_methods(), "GET,POST,PUT,DELETE");
  EXPECT_EQ(cors.max_age(), "600");
}

TEST(TranslatorGoldenTest, HttpProtocolOptionsAreEncodedWithEnvoysFieldNumbers) {
  Translation translation = TranslateChecked(Examples());
  Cluster catalog = Get<Cluster>(translation, "edge", kClusterType, "catalog");
  const pb::Any& options = catalog.typed_extension_protocol_options().at(
      "envoy.extensions.upstreams.http.v3.HttpProtocolOptions");
  std::unique_ptr<pb::Message> parsed = TestTypes::Get().Parse(options);
  ASSERT_NE(parsed, nullptr);
  EXPECT_EQ(
      parsed->ShortDebugString(),
      "explicit_http_config { http2_protocol_options { max_concurrent_streams { value: 100 } } }");
  Cluster orders = Get<Cluster>(translation, "edge", kClusterType, "orders");
  parsed = TestTypes::Get().Parse(orders.typed_extension_protocol_options().at(
      "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"));
  ASSERT_NE(parsed, nullptr);
  EXPECT_EQ(parsed->ShortDebugString(), "explicit_http_config { http_protocol_options { } }");
}

TEST(TranslatorGoldenTest, CanaryRoutesWithRetriesAndHeaderMatches) {
  std::vector<Resource> resources = OrdersVersions();
  resources.push_back(Node("edge-ingress", "http_ingress", R"({"xds_cluster_name": "edge",
      "ingress_name": "public", "listen_port": 8080})"));
  resources.push_back(Node("orders-canary", "routing_policy", R"({
      "ingress_name": "public", "xds_cluster_name": "edge", "domain": "orders.example.com",
      "routes": [
        {"match_prefix": "/", "target_service": "orders-v2",
         "header_matches": [{"name": "x-canary", "exact": "always"}]},
        {"match_prefix": "/", "target_service": "orders-v1",
         "header_matches": [{"name": "x-canary", "exact": "never"},
                            {"name": "user-agent", "regex": ".*(bot|crawler).*"},
                            {"name": "x-debug", "present": false}]},
        {"match_prefix": "/", "timeout": "5s",
         "weighted_targets": [{"service": "orders-v1", "weight": 90},
                              {"service": "orders-v2", "weight": 10}],
         "retry_policy": {"retry_on": ["5xx", "reset"], "num_retries": 3,
                          "per_try_timeout": "1.500s"}}]})"));
  Translation translation = TranslateChecked(resources);
  ExpectGolden("canary", translation);
  EXPECT_THAT(ErrorTexts(translation), ElementsAre());

  RouteConfiguration config = Get<RouteConfiguration>(translation, "edge", kRouteType, "public");
  ASSERT_EQ(config.virtual_hosts_size(), 1);
  const auto& routes = config.virtual_hosts(0).routes();
  ASSERT_EQ(routes.size(), 3);
  EXPECT_EQ(routes[0].match().headers(0).string_match().exact(), "always");
  EXPECT_EQ(routes[1].match().headers(1).string_match().safe_regex().regex(), ".*(bot|crawler).*");
  EXPECT_TRUE(routes[1].match().headers(2).present_match());
  EXPECT_TRUE(routes[1].match().headers(2).invert_match());
  const auto& split = routes[2].route().weighted_clusters().clusters();
  ASSERT_EQ(split.size(), 2);
  EXPECT_EQ(split[0].name(), "orders-v1");
  EXPECT_EQ(split[0].weight().value(), 90u);
  EXPECT_EQ(split[1].name(), "orders-v2");
  EXPECT_EQ(split[1].weight().value(), 10u);
  const auto& retry = routes[2].route().retry_policy();
  EXPECT_EQ(retry.retry_on(), "5xx,reset");
  EXPECT_EQ(retry.num_retries().value(), 3u);
  EXPECT_EQ(retry.per_try_timeout().nanos(), 500000000);
}

TEST(TranslatorGoldenTest, ServiceResilienceAndLoadBalancing) {
  std::vector<Resource> resources = {
      Node("payments", "service", R"({"service_name": "payments", "xds_cluster_name": "edge",
          "connect_timeout": "0.250s", "instance_http2_options": {"max_concurrent_streams": 50},
          "lb_policy": "LB_POLICY_LEAST_REQUEST",
          "circuit_breakers": {"max_connections": 100, "max_pending_requests": 10,
                               "max_requests": 200, "max_retries": 5},
          "outlier_detection": {"consecutive_5xx": 3, "interval": "5s",
                                "base_ejection_time": "60s", "max_ejection_percent": 50},
          "health_check": {"path": "/healthz", "interval": "2s", "timeout": "0.5s",
                           "healthy_threshold": 2, "unhealthy_threshold": 4}})"),
      // Defaults: health check intervals and thresholds, outlier detection.
      Node("search", "service", R"({"service_name": "search", "xds_cluster_name": "edge",
          "lb_policy": "LB_POLICY_RING_HASH", "outlier_detection": {},
          "health_check": {"path": "/ready"}})"),
      Node("thumbnails", "service", R"({"service_name": "thumbnails", "xds_cluster_name": "edge",
          "lb_policy": "LB_POLICY_RANDOM", "circuit_breakers": {"max_requests": 20}})"),
  };
  Translation translation = TranslateChecked(resources);
  ExpectGolden("service_features", translation);
  EXPECT_THAT(ErrorTexts(translation), ElementsAre());

  Cluster payments = Get<Cluster>(translation, "edge", kClusterType, "payments");
  EXPECT_EQ(payments.lb_policy(), Cluster::LEAST_REQUEST);
  const auto& thresholds = payments.circuit_breakers().thresholds(0);
  EXPECT_EQ(thresholds.max_connections().value(), 100u);
  EXPECT_EQ(thresholds.max_pending_requests().value(), 10u);
  EXPECT_EQ(thresholds.max_requests().value(), 200u);
  EXPECT_EQ(thresholds.max_retries().value(), 5u);
  EXPECT_EQ(payments.outlier_detection().consecutive_5xx().value(), 3u);
  EXPECT_EQ(payments.outlier_detection().base_ejection_time().seconds(), 60);
  ASSERT_EQ(payments.health_checks_size(), 1);
  EXPECT_EQ(payments.health_checks(0).http_health_check().path(), "/healthz");
  EXPECT_EQ(payments.health_checks(0).http_health_check().codec_client_type(),
            envoy::type::v3::HTTP2);
  EXPECT_EQ(payments.health_checks(0).healthy_threshold().value(), 2u);

  Cluster search = Get<Cluster>(translation, "edge", kClusterType, "search");
  EXPECT_EQ(search.lb_policy(), Cluster::RING_HASH);
  EXPECT_TRUE(search.has_outlier_detection());
  EXPECT_EQ(search.health_checks(0).interval().seconds(), 10);
  EXPECT_EQ(search.health_checks(0).timeout().seconds(), 1);
  EXPECT_EQ(search.health_checks(0).unhealthy_threshold().value(), 3u);
  EXPECT_EQ(Get<Cluster>(translation, "edge", kClusterType, "thumbnails").lb_policy(),
            Cluster::RANDOM);
  // No InstanceSet names them: empty assignments, so Envoy does not wait.
  EXPECT_EQ(
      Get<ClusterLoadAssignment>(translation, "edge", kEndpointType, "payments").endpoints_size(),
      0);
}

TEST(TranslatorGoldenTest, ProxylessGrpcDefaultRoute) {
  std::vector<Resource> resources = {
      Node("greeter", "service", R"({"service_name": "greeter", "xds_cluster_name": "grpc-clients",
          "instance_http2_options": {}, "grpc_target_name": "greeter.shop"})"),
      Node("greeter-instances", "instance_set", R"({"match_service_names": ["greeter"],
          "instances": [{"address": "10.0.5.1", "port": 50051, "zone": "a"},
                        {"address": "10.0.5.2", "port": 50051, "zone": "b"}]})"),
  };
  Translation translation = TranslateChecked(resources);
  ExpectGolden("grpc_default", translation);
  EXPECT_THAT(ErrorTexts(translation), ElementsAre());

  // xds:///greeter.shop: Listener -> RouteConfiguration -> EDS cluster -> endpoints.
  Listener listener = Get<Listener>(translation, "grpc-clients", kListenerType, "greeter.shop");
  ASSERT_TRUE(listener.has_api_listener());
  EXPECT_FALSE(listener.has_address());
  HttpConnectionManager hcm = ListenerHcm(listener);
  EXPECT_EQ(hcm.rds().route_config_name(), "greeter.shop");
  EXPECT_TRUE(hcm.rds().config_source().has_ads());
  RouteConfiguration config =
      Get<RouteConfiguration>(translation, "grpc-clients", kRouteType, "greeter.shop");
  ASSERT_EQ(config.virtual_hosts_size(), 1);
  EXPECT_THAT(config.virtual_hosts(0).domains(), ElementsAre("*"));
  EXPECT_EQ(config.virtual_hosts(0).routes(0).route().cluster(), "greeter");
  EXPECT_TRUE(Get<Cluster>(translation, "grpc-clients", kClusterType, "greeter")
                  .eds_cluster_config()
                  .eds_config()
                  .has_ads());
  EXPECT_EQ(Get<ClusterLoadAssignment>(translation, "grpc-clients", kEndpointType, "greeter")
                .endpoints_size(),
            2);
}

TEST(TranslatorGoldenTest, ProxylessGrpcWeightedRouting) {
  std::vector<Resource> resources = OrdersVersions();
  resources[0] = Node("orders-v1", "service", R"({"service_name": "orders-v1",
      "xds_cluster_name": "edge", "instance_http2_options": {}, "grpc_target_name": "orders"})");
  resources.push_back(Node("orders-split", "routing_policy", R"({"ingress_name": "orders",
      "xds_cluster_name": "edge", "routes": [{"match_prefix": "/",
      "weighted_targets": [{"service": "orders-v1", "weight": 90},
                           {"service": "orders-v2", "weight": 10}],
      "retry_policy": {"retry_on": ["unavailable"], "num_retries": 2}}]})"));
  Translation translation = TranslateChecked(resources);
  ExpectGolden("grpc_weighted", translation);
  EXPECT_THAT(ErrorTexts(translation), ElementsAre());

  RouteConfiguration config = Get<RouteConfiguration>(translation, "edge", kRouteType, "orders");
  ASSERT_EQ(config.virtual_hosts_size(), 1);  // the policy's; no default
  EXPECT_EQ(config.virtual_hosts(0).name(), "orders-split");
  EXPECT_THAT(config.virtual_hosts(0).domains(), ElementsAre("*"));
  const auto& split = config.virtual_hosts(0).routes(0).route().weighted_clusters().clusters();
  ASSERT_EQ(split.size(), 2);
  EXPECT_EQ(split[0].weight().value() + split[1].weight().value(), 100u);
  EXPECT_TRUE(Get<Listener>(translation, "edge", kListenerType, "orders").has_api_listener());
}

TEST(TranslatorGoldenTest, RawEnvoyResourcesArePassedThrough) {
  std::vector<Resource> resources = Examples();
  resources.push_back(Node("internal-api", "service", R"({"service_name": "internal-api",
      "xds_cluster_name": "internal"})"));
  // The JWKS cluster the example ingress names, as a plain Envoy cluster.
  resources.push_back(Raw("identity-jwks", "envoy.config.cluster.v3.Cluster", R"({
      "name": "identity-jwks", "type": "LOGICAL_DNS", "connectTimeout": "2s",
      "loadAssignment": {"clusterName": "identity-jwks", "endpoints": [{"lbEndpoints": [
        {"endpoint": {"address": {"socketAddress": {"address": "id.shop.example.com",
                                                    "portValue": 443}}}}]}]},
      "transportSocket": {"name": "envoy.transport_sockets.tls", "typedConfig": {
        "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
        "sni": "id.shop.example.com"}}})",
                          "edge"));
  // Unscoped: every node cluster of the namespace (edge and internal).
  resources.push_back(Raw("statsd", "envoy.config.cluster.v3.Cluster", R"({
      "name": "statsd", "type": "STATIC", "loadAssignment": {"clusterName": "statsd",
      "endpoints": [{"lbEndpoints": [{"endpoint": {"address": {"socketAddress": {
        "address": "127.0.0.1", "portValue": 8125, "protocol": "UDP"}}}}]}]}})",
                          std::nullopt));
  // An EDS cluster with its own assignment, and its route configuration
  // and listener, all raw.
  resources.push_back(Raw("legacy", "envoy.config.cluster.v3.Cluster", R"({
      "name": "legacy", "type": "EDS", "edsClusterConfig": {"edsConfig": {"ads": {},
      "resourceApiVersion": "V3"}}})",
                          "edge"));
  resources.push_back(Raw("legacy-endpoints", "envoy.config.endpoint.v3.ClusterLoadAssignment",
                          R"({"clusterName": "legacy", "endpoints": [{"lbEndpoints": [
      {"endpoint": {"address": {"socketAddress": {"address": "10.9.0.1", "portValue": 80}}}}]}]})",
                          "edge"));
  resources.push_back(Raw("legacy-routes", "envoy.config.route.v3.RouteConfiguration", R"({
      "name": "legacy", "virtualHosts": [{"name": "legacy", "domains": ["*"],
      "routes": [{"match": {"prefix": "/"}, "route": {"cluster": "legacy"}}]}]})",
                          "edge"));
  resources.push_back(Raw("legacy-listener", "envoy.config.listener.v3.Listener", R"({
      "name": "legacy", "address": {"socketAddress": {"address": "0.0.0.0", "portValue": 8081}},
      "filterChains": [{"filters": [{"name": "envoy.filters.network.http_connection_manager",
        "typedConfig": {"@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
          "statPrefix": "legacy", "rds": {"routeConfigName": "legacy",
            "configSource": {"ads": {}, "resourceApiVersion": "V3"}},
          "httpFilters": [{"name": "envoy.filters.http.router", "typedConfig": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}]}}]}]})",
                          "edge"));
  Translation translation = TranslateChecked(resources);
  ExpectGolden("raw", translation);
  EXPECT_THAT(ErrorTexts(translation), ElementsAre());

  EXPECT_NE(Find(translation, "edge", kClusterType, "identity-jwks"), nullptr);
  EXPECT_EQ(Find(translation, "internal", kClusterType, "identity-jwks"), nullptr);
  EXPECT_NE(Find(translation, "edge", kClusterType, "statsd"), nullptr);
  EXPECT_NE(Find(translation, "internal", kClusterType, "statsd"), nullptr);
  EXPECT_EQ(Get<ClusterLoadAssignment>(translation, "edge", kEndpointType, "legacy")
                .endpoints(0)
                .lb_endpoints(0)
                .endpoint()
                .address()
                .socket_address()
                .address(),
            "10.9.0.1");
  // Passed through: the bytes are the user's (re-serialized canonically).
  Cluster jwks = Get<Cluster>(translation, "edge", kClusterType, "identity-jwks");
  EXPECT_EQ(jwks.type(), Cluster::LOGICAL_DNS);
  EXPECT_EQ(jwks.transport_socket().name(), "envoy.transport_sockets.tls");
}

// ---------------------------------------------------------------------------
// The invariant checks themselves catch what they are meant to.

// A one-node-cluster translation of the given Envoy resources (JSON), with
// correct versions.
Translation Handmade(const std::vector<std::pair<std::string, std::string>>& resources) {
  auto snapshot = std::make_shared<NodeSnapshot>();
  for (const std::string& type : TypeOrder()) snapshot->resources[type];
  for (const auto& [type, json] : resources) {
    absl::StatusOr<pb::Any> any = AnyFromJson(type.substr(type.rfind('/') + 1), json);
    EXPECT_TRUE(any.ok()) << any.status();
    std::unique_ptr<pb::Message> message = TestTypes::Get().Parse(*any);
    const pb::FieldDescriptor* name_field =
        message->GetDescriptor()->FindFieldByName(type == kEndpointType ? "cluster_name" : "name");
    auto resource = std::make_shared<XdsResource>();
    resource->name = message->GetReflection()->GetString(*message, name_field);
    resource->resource.set_type_url(type);
    resource->resource.set_value(SerializeDeterministic(*message));
    resource->version = ContentVersion(resource->resource);
    snapshot->resources[type][resource->name] = resource;
  }
  for (const std::string& type : TypeOrder()) snapshot->type_versions[type] = "v";
  Translation translation;
  translation.snapshots["edge"] = snapshot;
  return translation;
}

Translation RouteToMissingCluster() {
  return Handmade({{kRouteType, R"({"name": "r", "virtualHosts": [{"name": "h", "domains": ["*"],
      "routes": [{"match": {"prefix": "/"}, "route": {"cluster": "ghost"}}]}]})"}});
}
Translation EdsClusterWithoutEndpoints() {
  return Handmade({{kClusterType, R"({"name": "c", "type": "EDS",
      "edsClusterConfig": {"edsConfig": {"ads": {}}}})"}});
}
Translation TwoListenersOnOnePort() {
  return Handmade(
      {{kListenerType, R"({"name": "a", "address": {"socketAddress": {"portValue": 80}}})"},
       {kListenerType, R"({"name": "b", "address": {"socketAddress": {"portValue": 80}}})"}});
}
Translation WrongVersion() {
  Translation translation = Handmade({{kClusterType, R"({"name": "c"})"}});
  auto snapshot = std::make_shared<NodeSnapshot>(*translation.snapshots["edge"]);
  auto resource = std::make_shared<XdsResource>(*snapshot->resources[kClusterType]["c"]);
  resource->version = "stale";
  snapshot->resources[kClusterType]["c"] = resource;
  translation.snapshots["edge"] = snapshot;
  return translation;
}

TEST(TranslatorInvariantsTest, TheChecksCatchViolations) {
  CheckInvariants(Handmade({}));
  EXPECT_NONFATAL_FAILURE(CheckInvariants(RouteToMissingCluster()),
                          "routes to missing cluster ghost");
  EXPECT_NONFATAL_FAILURE(CheckInvariants(EdsClusterWithoutEndpoints()),
                          "EDS cluster c has no ClusterLoadAssignment");
  EXPECT_NONFATAL_FAILURE(CheckInvariants(TwoListenersOnOnePort()), "port 80 used by a and b");
  EXPECT_NONFATAL_FAILURE(CheckInvariants(WrongVersion()), "stale");
}

// ---------------------------------------------------------------------------
// Scoping and versions.

TEST(TranslatorTest, EachNodeClusterGetsOnlyItsResources) {
  std::vector<Resource> resources = {
      Node("web-edge", "service", R"({"service_name": "web", "xds_cluster_name": "edge"})"),
      Node("web-internal", "service",
           R"({"service_name": "web", "xds_cluster_name": "internal", "connect_timeout": "3s"})"),
      Node("admin", "service", R"({"service_name": "admin", "xds_cluster_name": "internal"})"),
      Node("web-instances", "instance_set", R"({"match_service_names": ["web", "admin", "nobody"],
          "instances": [{"address": "10.1.0.1", "port": 80}]})"),
      // Merged with the set above for "web", same (empty) locality.
      Node("web-more-instances", "instance_set", R"({"match_service_names": ["web"],
          "instances": [{"address": "10.1.0.2", "port": 80}]})"),
      Node("edge-ingress", "http_ingress",
           R"({"xds_cluster_name": "edge", "ingress_name": "public", "listen_port": 80})"),
      // Same port, other node cluster: no conflict.
      Node("internal-ingress", "http_ingress",
           R"({"xds_cluster_name": "internal", "ingress_name": "private", "listen_port": 80})"),
  };
  Translation translation = TranslateChecked(resources);
  EXPECT_THAT(ErrorTexts(translation), ElementsAre());
  ASSERT_EQ(translation.snapshots.size(), 2u);
  EXPECT_NE(Find(translation, "edge", kEndpointType, "web"), nullptr);
  EXPECT_NE(Find(translation, "internal", kEndpointType, "web"), nullptr);
  EXPECT_NE(Find(translation, "internal", kEndpointType, "admin"), nullptr);
  ClusterLoadAssignment web =
      Get<ClusterLoadAssignment>(translation, "internal", kEndpointType, "web");
  ASSERT_EQ(web.endpoints_size(), 1);
  ASSERT_EQ(web.endpoints(0).lb_endpoints_size(), 2);
  // An empty locality, weighed by its instances (proxyless gRPC needs both).
  EXPECT_EQ(web.endpoints(0).locality().ByteSizeLong(), 0u);
  EXPECT_EQ(web.endpoints(0).load_balancing_weight().value(), 2u);
  EXPECT_EQ(web.endpoints(0).lb_endpoints(1).endpoint().address().socket_address().address(),
            "10.1.0.2");
  EXPECT_EQ(Get<ClusterLoadAssignment>(translation, "internal", kEndpointType, "admin")
                .endpoints(0)
                .lb_endpoints_size(),
            1);
  EXPECT_EQ(Find(translation, "edge", kEndpointType, "admin"), nullptr);
  EXPECT_EQ(Find(translation, "edge", kClusterType, "admin"), nullptr);
  EXPECT_NE(Find(translation, "edge", kClusterType, "web")->version,
            Find(translation, "internal", kClusterType, "web")->version);
  EXPECT_NE(Find(translation, "edge", kListenerType, "public"), nullptr);
  EXPECT_EQ(Find(translation, "edge", kListenerType, "private"), nullptr);
  // An ingress without routing policies still has its (empty) routes.
  EXPECT_EQ(Get<RouteConfiguration>(translation, "edge", kRouteType, "public").virtual_hosts_size(),
            0);
}

TEST(TranslatorTest, ANodeClusterWhoseResourcesAllFailStillGetsAnEmptySnapshot) {
  Translation translation = TranslateChecked(
      {Node("broken", "http_ingress", R"({"xds_cluster_name": "lonely", "ingress_name": "x"})")});
  ASSERT_EQ(translation.snapshots.count("lonely"), 1u);
  for (const std::string& type : TypeOrder()) {
    EXPECT_TRUE(translation.snapshots.at("lonely")->resources.at(type).empty());
  }
  ASSERT_EQ(translation.errors.size(), 1u);
  EXPECT_THAT(translation.errors[0].message, HasSubstr("listen_port 0 is not a port"));
}

TEST(TranslatorTest, UnscopedRawResourcesGoNowhereWithoutANodeCluster) {
  Translation translation = TranslateChecked(
      {Raw("statsd", "envoy.config.cluster.v3.Cluster", R"({"name": "statsd"})", std::nullopt)});
  EXPECT_TRUE(translation.snapshots.empty());
  EXPECT_TRUE(translation.errors.empty());
}

TEST(TranslatorTest, OtherSpecTypesAreIgnored) {
  types::v1::GatewayPolicy gateway;
  gateway.mutable_http()->set_path("/x");
  Translation translation = TranslateChecked(Concat(Examples(), {MakeResource("gw", gateway)}));
  EXPECT_TRUE(translation.errors.empty());
  EXPECT_EQ(ServedVersions(translation), ServedVersions(Translate(Examples(), 7)));
}

TEST(TranslatorTest, AChangeChangesOnlyTheVersionsItAffects) {
  Translation before = TranslateChecked(Examples(), 7);
  std::vector<Resource> changed = Examples();
  for (Resource& resource : changed) {
    if (resource.name() != "catalog") continue;
    types::v1::NetworkingNode node;
    ASSERT_TRUE(resource.spec().UnpackTo(&node));
    node.mutable_service()->mutable_connect_timeout()->set_seconds(4);
    resource.mutable_spec()->PackFrom(node);
  }
  Translation after = TranslateChecked(changed, 8);
  EXPECT_EQ(after.revision, 8);
  Served old_versions = ServedVersions(before), new_versions = ServedVersions(after);
  ASSERT_EQ(old_versions.size(), new_versions.size());
  std::vector<std::string> differing;
  for (const auto& [key, version] : old_versions) {
    if (new_versions.at(key) != version) differing.push_back(std::get<2>(key));
  }
  EXPECT_THAT(differing, ElementsAre("catalog"));
  const auto& old_types = before.snapshots.at("edge")->type_versions;
  const auto& new_types = after.snapshots.at("edge")->type_versions;
  EXPECT_NE(old_types.at(kClusterType), new_types.at(kClusterType));
  EXPECT_EQ(old_types.at(kEndpointType), new_types.at(kEndpointType));
  EXPECT_EQ(old_types.at(kListenerType), new_types.at(kListenerType));
  EXPECT_EQ(old_types.at(kRouteType), new_types.at(kRouteType));
}

TEST(TranslatorTest, ConflictsAreDecidedByNameOrderWhateverTheInputOrder) {
  std::vector<Resource> resources = {
      Node("b-orders", "service",
           R"({"service_name": "orders", "xds_cluster_name": "edge", "connect_timeout": "9s"})"),
      Node("a-orders", "service",
           R"({"service_name": "orders", "xds_cluster_name": "edge", "connect_timeout": "1s"})"),
  };
  Translation translation = TranslateChecked(resources);
  EXPECT_EQ(Get<Cluster>(translation, "edge", kClusterType, "orders").connect_timeout().seconds(),
            1);
  ASSERT_EQ(translation.errors.size(), 1u);
  EXPECT_EQ(translation.errors[0].name, "b-orders");
  EXPECT_EQ(translation.errors[0].id, FakeId("b-orders"));
  EXPECT_EQ(translation.errors[0].namespace_, kNamespace);
  EXPECT_THAT(
      translation.errors[0].message,
      HasSubstr(
          R"(cluster "orders" is already defined in node cluster "edge" by Service "a-orders")"));
}

// ---------------------------------------------------------------------------
// Errors: each is reported, and everything else is served as without it.

struct ErrorCase {
  std::string title;
  Resource resource;
  std::string message;  // a part of the error's message
};

Resource GarbageSpec(const std::string& name, const std::string& type_url) {
  pb::Any any;
  any.set_type_url(type_url);
  any.set_value("\xff\xff\xff garbage");
  return MakeResource(name, any);
}

std::vector<ErrorCase> ErrorCases() {
  const std::string policy_head = R"({"ingress_name": "public", "xds_cluster_name": "edge",
                                      "domain": "bad.example.com", )";
  return {
      {"two ingresses on one port",
       Node("zz-other-ingress", "http_ingress",
            R"({"xds_cluster_name": "edge", "ingress_name": "other", "listen_port": 8080})"),
       R"(listen_port 8080 is already used in node cluster "edge" by listener "public")"},
      {"two ingresses with one name",
       Node("zz-public-again", "http_ingress",
            R"({"xds_cluster_name": "edge", "ingress_name": "public", "listen_port": 8081})"),
       R"(listener "public" is already defined in node cluster "edge" by HttpIngress "public-ingress")"},
      {"two services with one name",
       Node("zz-catalog-copy", "service",
            R"({"service_name": "catalog", "xds_cluster_name": "edge"})"),
       R"(cluster "catalog" is already defined in node cluster "edge" by Service "catalog")"},
      {"a gRPC target named like an ingress listener",
       Node("zz-catalog-grpc", "service", R"({"service_name": "catalog", "xds_cluster_name": "edge",
            "grpc_target_name": "public"})"),
       R"(cluster "catalog" is already defined)"},
      {"a port out of range",
       Node("zz-port", "http_ingress",
            R"({"xds_cluster_name": "edge", "ingress_name": "p", "listen_port": 70000})"),
       "listen_port 70000 is not a port"},
      {"a JWT rule naming an unknown provider",
       Node("zz-jwt", "http_ingress", R"({"xds_cluster_name": "edge", "ingress_name": "jwt",
            "listen_port": 9000, "http_filters": [{"jwt_authn": {
              "providers": [{"provider_name": "a", "local_jwks": {"inline_string": "{}"}}],
              "rules": [{"match_prefix": "/", "required_providers_names": ["b"]}]}}]})"),
       R"(requires provider "b", which is not defined)"},
      {"a JWT provider without keys",
       Node("zz-jwks", "http_ingress", R"({"xds_cluster_name": "edge", "ingress_name": "jwt",
            "listen_port": 9000, "http_filters": [{"jwt_authn": {"providers": [{"provider_name": "a"}]}}]})"),
       "needs exactly one of remote_jwks and local_jwks"},
      {"a health check filter without path",
       Node("zz-hc", "http_ingress", R"({"xds_cluster_name": "edge", "ingress_name": "hc",
            "listen_port": 9001, "http_filters": [{"health_check": {}}]})"),
       "health_check needs a path"},
      {"an empty filter",
       Node("zz-filter", "http_ingress", R"({"xds_cluster_name": "edge", "ingress_name": "f",
            "listen_port": 9002, "http_filters": [{}]})"),
       "sets none of cors"},
      {"an empty NetworkingNode", Node("zz-empty", "routing_policy", "null"), "sets none of"},
      {"a spec that does not parse",
       GarbageSpec("zz-garbage", "type.googleapis.com/protomesh.types.v1.NetworkingNode"),
       "does not parse as a NetworkingNode"},
      {"a negative connect timeout",
       Node("zz-timeout", "service", R"({"service_name": "slow", "xds_cluster_name": "edge",
            "connect_timeout": "-1s"})"),
       "connect_timeout must be positive"},
      {"an active health check without path",
       Node("zz-service-hc", "service", R"({"service_name": "hc", "xds_cluster_name": "edge",
            "health_check": {"interval": "1s"}})"),
       "health_check.path"},
      {"an unknown lb policy",
       Node("zz-lb", "service",
            R"({"service_name": "lb", "xds_cluster_name": "edge", "lb_policy": 42})"),
       "lb_policy 42 is not known"},
      {"a route with both a target and weighted targets",
       Node("zz-both", "routing_policy", policy_head + R"("routes": [{"match_prefix": "/",
            "target_service": "catalog", "weighted_targets": [{"service": "orders", "weight": 1}]}]})"),
       "needs exactly one of target_service and weighted_targets"},
      {"weights summing to zero",
       Node("zz-weights", "routing_policy", policy_head + R"("routes": [{"match_prefix": "/",
            "weighted_targets": [{"service": "catalog"}, {"service": "orders"}]}]})"),
       "the weights sum to 0"},
      {"an invalid regex",
       Node("zz-regex", "routing_policy", policy_head + R"("routes": [{"match_prefix": "/",
            "target_service": "catalog", "header_matches": [{"name": "x", "regex": "(unclosed"}]}]})"),
       "is not valid RE2"},
      {"an invalid header name",
       Node("zz-header", "routing_policy", policy_head + R"("routes": [{"match_prefix": "/",
            "target_service": "catalog", "header_matches": [{"name": "bad header", "exact": "x"}]}]})"),
       "is not a header name"},
      {"an empty allowed origin",
       Node("zz-cors", "routing_policy",
            policy_head + R"("cors": {"allow_origin_string_match_prefix": [""]}})"),
       "allowed origin prefix is empty"},
      {"a domain already routed",
       Node("zz-domain", "routing_policy", R"({"ingress_name": "public", "xds_cluster_name": "edge",
            "domain": "SHOP.example.com", "routes": [{"match_prefix": "/", "target_service": "catalog"}]})"),
       R"(domain "SHOP.example.com" is already routed in route configuration "public")"},
      {"a routing policy without ingress",
       Node("zz-noingress", "routing_policy", R"({"xds_cluster_name": "edge"})"),
       "ingress_name is empty"},
      {"an instance without port",
       Node("zz-instances", "instance_set", R"({"match_service_names": ["catalog"],
            "instances": [{"address": "10.0.0.1", "port": 80}, {"address": "10.0.0.2"}]})"),
       "instances[1]: port 0 is not a port"},
      {"a raw resource that does not parse",
       [] {
         types::v1::EnvoyResource wrapper;
         wrapper.set_xds_cluster_name("edge");
         wrapper.mutable_resource()->set_type_url(kClusterType);
         wrapper.mutable_resource()->set_value("\xff\xff garbage");
         return MakeResource("zz-raw-garbage", wrapper);
       }(),
       "does not parse as envoy.config.cluster.v3.Cluster"},
      {"a raw resource of another type",
       [] {
         types::v1::EnvoyResource wrapper;
         wrapper.set_xds_cluster_name("edge");
         wrapper.mutable_resource()->PackFrom(types::v1::Service());
         return MakeResource("zz-raw-type", wrapper);
       }(),
       "it must be an Envoy Cluster, Listener, RouteConfiguration or ClusterLoadAssignment"},
      {"a raw cluster without name",
       Raw("zz-raw-noname", "envoy.config.cluster.v3.Cluster", R"({"type": "STATIC"})", "edge"),
       "the envoy.config.cluster.v3.Cluster has no name"},
      {"a raw cluster named like a service",
       Raw("zz-raw-catalog", "envoy.config.cluster.v3.Cluster", R"({"name": "catalog"})",
           std::nullopt),
       R"(Cluster "catalog" is already defined in node cluster "edge" by Service "catalog")"},
      {"a raw listener on a taken port",
       Raw("zz-raw-listener", "envoy.config.listener.v3.Listener", R"({"name": "raw",
            "address": {"socketAddress": {"address": "0.0.0.0", "portValue": 8080}}})",
           "edge"),
       R"(port 8080 is already used in node cluster "edge" by listener "public")"},
      {"a raw route configuration routing to a missing cluster",
       Raw("zz-raw-routes", "envoy.config.route.v3.RouteConfiguration", R"({"name": "raw",
            "virtualHosts": [{"name": "a", "domains": ["*"], "routes": [{"match": {"prefix": "/"},
            "route": {"weightedClusters": {"clusters": [{"name": "catalog", "weight": 1},
                                                        {"name": "ghost", "weight": 1}]}}}]}]})",
           "edge"),
       R"(routes name cluster "ghost", which does not exist in node cluster "edge")"},
      {"a raw route configuration named like an ingress's",
       Raw("zz-raw-public", "envoy.config.route.v3.RouteConfiguration", R"({"name": "public"})",
           "edge"),
       R"(RouteConfiguration "public" is already defined in node cluster "edge" by RoutingPolicy "shop-routes")"},
      {"a raw assignment for a service's cluster",
       Raw("zz-raw-cla", "envoy.config.endpoint.v3.ClusterLoadAssignment",
           R"({"clusterName": "catalog"})", "edge"),
       R"(ClusterLoadAssignment "catalog" is already defined in node cluster "edge" by InstanceSet "catalog-instances")"},
  };
}

TEST(TranslatorErrorTest, EachErrorIsReportedAndTheRestStillServed) {
  const std::vector<Resource> baseline = Examples();
  const Served served = ServedVersions(TranslateChecked(baseline));
  for (const ErrorCase& error_case : ErrorCases()) {
    SCOPED_TRACE(error_case.title);
    Translation translation = TranslateChecked(Concat(baseline, {error_case.resource}));
    ASSERT_EQ(translation.errors.size(), 1u) << absl::StrJoin(ErrorTexts(translation), "\n");
    EXPECT_EQ(translation.errors[0].name, error_case.resource.name());
    EXPECT_EQ(translation.errors[0].id, error_case.resource.id());
    EXPECT_THAT(translation.errors[0].message, HasSubstr(error_case.message));
    // Nothing of the bad resource is served, and nothing else changed.
    EXPECT_EQ(ServedVersions(translation), served);
  }
}

TEST(TranslatorErrorTest, AGrpcTargetClashingWithAListenerKeepsTheServiceButNotTheExposure) {
  const std::vector<Resource> baseline = Examples();
  Translation translation = TranslateChecked(Concat(
      baseline,
      {Node(
          "zz-search", "service",
          R"({"service_name": "search", "xds_cluster_name": "edge", "grpc_target_name": "public"})")}));
  ASSERT_EQ(translation.errors.size(), 1u);
  EXPECT_THAT(
      translation.errors[0].message,
      HasSubstr(
          R"(listener "public" is already defined in node cluster "edge" by HttpIngress "public-ingress"; the service is not exposed)"));
  EXPECT_NE(Find(translation, "edge", kClusterType, "search"), nullptr);
  Served served = ServedVersions(TranslateChecked(baseline));
  for (const auto& [key, version] : served) EXPECT_EQ(ServedVersions(translation).at(key), version);
  EXPECT_EQ(Get<RouteConfiguration>(translation, "edge", kRouteType, "public").virtual_hosts_size(),
            1);
}

TEST(TranslatorErrorTest, WhatProxylessGrpcClientsWouldRejectIsReported) {
  std::vector<Resource> resources = {
      Node("greeter", "service", R"({"service_name": "greeter", "xds_cluster_name": "grpc-clients",
          "grpc_target_name": "greeter.shop"})"),
      // gRPC clients NACK per-filter config of filters they lack (CORS) ...
      Node("greeter-cors", "routing_policy", R"({"ingress_name": "greeter.shop",
          "xds_cluster_name": "grpc-clients", "cors": {"allow_methods": ["POST"]},
          "routes": [{"match_prefix": "/", "target_service": "greeter"}]})"),
      // ... and clusters with a load balancing policy they lack.
      Node("random", "service", R"({"service_name": "random", "xds_cluster_name": "grpc-clients",
          "lb_policy": "LB_POLICY_RANDOM", "grpc_target_name": "random.shop"})"),
  };
  Translation translation = TranslateChecked(resources);
  // In stage order: clusters, then routes.
  EXPECT_THAT(ErrorTexts(translation),
              ElementsAre(HasSubstr("shop/random ("), HasSubstr("shop/greeter-cors (")));
  ASSERT_EQ(translation.errors.size(), 2u);
  EXPECT_THAT(translation.errors[0].message,
              HasSubstr("LB_POLICY_RANDOM is not supported by proxyless gRPC clients"));
  EXPECT_THAT(
      translation.errors[1].message,
      HasSubstr(
          R"(route configuration "greeter.shop" is for proxyless gRPC clients, which do not support CORS)"));
  // The target still works, through its default route.
  RouteConfiguration config =
      Get<RouteConfiguration>(translation, "grpc-clients", kRouteType, "greeter.shop");
  ASSERT_EQ(config.virtual_hosts_size(), 1);
  EXPECT_EQ(config.virtual_hosts(0).name(), "greeter.shop");
  EXPECT_EQ(Find(translation, "grpc-clients", kClusterType, "random"), nullptr);
  EXPECT_EQ(Find(translation, "grpc-clients", kListenerType, "random.shop"), nullptr);
}

TEST(TranslatorErrorTest, ARouteToAMissingServiceAnswers503AndIsReported) {
  const std::vector<Resource> baseline = Examples();
  Translation translation = TranslateChecked(Concat(
      baseline,
      {Node("zz-beta", "routing_policy",
            R"({"ingress_name": "public", "xds_cluster_name": "edge", "domain": "beta.example.com",
          "routes": [{"match_prefix": "/api/reviews", "target_service": "reviews", "timeout": "1s"},
                     {"match_prefix": "/", "target_service": "catalog"}]})")}));
  ASSERT_EQ(translation.errors.size(), 1u);
  EXPECT_EQ(translation.errors[0].name, "zz-beta");
  EXPECT_THAT(
      translation.errors[0].message,
      HasSubstr(
          R"(route "/api/reviews": service "reviews" does not exist; the route answers 503 (node cluster "edge"))"));
  RouteConfiguration config = Get<RouteConfiguration>(translation, "edge", kRouteType, "public");
  ASSERT_EQ(config.virtual_hosts_size(), 2);
  const auto& beta = config.virtual_hosts(1);
  EXPECT_EQ(beta.name(), "zz-beta");
  // Kept in its place, so that "/" does not catch its traffic.
  EXPECT_EQ(beta.routes(0).direct_response().status(), 503u);
  EXPECT_FALSE(beta.routes(0).has_route());
  EXPECT_EQ(beta.routes(1).route().cluster(), "catalog");
  // The other policy's virtual host is unchanged.
  EXPECT_EQ(Get<RouteConfiguration>(TranslateChecked(baseline), "edge", kRouteType, "public")
                .virtual_hosts(0)
                .SerializeAsString(),
            config.virtual_hosts(0).SerializeAsString());
}

TEST(TranslatorErrorTest, AMissingWeightedTargetIsLeftOutOfTheSplit) {
  std::vector<Resource> resources = {
      Node("orders-v1", "service", kOrdersV1),
      Node("canary", "routing_policy", R"({"ingress_name": "public", "xds_cluster_name": "edge",
          "routes": [{"match_prefix": "/", "weighted_targets": [
            {"service": "orders-v1", "weight": 90}, {"service": "orders-v2", "weight": 10}]},
            {"match_prefix": "/only-v2", "weighted_targets": [{"service": "orders-v2", "weight": 10}]}]})"),
  };
  Translation translation = TranslateChecked(resources);
  EXPECT_THAT(
      ErrorTexts(translation),
      ElementsAre(
          HasSubstr(
              R"(route "/": weighted target "orders-v2" does not exist; it is left out of the split)"),
          HasSubstr(R"(route "/only-v2": weighted target "orders-v2" does not exist)"),
          HasSubstr(
              R"(route "/only-v2": no weighted target with a weight exists; the route answers 503)")));
  RouteConfiguration config = Get<RouteConfiguration>(translation, "edge", kRouteType, "public");
  const auto& split = config.virtual_hosts(0).routes(0).route().weighted_clusters().clusters();
  ASSERT_EQ(split.size(), 1);
  EXPECT_EQ(split[0].name(), "orders-v1");
  EXPECT_EQ(config.virtual_hosts(0).routes(1).direct_response().status(), 503u);
}

TEST(ContentVersionTest, IsTheSha256OfTheDeterministicSerialization) {
  google::protobuf::Any small;
  small.set_type_url("type.googleapis.com/envoy.config.cluster.v3.Cluster");
  small.set_value("\x0a\x03web");
  google::protobuf::Any large;  // lengths of two and three varint bytes
  large.set_type_url(std::string(200, 't'));
  large.set_value(std::string(70000, 'v'));
  google::protobuf::Any value_only;
  value_only.set_value("x");
  google::protobuf::Any with_unknown = small;
  with_unknown.GetReflection()->MutableUnknownFields(&with_unknown)->AddVarint(9, 1);
  for (const auto& any : {small, large, value_only, google::protobuf::Any(), with_unknown}) {
    EXPECT_EQ(ContentVersion(any), Sha256Hex(SerializeDeterministic(any))) << any.ShortDebugString();
  }
  EXPECT_NE(ContentVersion(small), ContentVersion(with_unknown));
}

}  // namespace
}  // namespace protomesh::xds
