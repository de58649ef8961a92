// Envoy's API as built from the npm package: compiled types, the ADS service,
// and the descriptor pool for types built dynamically (jwt_authn).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "envoy/service/discovery/v3/ads.grpc.pb.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/util/json_util.h"
#include "src/xds/envoy_descriptors.h"

namespace protomesh::xds {
namespace {

using ::testing::HasSubstr;
using HttpConnectionManager =
    envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager;

constexpr char kJwtType[] = "envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication";

TEST(EnvoyApiTest, CompiledTypesRoundTripThroughTheDescriptorPool) {
  envoy::config::cluster::v3::Cluster cluster;
  cluster.set_name("checkout");
  cluster.set_type(envoy::config::cluster::v3::Cluster::EDS);
  cluster.mutable_eds_cluster_config()->mutable_eds_config()->mutable_ads();
  cluster.mutable_connect_timeout()->set_seconds(2);

  const auto* descriptor =
      EnvoyDescriptorPool().FindMessageTypeByName("envoy.config.cluster.v3.Cluster");
  ASSERT_NE(descriptor, nullptr);
  google::protobuf::DynamicMessageFactory factory(&EnvoyDescriptorPool());
  std::unique_ptr<google::protobuf::Message> dynamic(factory.GetPrototype(descriptor)->New());
  ASSERT_TRUE(dynamic->ParseFromString(cluster.SerializeAsString()));
  std::string json;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(*dynamic, &json).ok());
  EXPECT_THAT(json, HasSubstr("\"name\":\"checkout\""));
  EXPECT_THAT(json, HasSubstr("\"type\":\"EDS\""));
  EXPECT_THAT(json, HasSubstr("\"connectTimeout\":\"2s\""));
}

TEST(EnvoyApiTest, JwtAuthenticationIsBuiltFromJsonIncludingItsRequiresField) {
  auto any = AnyFromJson(kJwtType, R"({
      "providers": {"auth0": {"issuer": "https://issuer.example",
                              "remoteJwks": {"httpUri": {"uri": "https://issuer.example/jwks",
                                                         "cluster": "jwks", "timeout": "5s"}}}},
      "rules": [{"match": {"prefix": "/api"}, "requires": {"providerName": "auth0"}}]})");
  ASSERT_TRUE(any.ok()) << any.status();
  EXPECT_EQ(any->type_url(), std::string("type.googleapis.com/") + kJwtType);

  // It goes into a compiled HttpConnectionManager like any other filter.
  HttpConnectionManager hcm;
  auto* filter = hcm.add_http_filters();
  filter->set_name("envoy.filters.http.jwt_authn");
  *filter->mutable_typed_config() = *any;
  HttpConnectionManager parsed;
  ASSERT_TRUE(parsed.ParseFromString(hcm.SerializeAsString()));
  EXPECT_EQ(parsed.http_filters(0).typed_config().value(), any->value());
}

TEST(EnvoyApiTest, JsonThatDoesNotFitTheTypeIsRejectedByName) {
  auto wrong_field = AnyFromJson(kJwtType, R"({"providerz": {}})");
  EXPECT_EQ(wrong_field.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(wrong_field.status().message(), HasSubstr(kJwtType));
  EXPECT_THAT(wrong_field.status().message(), HasSubstr("providerz"));
  auto unknown_type = AnyFromJson("envoy.NoSuchThing", "{}");
  EXPECT_EQ(unknown_type.status().message(), "unknown Envoy type envoy.NoSuchThing");
}

TEST(EnvoyApiTest, TheAggregatedDiscoveryServiceIsGenerated) {
  const auto* service = EnvoyDescriptorPool().FindServiceByName(
      "envoy.service.discovery.v3.AggregatedDiscoveryService");
  ASSERT_NE(service, nullptr);
  EXPECT_NE(service->FindMethodByName("StreamAggregatedResources"), nullptr);
  EXPECT_NE(service->FindMethodByName("DeltaAggregatedResources"), nullptr);
  envoy::service::discovery::v3::AggregatedDiscoveryService::CallbackService callback_service;
  EXPECT_NE(&callback_service, nullptr);
}

}  // namespace
}  // namespace protomesh::xds
