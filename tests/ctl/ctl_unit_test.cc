// protomeshctl's layers without a store: documents and their errors, the
// type registry, spec encoding through protobuf's JSON mapping, ids.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "api/types/v1/networking.pb.h"
#include "api/types/v1/process.pb.h"
#include "google/protobuf/any.pb.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/wrappers.pb.h"
#include "src/ctl/document.h"
#include "src/ctl/document_loader.h"
#include "src/ctl/errors.h"
#include "src/ctl/output.h"
#include "src/ctl/resource_id.h"
#include "src/ctl/settings.h"
#include "src/ctl/type_registry.h"

namespace protomesh::ctl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using protomesh::types::v1::NetworkingNode;
using protomesh::types::v1::Resource;

class CtlUnitTest : public ::testing::Test {
 protected:
  CtlUnitTest() : registry_(TypeRegistry::CreateDefault()), codec_(*registry_) {}

  absl::StatusOr<std::vector<Document>> Read(const std::string& text,
                                             DocumentDefaults defaults = {}) {
    auto sources = ParseDocuments("test.yaml", text);
    if (!sources.ok()) return sources.status();
    return codec_.Read(*sources, defaults);
  }
  // The error text of reading `text`, or "" when it reads fine.
  std::string ErrorOf(const std::string& text, DocumentDefaults defaults = {}) {
    auto read = Read(text, defaults);
    return read.ok() ? "" : std::string(read.status().message());
  }

  std::unique_ptr<TypeRegistry> registry_;
  DocumentCodec codec_;
};

constexpr char kIngress[] = R"(kind: HttpIngress
namespace: default
name: public-ingress
spec:
  xds_cluster_name: edge
  ingress_name: public
  listen_port: 8080
  http_filters:
    - cors: {enable: true}
    - health_check: {path: /healthz}
)";

TEST_F(CtlUnitTest, DerivedIdsAreUuid5OfNamespaceSlashName) {
  EXPECT_EQ(DeriveResourceId("default", "public-ingress"), "ccf0228c-7898-5f65-9be8-7d94d8cbef99");
  EXPECT_NE(DeriveResourceId("default", "a"), DeriveResourceId("other", "a"));
}

TEST_F(CtlUnitTest, KindDocumentBecomesItsEnvelope) {
  auto documents = Read(kIngress);
  ASSERT_TRUE(documents.ok()) << documents.status();
  ASSERT_EQ(documents->size(), 1u);
  const Resource& resource = documents->front().resource;
  EXPECT_EQ(resource.namespace_(), "default");
  EXPECT_EQ(resource.name(), "public-ingress");
  EXPECT_EQ(resource.id(), DeriveResourceId("default", "public-ingress"));
  EXPECT_EQ(resource.spec().type_url(), "type.googleapis.com/protomesh.types.v1.NetworkingNode");
  NetworkingNode node;
  ASSERT_TRUE(resource.spec().UnpackTo(&node));
  ASSERT_TRUE(node.has_http_ingress());
  EXPECT_EQ(node.http_ingress().listen_port(), 8080);
  EXPECT_EQ(node.http_ingress().ingress_name(), "public");
  ASSERT_EQ(node.http_ingress().http_filters_size(), 2);
  EXPECT_TRUE(node.http_ingress().http_filters(0).cors().enable());
  EXPECT_EQ(node.http_ingress().http_filters(1).health_check().path(), "/healthz");
  EXPECT_EQ(codec_.Label(resource), "httpingress/public-ingress");
}

TEST_F(CtlUnitTest, KeyOrderAndSpellingDoNotChangeTheBytes) {
  auto a = Read(kIngress);
  auto b = Read(R"(name: public-ingress
spec:
  httpFilters: [{cors: {enable: true}}, {healthCheck: {path: "/healthz"}}]
  listenPort: "8080"
  ingressName: public
  xdsClusterName: edge
kind: HttpIngress
)");
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(a->front().resource.spec().value(), b->front().resource.spec().value());
}

TEST_F(CtlUnitTest, AnyFormAndJsonInput) {
  auto documents = Read(R"({"namespace": "prod", "name": "checkout", "id": "4F9C2B1E-6A7D-4E8F-9B0A-1C2D3E4F5A6B",
 "spec": {"@type": "type.googleapis.com/protomesh.types.v1.NetworkingNode",
          "service": {"serviceName": "checkout", "connectTimeout": "2s"}}})");
  ASSERT_TRUE(documents.ok()) << documents.status();
  const Resource& resource = documents->front().resource;
  EXPECT_EQ(resource.id(), "4f9c2b1e-6a7d-4e8f-9b0a-1c2d3e4f5a6b");
  EXPECT_EQ(resource.namespace_(), "prod");
  NetworkingNode node;
  ASSERT_TRUE(resource.spec().UnpackTo(&node));
  EXPECT_EQ(node.service().connect_timeout().seconds(), 2);
  // A NetworkingNode with a service set is written back as kind Service.
  EXPECT_EQ(codec_.Label(resource), "service/checkout");
}

TEST_F(CtlUnitTest, WriteThenReadGivesTheSameResource) {
  for (const std::string& text : {std::string(kIngress), std::string(R"(
kind: Trigger
name: nightly
spec:
  name: Report
  task_queue: reports
  id_prefix: report-
  id_suffix_builder: ID_BUILDER_UNIQUE
  if_running_action: IF_RUNNING_ABORT
  cron_schedule: "0 3 * * *"
  execution_timeout: 3600s
  json_arguments: '[{"region": "eu"}]'
  retry_policy: {maximum_attempts: 3, initial_interval: 1.5s}
)"), std::string(R"(
name: wrapped
spec: {"@type": type.googleapis.com/google.protobuf.StringValue, value: "123"}
)"), std::string(R"(
kind: GatewayPolicy
name: orders
spec:
  http: {method: HTTP_METHOD_POST, path: /orders, exact_path_match: true}
  handlers: [{aws: {lambda: {function_name: create-order}}}]
)")}) {
    auto first = Read(text);
    ASSERT_TRUE(first.ok()) << first.status();
    Resource stored = first->front().resource;
    stored.mutable_version()->set_index(7);
    auto written = codec_.Write(stored);
    ASSERT_TRUE(written.ok()) << written.status();
    std::ostringstream yaml;
    PrintYamlDocument(*written, yaml);
    EXPECT_THAT(yaml.str(), HasSubstr("revision: 7"));
    auto again = Read(yaml.str());
    ASSERT_TRUE(again.ok()) << again.status() << "\n" << yaml.str();
    EXPECT_EQ(again->front().resource.SerializeAsString(), first->front().resource.SerializeAsString())
        << yaml.str();
    // And through JSON.
    std::ostringstream json;
    PrintJson({*written}, /*as_list=*/true, json);
    auto from_json = Read(json.str());
    ASSERT_TRUE(from_json.ok()) << from_json.status() << "\n" << json.str();
    EXPECT_EQ(from_json->front().resource.SerializeAsString(),
              first->front().resource.SerializeAsString())
        << json.str();
  }
}

TEST_F(CtlUnitTest, StringsThatLookLikeNumbersStayStrings) {
  auto documents = Read(R"(
kind: Service
name: "0123"
spec: {service_name: "8080", xds_cluster_name: true}
)");
  ASSERT_TRUE(documents.ok()) << documents.status();
  auto written = codec_.Write(documents->front().resource);
  ASSERT_TRUE(written.ok());
  std::ostringstream yaml;
  PrintYamlDocument(*written, yaml);
  EXPECT_THAT(yaml.str(), HasSubstr("name: \"0123\""));
  EXPECT_THAT(yaml.str(), HasSubstr("service_name: \"8080\""));
  EXPECT_THAT(yaml.str(), HasSubstr("xds_cluster_name: \"true\""));
}

TEST_F(CtlUnitTest, UnknownFieldNamesItAndListsTheKnownOnes) {
  EXPECT_EQ(ErrorOf(R"(kind: HttpIngress
name: a
spec:
  xds_cluster_name: edge
  listen_prot: 80
)"),
            "test.yaml: document 1 (line 5): unknown field \"listen_prot\" in HttpIngress; known "
            "fields: xds_cluster_name, ingress_name, listen_port, http_filters, "
            "access_log_stdout_format");
}

TEST_F(CtlUnitTest, EveryProblemOfEveryDocumentIsReported) {
  EXPECT_EQ(ErrorOf(R"(kind: Service
name: a
spec: {service_name: a}
---
kind: Servise
name: b
spec: {}
---
kind: InstanceSet
name: c
spec:
  instances:
    - {address: 10.0.0.1, port: http, transport_protocol: TRANSPORT_PROTOCOL_SCTP}
---
labels: {app: x}
spec: {}
)"),
            "test.yaml: document 2 (line 5): unknown kind \"Servise\"; known kinds: EnvoyCluster, "
            "EnvoyClusterLoadAssignment, EnvoyListener, EnvoyResource, EnvoyRouteConfiguration, "
            "GatewayPolicy, HttpIngress, InstanceSet, RoutingPolicy, Service, Trigger\n"
            "test.yaml: document 3 (line 13): field \"port\" expects an integer (int32); got "
            "\"http\"\n"
            "test.yaml: document 3 (line 13): unknown value \"TRANSPORT_PROTOCOL_SCTP\" for field "
            "\"transport_protocol\" (TransportProtocol); allowed: TRANSPORT_PROTOCOL_UNDEFINED, "
            "TRANSPORT_PROTOCOL_TCP, TRANSPORT_PROTOCOL_UDP\n"
            "test.yaml: document 4 (line 15): unknown field \"labels\" in the document; known "
            "fields: kind, namespace, name, id, spec, status\n"
            "test.yaml: document 4 (line 15): the document has no name\n"
            "test.yaml: document 4 (line 16): the document has no kind and its spec no \"@type\"; "
            "give a kind (EnvoyCluster, EnvoyClusterLoadAssignment, EnvoyListener, EnvoyResource, "
            "EnvoyRouteConfiguration, GatewayPolicy, HttpIngress, InstanceSet, RoutingPolicy, "
            "Service, Trigger) or a spec \"@type\"");
}

TEST_F(CtlUnitTest, ValueProblems) {
  EXPECT_EQ(ErrorOf("kind: Service\nname: a\nspec: {connect_timeout: 5m}\n"),
            "test.yaml: document 1 (line 3): field \"connect_timeout\" expects a duration in "
            "seconds with an \"s\" suffix, like \"2s\" or \"0.250s\"; got \"5m\"");
  EXPECT_EQ(ErrorOf("kind: HttpIngress\nname: a\nspec: {listen_port: 99999999999}\n"),
            "test.yaml: document 1 (line 3): field \"listen_port\": 99999999999 is out of range "
            "for int32");
  EXPECT_EQ(ErrorOf("kind: HttpIngress\nname: a\nspec: {http_filters: {cors: {}}}\n"),
            "test.yaml: document 1 (line 3): field \"http_filters\" is a list: expects a "
            "sequence; got a mapping");
  EXPECT_EQ(
      ErrorOf("kind: Service\nname: a\nspec:\n  instance_http1_options: {}\n  "
              "instance_http2_options: {}\n"),
      "test.yaml: document 1 (line 5): fields \"instance_http1_options\" and "
      "\"instance_http2_options\" of Service are alternatives (oneof "
      "instance_application_protocol_options): give only one");
  EXPECT_EQ(ErrorOf("kind: HttpFilter\nname: a\nspec: {}\n"),
            "test.yaml: document 1 (line 1): unknown kind \"HttpFilter\"; known kinds: "
            "EnvoyCluster, EnvoyClusterLoadAssignment, EnvoyListener, EnvoyResource, "
            "EnvoyRouteConfiguration, GatewayPolicy, HttpIngress, InstanceSet, RoutingPolicy, "
            "Service, Trigger");
  EXPECT_EQ(ErrorOf("name: a\nspec: {\"@type\": type.googleapis.com/envoy.config.cluster.v3.Clustr}\n"),
            "test.yaml: document 1 (line 2): unknown type "
            "\"type.googleapis.com/envoy.config.cluster.v3.Clustr\" in \"@type\"; spec types: "
            "envoy.config.cluster.v3.Cluster, envoy.config.endpoint.v3.ClusterLoadAssignment, "
            "envoy.config.listener.v3.Listener, envoy.config.route.v3.RouteConfiguration, "
            "protomesh.types.v1.EnvoyResource, protomesh.types.v1.GatewayPolicy, "
            "protomesh.types.v1.NetworkingNode, protomesh.types.v1.Process (any message of the "
            "type registry may be named)");
  // Envoy's own types are there, with their field names in errors.
  EXPECT_THAT(ErrorOf("kind: EnvoyCluster\nname: a\nspec:\n  name: a\n  lb_polcy: ROUND_ROBIN\n"),
              ::testing::StartsWith("test.yaml: document 1 (line 5): unknown field \"lb_polcy\" in "
                                    "envoy.config.cluster.v3.Cluster; known fields: "
                                    "transport_socket_matches, name, alt_stat_name, type,"));
  EXPECT_EQ(ErrorOf("kind: Service\nname: a\nid: 42\nnamespace: Prod\nspec: {}\n"),
            "test.yaml: document 1 (line 4): namespace \"Prod\" is not a DNS label (1 to 63 "
            "lowercase letters, digits or '-', starting and ending with a letter or digit)\n"
            "test.yaml: document 1 (line 3): id \"42\" is not a UUID (like "
            "123e4567-e89b-12d3-a456-426614174000); leave it out to derive one from namespace and "
            "name");
  EXPECT_EQ(ErrorOf("kind: Service\nname: a\nspec: {}\n---\nkind: Service\nname: a\nspec: {}\n"),
            "test.yaml: document 2 (line 5): resource default/a (id "
            "19b9a023-12e6-5d19-9131-4ccd7ed86fe9) is also test.yaml: document 1; a resource can "
            "be applied once per invocation");
}

TEST_F(CtlUnitTest, ExplicitNamespaceMustMatchTheDocuments) {
  DocumentDefaults defaults{"staging", true};
  EXPECT_EQ(ErrorOf("kind: Service\nname: a\nnamespace: prod\nspec: {}\n", defaults),
            "test.yaml: document 1 (line 3): the document's namespace \"prod\" differs from "
            "--namespace \"staging\"");
  auto documents = Read("kind: Service\nname: a\nspec: {}\n", defaults);
  ASSERT_TRUE(documents.ok());
  EXPECT_EQ(documents->front().resource.namespace_(), "staging");
}

TEST_F(CtlUnitTest, MalformedYamlNamesTheDocumentAndLine) {
  auto parsed = ParseDocuments("bad.yaml", "kind: Service\nname: a\n---\n# second\nkind: Service\nspec: {a: [1, 2}\n");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(std::string(parsed.status().message()),
            "bad.yaml: document 2 (line 6, column 16): malformed YAML: illegal flow end");
  parsed = ParseDocuments("bad.json", "{\"kind\": \"Service\",\n \"name\": \"a\"\n");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(std::string(parsed.status().message()),
            "bad.json: document 1 (line 3, column 1): malformed YAML: end of map flow not found");
}

TEST_F(CtlUnitTest, ListsAndEmptyDocuments) {
  auto parsed = ParseDocuments("x.yaml", "---\n# nothing\n---\n- {name: a}\n- {name: b}\n---\nname: c\n");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->size(), 3u);
  EXPECT_EQ(DocumentName((*parsed)[0]), "x.yaml: document 2, item 1");
  EXPECT_EQ(DocumentName((*parsed)[1]), "x.yaml: document 2, item 2");
  EXPECT_EQ(DocumentName((*parsed)[2]), "x.yaml: document 3");
}

// A type that is not compiled in, added from a FileDescriptorSet as the
// xDS work will add Envoy's.
TEST_F(CtlUnitTest, RegistryTakesMoreTypesFromAFileDescriptorSet) {
  google::protobuf::FileDescriptorSet files;
  google::protobuf::FileDescriptorProto* file = files.add_file();
  file->set_name("test/widget.proto");
  file->set_package("test.v1");
  file->set_syntax("proto3");
  file->add_dependency("google/protobuf/duration.proto");
  file->add_dependency("google/protobuf/any.proto");
  auto* message = file->add_message_type();
  message->set_name("Widget");
  auto add_field = [&](const char* name, int number, google::protobuf::FieldDescriptorProto::Type type,
                       const char* type_name) {
    auto* field = message->add_field();
    field->set_name(name);
    field->set_json_name(name);
    field->set_number(number);
    field->set_type(type);
    field->set_label(google::protobuf::FieldDescriptorProto::LABEL_OPTIONAL);
    if (type_name != nullptr) field->set_type_name(type_name);
  };
  add_field("color", 1, google::protobuf::FieldDescriptorProto::TYPE_STRING, nullptr);
  add_field("ttl", 2, google::protobuf::FieldDescriptorProto::TYPE_MESSAGE, ".google.protobuf.Duration");
  add_field("extra", 3, google::protobuf::FieldDescriptorProto::TYPE_MESSAGE, ".google.protobuf.Any");
  ASSERT_TRUE(registry_->AddSerializedFiles(files.SerializeAsString()).ok());
  ASSERT_TRUE(registry_->AddKind("Widget", "test.v1.Widget").ok());
  ASSERT_TRUE(registry_->AddSpecType("test.v1.Widget").ok());

  auto by_type = Read(R"(name: w
spec:
  "@type": type.googleapis.com/test.v1.Widget
  color: red
  ttl: 5s
  extra: {"@type": type.googleapis.com/test.v1.Widget, ttl: 1s, color: blue}
)");
  ASSERT_TRUE(by_type.ok()) << by_type.status();
  auto by_kind = Read(R"(kind: Widget
name: w
spec:
  extra: {"@type": type.googleapis.com/test.v1.Widget, color: blue, ttl: 1s}
  ttl: 5s
  color: red
)");
  ASSERT_TRUE(by_kind.ok()) << by_kind.status();
  // Nested Anys are canonical too: the key order inside "extra" differs.
  EXPECT_EQ(by_type->front().resource.SerializeAsString(), by_kind->front().resource.SerializeAsString());
  EXPECT_EQ(codec_.Label(by_type->front().resource), "widget/w");
  auto written = codec_.Write(by_type->front().resource);
  ASSERT_TRUE(written.ok()) << written.status();
  std::ostringstream yaml;
  PrintYamlDocument(*written, yaml);
  EXPECT_EQ(yaml.str(), R"(kind: Widget
namespace: default
name: w
id: )" + DeriveResourceId("default", "w") + R"(
spec:
  color: red
  ttl: 5s
  extra:
    "@type": type.googleapis.com/test.v1.Widget
    color: blue
    ttl: 1s
)");
  EXPECT_EQ(ErrorOf("kind: Widget\nname: w\nspec: {colour: red}\n"),
            "test.yaml: document 1 (line 3): unknown field \"colour\" in test.v1.Widget; known "
            "fields: color, ttl, extra");
}

TEST(CtlErrorsTest, ExitCodes) {
  EXPECT_EQ(ExitCodeOf(absl::OkStatus()), 0);
  EXPECT_EQ(ExitCodeOf(absl::UnavailableError("down")), 1);
  EXPECT_EQ(ExitCodeOf(absl::OutOfRangeError("compacted")), 1);
  EXPECT_EQ(ExitCodeOf(UsageError("bad flag")), 2);
  EXPECT_EQ(ExitCodeOf(absl::InvalidArgumentError("bad file")), 3);
  EXPECT_EQ(ExitCodeOf(absl::NotFoundError("gone")), 4);
  EXPECT_EQ(ExitCodeOf(absl::AbortedError("raced")), 5);
  grpc::Status aborted(grpc::StatusCode::ABORTED, "resource default/x is at revision 2");
  absl::Status store = StoreError(aborted, "localhost:6680", false);
  EXPECT_EQ(ExitCodeOf(store), 5);
  EXPECT_EQ(std::string(store.message()), "ABORTED: resource default/x is at revision 2");
  grpc::Status unavailable(grpc::StatusCode::UNAVAILABLE, "failed to connect");
  EXPECT_EQ(std::string(StoreError(unavailable, "h:1", false).message()),
            "UNAVAILABLE: failed to connect (server h:1)");
  // A plaintext connection that the server closed: perhaps it wants TLS.
  grpc::Status closed(grpc::StatusCode::UNAVAILABLE, "ipv4:127.0.0.1:1: Socket closed");
  EXPECT_EQ(std::string(StoreError(closed, "h:1", false).message()),
            "UNAVAILABLE: ipv4:127.0.0.1:1: Socket closed (server h:1)\nthe server closed a "
            "plaintext connection: if it serves TLS, give --tls-ca-file (and --tls-cert-file and "
            "--tls-key-file for mTLS)");
  EXPECT_EQ(std::string(StoreError(closed, "h:1", true).message()),
            "UNAVAILABLE: ipv4:127.0.0.1:1: Socket closed (server h:1)");
}

TEST(CtlSettingsTest, FlagThenEnvironmentThenFileThenDefault) {
  auto defaults = ResolveSettings({}, {});
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->server, "localhost:6680");
  EXPECT_EQ(defaults->namespace_, "default");
  EXPECT_EQ(defaults->timeout, absl::Seconds(30));

  std::string path = ::testing::TempDir() + "/ctl-settings.toml";
  std::ofstream(path) << "server = \"file:1\"\nnamespace = \"from-file\"\ntls_ca_file = \"ca.pem\"\n";
  auto from_file = ResolveSettings({}, {{"PROTOMESH_CONFIG", path}});
  ASSERT_TRUE(from_file.ok()) << from_file.status();
  EXPECT_EQ(from_file->server, "file:1");
  EXPECT_EQ(from_file->namespace_, "from-file");
  EXPECT_FALSE(from_file->namespace_from_flag);
  EXPECT_EQ(from_file->tls_ca_file, "ca.pem");

  auto env = ResolveSettings({}, {{"PROTOMESH_CONFIG", path}, {"PROTOMESH_SERVER", "env:1"},
                                  {"PROTOMESH_TIMEOUT", "2s"}});
  ASSERT_TRUE(env.ok()) << env.status();
  EXPECT_EQ(env->server, "env:1");
  EXPECT_EQ(env->namespace_, "from-file");
  EXPECT_EQ(env->timeout, absl::Seconds(2));

  auto flag = ResolveSettings({{"server", "flag:1"}, {"namespace", "from-flag"}},
                              {{"PROTOMESH_CONFIG", path}, {"PROTOMESH_SERVER", "env:1"}});
  ASSERT_TRUE(flag.ok()) << flag.status();
  EXPECT_EQ(flag->server, "flag:1");
  EXPECT_EQ(flag->namespace_, "from-flag");
  EXPECT_TRUE(flag->namespace_from_flag);

  auto bad = ResolveSettings({}, {{"PROTOMESH_TIMEOUT", "soon"}});
  EXPECT_EQ(ExitCodeOf(bad.status()), 2);
  EXPECT_EQ(std::string(bad.status().message()),
            "invalid value \"soon\" for $PROTOMESH_TIMEOUT: expected a duration like 30s, 1m or "
            "500ms (0: none)");
  auto half_tls = ResolveSettings({{"tls-cert-file", "c.pem"}}, {});
  EXPECT_EQ(std::string(half_tls.status().message()),
            "--tls-cert-file and --tls-key-file go together: give both or neither");
}

TEST_F(CtlUnitTest, Ages) {
  EXPECT_EQ(FormatAge(absl::Seconds(42)), "42s");
  EXPECT_EQ(FormatAge(absl::Minutes(5)), "5m");
  EXPECT_EQ(FormatAge(absl::Hours(3)), "3h");
  EXPECT_EQ(FormatAge(absl::Hours(24 * 12)), "12d");
}

}  // namespace
}  // namespace protomesh::ctl
