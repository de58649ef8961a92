// protomeshctl end to end: the real binary against a real protomesh-store
// and Postgres. Apply of the examples (mixed kinds, several documents per
// file, YAML and JSON), re-apply, edits, dry runs, prune, bad files with
// their exact errors (and nothing written), get round trips, watch while
// another process applies, history, rollback, delete, settings and exit
// codes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "api/types/v1/envoy.pb.h"
#include "api/types/v1/gateway.pb.h"
#include "api/types/v1/networking.pb.h"
#include "api/types/v1/process.pb.h"
#include "src/ctl/resource_id.h"
#include "tests/support/child_process.h"
#include "tests/support/postgres_server.h"
#include "tests/support/store_process.h"
#include "tests/support/store_test_util.h"
#include "tests/support/wait.h"

namespace protomesh::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using protomesh::types::v1::NetworkingNode;

constexpr int kMaxSpecBytes = 4096;
const std::string kCtl = PROTOMESHCTL_BIN;
const std::string kExamples = std::string(PROTOMESH_SOURCE_DIR) + "/examples";

std::string ReadFile(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

// A watch's output without its "watching namespace ..." notes (stderr).
std::string Events(const std::string& output) {
  std::string events;
  for (absl::string_view line : absl::StrSplit(output, '\n', absl::SkipEmpty())) {
    if (!absl::StartsWith(line, "watching namespace")) absl::StrAppend(&events, line, "\n");
  }
  return events;
}

std::string Lines(const std::vector<std::string>& lines) {
  return absl::StrCat(absl::StrJoin(lines, "\n"), "\n");
}

class CtlTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto store = StoreProcess::StartOnFreshDatabase(
        "ctl", {absl::StrCat("--max-spec-bytes=", kMaxSpecBytes)});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = store->release();
  }
  static void TearDownTestSuite() {
    delete store_;
    store_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(store_, nullptr);
    stub_ = store_->NewStub();
    static int counter = 0;
    ns_ = absl::StrCat("ctl-", ++counter);
    dir_ = (fs::temp_directory_path() / absl::StrCat("protomeshctl-test-", getpid(), "-", counter)).string();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << "store output:\n" << store_->Output() << "\n";
    fs::remove_all(dir_);
  }

  // protomeshctl with --server and `args`; exit code and stdout+stderr.
  CommandResult Ctl(std::vector<std::string> args, const std::string& input = "",
                    std::map<std::string, std::string> env = {}, bool with_server = true) {
    std::vector<std::string> argv = {kCtl};
    if (with_server) {
      argv.push_back("--server");
      argv.push_back(store_->grpc_address());
    }
    argv.insert(argv.end(), args.begin(), args.end());
    auto result = RunCommand(argv, env, input);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : CommandResult{};
  }

  std::string Write(const std::string& name, const std::string& text) {
    std::string path = dir_ + "/" + name;
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream(path) << text;
    return path;
  }

  // The examples, moved to this test's namespace, in dir_/examples.
  std::string CopyExamples() {
    for (const auto& entry : fs::directory_iterator(kExamples)) {
      std::string text = absl::StrReplaceAll(
          ReadFile(entry.path().string()),
          {{"namespace: shop", "namespace: " + ns_}, {"\"namespace\": \"shop\"", "\"namespace\": \"" + ns_ + "\""}});
      Write("examples/" + entry.path().filename().string(), text);
    }
    return dir_ + "/examples";
  }

  std::vector<Resource> Stored(const std::string& ns = "") {
    auto all = ListAll(*stub_, ns.empty() ? ns_ : ns);
    EXPECT_TRUE(all.ok()) << all.status();
    return all.ok() ? *all : std::vector<Resource>{};
  }
  Resource StoredNamed(const std::string& name) {
    for (const Resource& resource : Stored()) {
      if (resource.name() == name) return resource;
    }
    ADD_FAILURE() << "no resource named " << name << " in " << ns_;
    return {};
  }
  int64_t Head() {
    svc::ListResourcesRequest request;
    request.set_namespace_(ns_);
    request.set_page_size(1);
    auto page = List(*stub_, request);
    EXPECT_TRUE(page.ok()) << page.status();
    return page.ok() ? page->revision() : -1;
  }

  // The apply output of the examples, every resource with `outcome` at `revision`.
  std::string ExamplesApplied(const std::string& outcome, int64_t revision) {
    std::vector<std::string> lines;
    for (const char* label : {"gatewaypolicy/create-order", "httpingress/public-ingress",
                              "routingpolicy/shop-routes", "service/catalog", "service/orders",
                              "instanceset/catalog-instances", "instanceset/orders-instances",
                              "trigger/nightly-reconciliation"}) {
      lines.push_back(absl::StrCat(label, " (ns ", ns_, ") ", outcome, " at revision ", revision));
    }
    return Lines(lines);
  }

  // Applies the examples; the revision they were created at.
  int64_t ApplyExamples() {
    auto result = Ctl({"apply", "-f", CopyExamples()});
    EXPECT_EQ(result.exit_code, 0) << result.output;
    return Head();
  }

  static StoreProcess* store_;
  std::unique_ptr<svc::ResourceStore::Stub> stub_;
  std::string ns_;
  std::string dir_;
};
StoreProcess* CtlTest::store_ = nullptr;

TEST_F(CtlTest, ApplyOfTheExamplesCreatesEveryResourceInOneRevision) {
  auto result = Ctl({"apply", "-f", CopyExamples()});
  ASSERT_EQ(result.exit_code, 0) << result.output;
  int64_t revision = Head();
  EXPECT_EQ(result.output, ExamplesApplied("created", revision) +
                               Lines({absl::StrCat("applied at revision ", revision,
                                                   ": 8 created, 0 updated, 0 unchanged, 0 pruned")}));
  std::vector<Resource> stored = Stored();
  ASSERT_EQ(stored.size(), 8u);
  for (const Resource& resource : stored) EXPECT_EQ(resource.version().index(), revision);

  // Ids are the UUIDv5 of namespace/name; the specs are the envelopes.
  Resource ingress = StoredNamed("public-ingress");
  NetworkingNode node;
  ASSERT_TRUE(ingress.spec().UnpackTo(&node));
  ASSERT_EQ(node.http_ingress().http_filters_size(), 3);
  const auto& jwt = node.http_ingress().http_filters(2).jwt_authn();
  ASSERT_EQ(jwt.providers_size(), 1);
  EXPECT_EQ(jwt.providers(0).remote_jwks().timeout().seconds(), 2);
  EXPECT_EQ(jwt.providers(0).from_headers(0).value_prefix(), "Bearer ");
  EXPECT_EQ(jwt.rules(0).required_providers_names(0), "identity");
  protomesh::types::v1::GatewayPolicy policy;
  ASSERT_TRUE(StoredNamed("create-order").spec().UnpackTo(&policy));
  EXPECT_EQ(policy.http().method(), protomesh::types::v1::HTTP_METHOD_POST);
  EXPECT_EQ(policy.handlers(0).aws().lambda().function_name(), "shop-create-order");
  protomesh::types::v1::Process process;
  ASSERT_TRUE(StoredNamed("nightly-reconciliation").spec().UnpackTo(&process));
  EXPECT_EQ(process.trigger().on_drop_action(), protomesh::types::v1::Trigger::ON_DROP_TERMINATE);
}

TEST_F(CtlTest, ReapplyingTheSameFilesChangesNothing) {
  int64_t revision = ApplyExamples();
  auto again = Ctl({"apply", "-f", dir_ + "/examples"});
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_EQ(again.output, ExamplesApplied("unchanged", revision) +
                              Lines({"no changes: 0 created, 0 updated, 8 unchanged, 0 pruned"}));
  EXPECT_EQ(Head(), revision);
}

TEST_F(CtlTest, AnEditUpdatesOnlyTheEditedResource) {
  int64_t revision = ApplyExamples();
  std::string services = ReadFile(dir_ + "/examples/services.yaml");
  Write("examples/services.yaml",
        absl::StrReplaceAll(services, {{"address: 10.0.1.21", "address: 10.0.1.22"}}));
  auto result = Ctl({"apply", "-f", dir_ + "/examples/services.yaml"});
  ASSERT_EQ(result.exit_code, 0) << result.output;
  int64_t edited = Head();
  EXPECT_GT(edited, revision);
  EXPECT_EQ(result.output,
            Lines({absl::StrCat("service/catalog (ns ", ns_, ") unchanged at revision ", revision),
                   absl::StrCat("service/orders (ns ", ns_, ") unchanged at revision ", revision),
                   absl::StrCat("instanceset/catalog-instances (ns ", ns_, ") unchanged at revision ", revision),
                   absl::StrCat("instanceset/orders-instances (ns ", ns_, ") updated at revision ", edited),
                   absl::StrCat("applied at revision ", edited,
                                ": 0 created, 1 updated, 3 unchanged, 0 pruned")}));
  NetworkingNode node;
  ASSERT_TRUE(StoredNamed("orders-instances").spec().UnpackTo(&node));
  EXPECT_EQ(node.instance_set().instances(0).address(), "10.0.1.22");
  // A renamed resource is a new one (its id derives from the name).
  Write("renamed.yaml", "kind: Service\nname: catalog-v2\nnamespace: " + ns_ +
                            "\nspec: {service_name: catalog}\n");
  result = Ctl({"apply", "-f", dir_ + "/renamed.yaml"});
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_THAT(result.output, HasSubstr("service/catalog-v2 (ns " + ns_ + ") created"));
  EXPECT_EQ(Stored().size(), 9u);
}

TEST_F(CtlTest, DryRunShowsTheOutcomeAndWritesNothing) {
  std::string examples = CopyExamples();
  auto result = Ctl({"apply", "-f", examples, "--dry-run"});
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_THAT(result.output, HasSubstr("httpingress/public-ingress (ns " + ns_ + ") created (dry run)\n"));
  EXPECT_THAT(result.output,
              HasSubstr("dry run: 8 to create, 0 to update, 0 unchanged, 0 to prune; nothing was written\n"));
  EXPECT_TRUE(Stored().empty());

  ApplyExamples();
  int64_t head = Head();
  Write("examples/trigger.yaml", absl::StrReplaceAll(ReadFile(examples + "/trigger.yaml"),
                                                     {{"maximum_attempts: 5", "maximum_attempts: 7"}}));
  result = Ctl({"apply", "-f", examples, "--dry-run"});
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_THAT(result.output, HasSubstr("trigger/nightly-reconciliation (ns " + ns_ + ") updated (dry run)\n"));
  EXPECT_THAT(result.output, HasSubstr("service/orders (ns " + ns_ + ") unchanged (dry run)\n"));
  EXPECT_THAT(result.output,
              HasSubstr("dry run: 0 to create, 1 to update, 7 unchanged, 0 to prune; nothing was written\n"));
  EXPECT_EQ(Head(), head);
}

TEST_F(CtlTest, PruneDeletesWhatTheFilesNoLongerHoldInTheSameTransaction) {
  std::string examples = CopyExamples();
  ApplyExamples();

  // No selector: refused, so that nobody wipes a namespace by accident.
  auto refused = Ctl({"apply", "-f", examples + "/services.yaml", "--prune"});
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_EQ(refused.output,
            "error: --prune needs a selector, so that nothing is deleted by accident: --prune-type "
            "KIND, --prune-prefix NAME_PREFIX, or --prune-all for every resource of the namespace "
            "that the files do not contain\n");

  // The ingress file is gone from the set; prune by kind.
  fs::remove(examples + "/ingress.yaml");
  auto dry = Ctl({"apply", "-f", examples, "--prune", "--prune-type", "HttpIngress",
                  "--prune-type", "routingpolicy", "--dry-run"});
  ASSERT_EQ(dry.exit_code, 0) << dry.output;
  EXPECT_THAT(dry.output, HasSubstr(Lines({
                              absl::StrCat("httpingress/public-ingress (ns ", ns_, ") pruned (dry run)"),
                              absl::StrCat("routingpolicy/shop-routes (ns ", ns_, ") pruned (dry run)"),
                              "dry run: 0 to create, 0 to update, 6 unchanged, 2 to prune; nothing was written"})));
  EXPECT_EQ(Stored().size(), 8u);

  // An edit and the prune commit together, under one revision.
  Write("examples/trigger.yaml", absl::StrReplaceAll(ReadFile(examples + "/trigger.yaml"),
                                                     {{"task_timeout: 10s", "task_timeout: 20s"}}));
  auto pruned = Ctl({"apply", "-f", examples, "--prune", "--prune-type", "HttpIngress"});
  ASSERT_EQ(pruned.exit_code, 0) << pruned.output;
  int64_t revision = Head();
  EXPECT_THAT(pruned.output, HasSubstr(absl::StrCat("trigger/nightly-reconciliation (ns ", ns_,
                                                    ") updated at revision ", revision, "\n")));
  EXPECT_THAT(pruned.output, HasSubstr(Lines({
                                 absl::StrCat("httpingress/public-ingress (ns ", ns_, ") pruned at revision ", revision),
                                 absl::StrCat("applied at revision ", revision, ": 0 created, 1 updated, 5 unchanged, 1 pruned")})));
  EXPECT_EQ(Stored().size(), 7u);  // the routing policy stays: not selected

  // By name prefix, then everything else the files lack.
  auto by_prefix = Ctl({"apply", "-f", examples, "--prune", "--prune-prefix", "shop-"});
  ASSERT_EQ(by_prefix.exit_code, 0) << by_prefix.output;
  EXPECT_THAT(by_prefix.output, HasSubstr("routingpolicy/shop-routes (ns " + ns_ + ") pruned at revision"));
  fs::remove(examples + "/gateway-policy.json");
  fs::remove(examples + "/trigger.yaml");
  auto all = Ctl({"apply", "-f", examples, "--prune", "--prune-all"});
  ASSERT_EQ(all.exit_code, 0) << all.output;
  EXPECT_THAT(all.output, HasSubstr("gatewaypolicy/create-order (ns " + ns_ + ") pruned"));
  EXPECT_THAT(all.output, HasSubstr("trigger/nightly-reconciliation (ns " + ns_ + ") pruned"));
  EXPECT_EQ(Stored().size(), 4u);
}

TEST_F(CtlTest, BadFilesAreRejectedWithTheirExactErrorAndNothingIsWritten) {
  struct Case {
    std::string name;
    std::string text;
    std::string error;
  };
  // Each bad file comes after a valid one in the same invocation.
  std::string valid = Write("0-valid.yaml", "kind: Service\nname: fine\nspec: {service_name: fine}\n");
  std::vector<Case> cases = {
      {"malformed.yaml", "kind: Service\nname: a\nspec: {service_name: a}\n---\nkind: Service\nname: b\n  spec: x\n",
       "malformed.yaml: document 2 (line 7, column 7): malformed YAML: illegal map value"},
      {"malformed.json", "{\"kind\": \"Service\", \"name\": \"a\",\n \"spec\": {\"service_name\": \"a\"}\n",
       "malformed.json: document 1 (line 3, column 1): malformed YAML: end of map flow not found"},
      {"unknown-field.yaml",
       "kind: Service\nname: a\nspec: {service_name: a}\n---\nkind: HttpIngress\nname: b\nspec:\n  listen_prot: 80\n",
       "unknown-field.yaml: document 2 (line 8): unknown field \"listen_prot\" in HttpIngress; known fields: "
       "xds_cluster_name, ingress_name, listen_port, http_filters, access_log_stdout_format"},
      {"unknown-nested-field.json",
       "{\"kind\": \"HttpIngress\", \"name\": \"a\", \"spec\": {\"http_filters\": [\n"
       "  {\"jwt_authn\": {\"providers\": [{\"provider\": \"x\"}]}}]}}\n",
       "unknown-nested-field.json: document 1 (line 2): unknown field \"provider\" in "
       "HttpFilter.JwtAuthn.Provider; known fields: provider_name, forward, issuer, audiences, "
       "remote_jwks, claim_to_headers, from_headers, local_jwks"},
      {"unknown-kind.yaml", "kind: Ingress\nname: a\nspec: {}\n",
       "unknown-kind.yaml: document 1 (line 1): unknown kind \"Ingress\"; known kinds: EnvoyCluster, "
       "EnvoyClusterLoadAssignment, EnvoyListener, EnvoyResource, EnvoyRouteConfiguration, "
       "GatewayPolicy, HttpIngress, InstanceSet, RoutingPolicy, Service, Trigger"},
      {"unknown-type.yaml", "name: a\nspec:\n  \"@type\": type.googleapis.com/protomesh.types.v1.Cluster\n",
       "unknown-type.yaml: document 1 (line 3): unknown type "
       "\"type.googleapis.com/protomesh.types.v1.Cluster\" in \"@type\"; spec types: "
       "envoy.config.cluster.v3.Cluster, envoy.config.endpoint.v3.ClusterLoadAssignment, "
       "envoy.config.listener.v3.Listener, envoy.config.route.v3.RouteConfiguration, "
       "protomesh.types.v1.EnvoyResource, protomesh.types.v1.GatewayPolicy, "
       "protomesh.types.v1.NetworkingNode, protomesh.types.v1.Process "
       "(any message of the type registry may be named)"},
      {"bad-enum.yaml", "kind: GatewayPolicy\nname: a\nspec:\n  http: {method: FETCH, path: /}\n",
       "bad-enum.yaml: document 1 (line 4): unknown value \"FETCH\" for field \"method\" (HttpMethod); "
       "allowed: HTTP_METHOD_UNDEFINED, HTTP_METHOD_GET, HTTP_METHOD_HEAD, HTTP_METHOD_POST, "
       "HTTP_METHOD_PUT, HTTP_METHOD_DELETE, HTTP_METHOD_CONNECT, HTTP_METHOD_OPTIONS, "
       "HTTP_METHOD_TRACE, HTTP_METHOD_PATCH"},
      {"bad-duration.yaml", "kind: Service\nname: a\nspec:\n  connect_timeout: 2m\n",
       "bad-duration.yaml: document 1 (line 4): field \"connect_timeout\" expects a duration in "
       "seconds with an \"s\" suffix, like \"2s\" or \"0.250s\"; got \"2m\""},
      {"no-name.yaml", "kind: Service\nspec: {}\n",
       "no-name.yaml: document 1 (line 1): the document has no name"},
      {"twice.yaml", "kind: Service\nname: a\nspec: {}\n---\nkind: Trigger\nname: a\nspec: {}\n",
       "twice.yaml: document 2 (line 5): resource " + ns_ + "/a (id " + ctl::DeriveResourceId(ns_, "a") +
           ") is also " + dir_ + "/twice.yaml: document 1; a resource can be applied once per invocation"},
  };
  for (Case& c : cases) {
    std::string path = Write(c.name, c.text);
    auto result = Ctl({"-n", ns_, "apply", "-f", valid, "-f", path});
    std::string expected = absl::StrCat("error: ", dir_, "/", c.error, "\n");
    EXPECT_EQ(result.exit_code, 3) << c.name << ": " << result.output;
    EXPECT_EQ(result.output, expected) << c.name;
    EXPECT_TRUE(Stored().empty()) << c.name << " wrote something";
  }
  auto missing = Ctl({"apply", "-f", dir_ + "/nope.yaml"});
  EXPECT_EQ(missing.exit_code, 3);
  EXPECT_EQ(missing.output, "error: " + dir_ + "/nope.yaml: no such file or directory\n");
}

TEST_F(CtlTest, StoreRejectionsNameTheDocument) {
  std::string big(kMaxSpecBytes + 100, 'x');
  std::string path = Write("big.yaml", "kind: Service\nname: small\nspec: {service_name: s}\n---\n"
                                       "kind: Service\nname: big\nspec: {service_name: " + big + "}\n");
  auto result = Ctl({"-n", ns_, "apply", "-f", path});
  EXPECT_EQ(result.exit_code, 3) << result.output;
  EXPECT_THAT(result.output, StartsWith("error: " + path + ": document 2 (line 5): INVALID_ARGUMENT: operations[1]"));
  EXPECT_THAT(result.output, HasSubstr("over the limit of 4096 bytes"));
  EXPECT_TRUE(Stored().empty());
}

TEST_F(CtlTest, TooManyResourcesForOneTransactionIsAnErrorBeforeWriting) {
  std::string text;
  for (int i = 0; i < 1001; ++i) {
    absl::StrAppend(&text, "---\nkind: Service\nname: s", i, "\nspec: {service_name: s", i, "}\n");
  }
  auto result = Ctl({"-n", ns_, "apply", "-f", "-"}, text);
  EXPECT_EQ(result.exit_code, 3) << result.output;
  EXPECT_EQ(result.output,
            "error: the input makes 1001 operations (1001 resources), and the store applies at most "
            "1000 in one transaction: split the input into several applies\n");
  EXPECT_TRUE(Stored().empty());
}

TEST_F(CtlTest, ExplicitNamespaceMustMatchTheDocuments) {
  std::string examples = CopyExamples();
  auto result = Ctl({"-n", "elsewhere", "apply", "-f", examples + "/trigger.yaml"});
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_EQ(result.output, absl::StrCat("error: ", examples, "/trigger.yaml: document 1 (line 4): the "
                                        "document's namespace \"", ns_,
                                        "\" differs from --namespace \"elsewhere\"\n"));
  // Documents without a namespace take --namespace.
  std::string path = Write("plain.yaml", "kind: Service\nname: a\nspec: {service_name: a}\n");
  result = Ctl({"apply", "-n", ns_, "-f", path});
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(Stored().size(), 1u);
}

constexpr char kRawEnvoyResources[] = R"(kind: EnvoyCluster
name: raw-backend
spec:
  name: raw-backend
  connect_timeout: 1s
  type: STATIC
  load_assignment:
    cluster_name: raw-backend
    endpoints:
    - lb_endpoints:
      - endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: 9000}}}
---
kind: EnvoyResource
name: edge-listener
spec:
  xds_cluster_name: edge
  resource:
    "@type": type.googleapis.com/envoy.config.listener.v3.Listener
    name: raw-listener
    address: {socket_address: {address: 0.0.0.0, port_value: 9090}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: raw
          route_config:
            name: raw
            virtual_hosts: [{name: all, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: raw-backend}}]}]
          http_filters:
          - name: envoy.filters.http.router
            typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}
)";

TEST_F(CtlTest, RawEnvoyResourcesApplyFromYamlAndRoundTrip) {
  std::string file = Write("envoy.yaml", kRawEnvoyResources);
  auto applied = Ctl({"-n", ns_, "apply", "-f", file});
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  EXPECT_THAT(applied.output, HasSubstr(absl::StrCat("envoycluster/raw-backend (ns ", ns_, ") created")));
  EXPECT_THAT(applied.output, HasSubstr(absl::StrCat("envoyresource/edge-listener (ns ", ns_, ") created")));

  // Stored as Envoy's own types: the cluster as itself, the listener in an
  // EnvoyResource that scopes it to node cluster edge.
  Resource cluster = StoredNamed("raw-backend");
  EXPECT_EQ(cluster.spec().type_url(), "type.googleapis.com/envoy.config.cluster.v3.Cluster");
  Resource wrapped = StoredNamed("edge-listener");
  protomesh::types::v1::EnvoyResource envoy_resource;
  ASSERT_TRUE(wrapped.spec().UnpackTo(&envoy_resource));
  EXPECT_EQ(envoy_resource.xds_cluster_name(), "edge");
  EXPECT_EQ(envoy_resource.resource().type_url(),
            "type.googleapis.com/envoy.config.listener.v3.Listener");
  EXPECT_FALSE(envoy_resource.resource().value().empty());

  int64_t revision = Head();
  for (const std::string format : {"yaml", "json"}) {
    auto got = Ctl({"-n", ns_, "get", "-o", format});
    ASSERT_EQ(got.exit_code, 0) << got.output;
    EXPECT_THAT(got.output, HasSubstr("envoy.extensions.filters.http.router.v3.Router"));
    auto again = Ctl({"apply", "-f", "-"}, got.output);
    ASSERT_EQ(again.exit_code, 0) << again.output;
    EXPECT_THAT(again.output, HasSubstr("no changes: 0 created, 0 updated, 2 unchanged, 0 pruned\n"))
        << format << "\n" << got.output;
  }
  EXPECT_EQ(Head(), revision);

  // A misspelt Envoy field is an invalid-input error naming it; nothing is written.
  std::string bad = Write("bad-envoy.yaml", absl::StrReplaceAll(kRawEnvoyResources,
                                                                {{"stat_prefix", "stats_prefix"}}));
  auto rejected = Ctl({"-n", ns_, "apply", "-f", bad});
  EXPECT_EQ(rejected.exit_code, 3);
  EXPECT_THAT(rejected.output,
              HasSubstr("document 2 (line 26): unknown field \"stats_prefix\" in "
                        "envoy.extensions.filters.network.http_connection_manager.v3."
                        "HttpConnectionManager; known fields: "));
  EXPECT_EQ(Head(), revision);
}

TEST_F(CtlTest, GetOutputAppliesBackUnchanged) {
  int64_t revision = ApplyExamples();
  for (const std::string format : {"yaml", "json"}) {
    auto got = Ctl({"-n", ns_, "get", "-o", format});
    ASSERT_EQ(got.exit_code, 0) << got.output;
    auto applied = Ctl({"apply", "-f", "-"}, got.output);
    ASSERT_EQ(applied.exit_code, 0) << applied.output;
    EXPECT_THAT(applied.output, HasSubstr("no changes: 0 created, 0 updated, 8 unchanged, 0 pruned\n"))
        << format << "\n" << got.output;
  }
  EXPECT_EQ(Head(), revision);

  Resource catalog = StoredNamed("catalog");
  auto one = Ctl({"-n", ns_, "get", "catalog", "-o", "yaml"});
  ASSERT_EQ(one.exit_code, 0) << one.output;
  EXPECT_THAT(one.output, StartsWith(absl::StrCat("kind: Service\nnamespace: ", ns_,
                                                  "\nname: catalog\nid: ", catalog.id(),
                                                  "\nspec:\n  service_name: catalog\n  "
                                                  "xds_cluster_name: edge\n  connect_timeout: 1s\n  "
                                                  "instance_http2_options:\n    "
                                                  "max_concurrent_streams: 100\nstatus:\n  revision: ",
                                                  revision, "\n  sha256_hash: ",
                                                  catalog.version().sha256_hash(), "\n")));
  auto by_id = Ctl({"-n", ns_, "get", "--id", catalog.id(), "-o", "json"});
  ASSERT_EQ(by_id.exit_code, 0) << by_id.output;
  EXPECT_THAT(by_id.output, StartsWith("{\n  \"kind\": \"Service\",\n"));

  auto table = Ctl({"-n", ns_, "list", "--type", "InstanceSet"});
  ASSERT_EQ(table.exit_code, 0) << table.output;
  std::vector<std::string> rows = absl::StrSplit(table.output, '\n', absl::SkipEmpty());
  ASSERT_EQ(rows.size(), 3u) << table.output;
  EXPECT_THAT(rows[0], ::testing::MatchesRegex("NAMESPACE +NAME +KIND +ID +REVISION +AGE"));
  EXPECT_THAT(rows[1], ::testing::MatchesRegex(absl::StrCat(ns_, " +catalog-instances +InstanceSet +[0-9a-f-]{36} +", revision, " +[0-9]+s")));
  EXPECT_THAT(rows[2], HasSubstr("orders-instances"));
  auto prefixed = Ctl({"-n", ns_, "get", "--prefix", "orders", "-o", "yaml"});
  EXPECT_THAT(prefixed.output, HasSubstr("name: orders-instances\n"));
  EXPECT_THAT(prefixed.output, HasSubstr("name: orders\n"));
  EXPECT_THAT(prefixed.output, Not(HasSubstr("name: catalog")));

  auto missing = Ctl({"-n", ns_, "get", "nothing-here"});
  EXPECT_EQ(missing.exit_code, 4);
  EXPECT_EQ(missing.output, "error: no resource named \"nothing-here\" in namespace " + ns_ + "\n");
}

TEST_F(CtlTest, WatchPrintsEachChangeWhileAnotherProcessApplies) {
  std::string examples = CopyExamples();
  auto watch = ChildProcess::Start({kCtl, "--server", store_->grpc_address(), "-n", ns_, "watch"});
  ASSERT_TRUE(watch.ok()) << watch.status();
  ASSERT_TRUE(WaitUntil([&] { return absl::StrContains((*watch)->Output(), "watching namespace"); },
                        std::chrono::seconds(20)))
      << (*watch)->Output();

  auto applied = Ctl({"apply", "-f", examples + "/services.yaml"});
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  int64_t created = Head();
  Write("examples/services.yaml", absl::StrReplaceAll(ReadFile(examples + "/services.yaml"),
                                                      {{"connect_timeout: 2s", "connect_timeout: 3s"}}));
  ASSERT_EQ(Ctl({"apply", "-f", examples + "/services.yaml"}).exit_code, 0);
  int64_t modified = Head();
  ASSERT_EQ(Ctl({"-n", ns_, "delete", "catalog-instances"}).exit_code, 0);
  int64_t deleted = Head();

  std::string expected = Lines({
      absl::StrCat(created, " ADDED instanceset/catalog-instances"),
      absl::StrCat(created, " ADDED instanceset/orders-instances"),
      absl::StrCat(created, " ADDED service/catalog"),
      absl::StrCat(created, " ADDED service/orders"),
      absl::StrCat(modified, " MODIFIED service/orders"),
      absl::StrCat(deleted, " DELETED instanceset/catalog-instances"),
  });
  EXPECT_TRUE(WaitUntil([&] { return Events((*watch)->Output()) == expected; },
                        std::chrono::seconds(20)))
      << (*watch)->Output();

  // Resuming after the first apply replays the rest, then follows live.
  auto resumed = ChildProcess::Start({kCtl, "--server", store_->grpc_address(), "-n", ns_, "watch",
                                      "--since", absl::StrCat(created), "--type", "Service"});
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  ASSERT_EQ(Ctl({"-n", ns_, "delete", "orders"}).exit_code, 0);
  std::string replayed = Lines({absl::StrCat(modified, " MODIFIED service/orders"),
                                absl::StrCat(Head(), " DELETED service/orders")});
  EXPECT_TRUE(WaitUntil([&] { return Events((*resumed)->Output()) == replayed; },
                        std::chrono::seconds(20)))
      << (*resumed)->Output();
}

TEST_F(CtlTest, WatchAsYamlPrintsDocumentsWithTheirEvent) {
  ApplyExamples();
  auto watch = ChildProcess::Start(
      {kCtl, "--server", store_->grpc_address(), "-n", ns_, "watch", "-o", "yaml", "-t", "Trigger"});
  ASSERT_TRUE(watch.ok()) << watch.status();
  ASSERT_TRUE(WaitUntil([&] { return absl::StrContains((*watch)->Output(), "event: ADDED"); },
                        std::chrono::seconds(20)))
      << (*watch)->Output();
  EXPECT_THAT((*watch)->Output(), HasSubstr("kind: Trigger\nnamespace: " + ns_ +
                                            "\nname: nightly-reconciliation\n"));
  EXPECT_THAT((*watch)->Output(), Not(HasSubstr("kind: Service")));
}

TEST_F(CtlTest, HistoryListsVersionsAndRollbackReappliesOne) {
  std::string examples = CopyExamples();
  ASSERT_EQ(Ctl({"apply", "-f", examples + "/services.yaml"}).exit_code, 0);
  int64_t first = Head();
  Write("examples/services.yaml", absl::StrReplaceAll(ReadFile(examples + "/services.yaml"),
                                                      {{"max_concurrent_streams: 100", "max_concurrent_streams: 250"}}));
  ASSERT_EQ(Ctl({"apply", "-f", examples + "/services.yaml"}).exit_code, 0);
  int64_t second = Head();

  auto history = Ctl({"-n", ns_, "history", "catalog"});
  ASSERT_EQ(history.exit_code, 0) << history.output;
  std::vector<std::string> rows = absl::StrSplit(history.output, '\n', absl::SkipEmpty());
  ASSERT_EQ(rows.size(), 3u) << history.output;
  EXPECT_THAT(rows[0], ::testing::MatchesRegex("REVISION +CHANGE +TIMESTAMP +KIND +NAME"));
  EXPECT_THAT(rows[1], ::testing::MatchesRegex(absl::StrCat(second, " +updated +[0-9T:.Z-]+ +Service +catalog")));
  EXPECT_THAT(rows[2], ::testing::MatchesRegex(absl::StrCat(first, " +created +[0-9T:.Z-]+ +Service +catalog")));

  auto rollback = Ctl({"-n", ns_, "rollback", "catalog", "--to-revision", absl::StrCat(first)});
  ASSERT_EQ(rollback.exit_code, 0) << rollback.output;
  int64_t third = Head();
  EXPECT_EQ(rollback.output, absl::StrCat("service/catalog (ns ", ns_, ") rolled back to revision ",
                                          first, ": updated at revision ", third, "\n"));
  NetworkingNode node;
  ASSERT_TRUE(StoredNamed("catalog").spec().UnpackTo(&node));
  EXPECT_EQ(node.service().instance_http2_options().max_concurrent_streams(), 100);
  // The same rollback again changes nothing.
  rollback = Ctl({"-n", ns_, "rollback", "catalog", "--to-revision", absl::StrCat(first)});
  EXPECT_EQ(rollback.output, absl::StrCat("service/catalog (ns ", ns_, ") rolled back to revision ",
                                          first, ": unchanged at revision ", third, "\n"));

  // A deleted resource keeps its history and can be brought back.
  ASSERT_EQ(Ctl({"-n", ns_, "delete", "catalog"}).exit_code, 0);
  int64_t dropped = Head();
  history = Ctl({"-n", ns_, "history", "catalog", "-o", "yaml"});
  ASSERT_EQ(history.exit_code, 0) << history.output;
  EXPECT_THAT(history.output, HasSubstr(absl::StrCat("  revision: ", dropped, "\n")));
  EXPECT_THAT(history.output, HasSubstr("  change: deleted\n"));
  rollback = Ctl({"-n", ns_, "rollback", "catalog", "--to-revision", absl::StrCat(second)});
  ASSERT_EQ(rollback.exit_code, 0) << rollback.output;
  EXPECT_EQ(rollback.output, absl::StrCat("service/catalog (ns ", ns_, ") rolled back to revision ",
                                          second, ": created at revision ", Head(), "\n"));

  auto before = Ctl({"-n", ns_, "rollback", "catalog", "--to-revision", absl::StrCat(first - 1)});
  EXPECT_EQ(before.exit_code, 4);
  EXPECT_EQ(before.output, absl::StrCat("error: \"catalog\" did not exist in namespace ", ns_,
                                        " at revision ", first - 1,
                                        "; protomeshctl history lists its versions\n"));
  auto unknown = Ctl({"-n", ns_, "history", "never-was"});
  EXPECT_EQ(unknown.exit_code, 4);
  EXPECT_EQ(unknown.output, "error: no history for \"never-was\" in namespace " + ns_ + "\n");
}

TEST_F(CtlTest, DeleteByNameIdOrFileInOneTransaction) {
  std::string examples = CopyExamples();
  ApplyExamples();
  Resource orders = StoredNamed("orders");

  // Something missing: nothing is deleted.
  auto refused = Ctl({"-n", ns_, "delete", "catalog", "ghost"});
  EXPECT_EQ(refused.exit_code, 4);
  EXPECT_EQ(refused.output, Lines({absl::StrCat("error: no resource named \"ghost\" in namespace ", ns_),
                                   "error: nothing was deleted"}));
  EXPECT_EQ(Stored().size(), 8u);

  auto deleted = Ctl({"-n", ns_, "delete", "catalog", "--id", orders.id(), "-f", examples + "/trigger.yaml"});
  ASSERT_EQ(deleted.exit_code, 0) << deleted.output;
  int64_t revision = Head();
  EXPECT_EQ(deleted.output,
            Lines({absl::StrCat("service/catalog (ns ", ns_, ") deleted at revision ", revision),
                   absl::StrCat("service/orders (ns ", ns_, ") deleted at revision ", revision),
                   absl::StrCat("trigger/nightly-reconciliation (ns ", ns_, ") deleted at revision ", revision),
                   absl::StrCat("deleted 3 at revision ", revision)}));
  EXPECT_EQ(Stored().size(), 5u);

  auto ignored = Ctl({"-n", ns_, "delete", "catalog", "--ignore-not-found"});
  EXPECT_EQ(ignored.exit_code, 0);
  EXPECT_EQ(ignored.output, Lines({absl::StrCat("no resource named \"catalog\" in namespace ", ns_, " (ignored)"),
                                   "nothing to delete"}));
}

TEST_F(CtlTest, ANameSharedByTwoResourcesMustBeGivenById) {
  const std::string first = "6f1c1a52-3b7e-4a5e-9d3c-0a1b2c3d4e5f";
  const std::string second = "0d9e8f7a-6b5c-4d3e-8f1a-2b3c4d5e6f70";
  auto twin = [&](const std::string& id, int streams) {
    return absl::StrCat("kind: Service\nnamespace: ", ns_, "\nname: twin\nid: ", id,
                        "\nspec:\n  service_name: twin\n  xds_cluster_name: edge\n"
                        "  instance_http2_options:\n    max_concurrent_streams: ",
                        streams, "\n");
  };
  ASSERT_EQ(Ctl({"apply", "-f", "-"}, twin(first, 1) + "---\n" + twin(second, 2)).exit_code, 0);
  const int64_t revision = Head();
  const std::string ambiguous = absl::StrCat("error: the name \"twin\" matches 2 resources in namespace ",
                                             ns_, " (ids ");

  auto deleted = Ctl({"-n", ns_, "delete", "twin"});
  EXPECT_EQ(deleted.exit_code, 2) << deleted.output;
  EXPECT_THAT(deleted.output, StartsWith(ambiguous));
  EXPECT_THAT(deleted.output, HasSubstr("): delete one with --id\n"));
  EXPECT_THAT(deleted.output, HasSubstr(first));
  EXPECT_THAT(deleted.output, HasSubstr(second));

  auto history = Ctl({"-n", ns_, "history", "twin"});
  EXPECT_EQ(history.exit_code, 2) << history.output;
  EXPECT_THAT(history.output, StartsWith(ambiguous));
  EXPECT_THAT(history.output, HasSubstr("): give one with --id\n"));
  EXPECT_EQ(Head(), revision);

  deleted = Ctl({"-n", ns_, "delete", "--id", first});
  ASSERT_EQ(deleted.exit_code, 0) << deleted.output;
  EXPECT_EQ(Ctl({"-n", ns_, "delete", "twin"}).exit_code, 0);
}

TEST_F(CtlTest, SettingsComeFromFlagsThenEnvironmentThenConfigFile) {
  ApplyExamples();
  std::string good = store_->grpc_address();
  std::string config = Write("ctl.toml", absl::StrCat("server = \"", good, "\"\nnamespace = \"", ns_,
                                                      "\"\ntimeout = \"10s\"\n"));
  auto from_file = Ctl({"--config", config, "get", "orders"}, "", {}, /*with_server=*/false);
  EXPECT_EQ(from_file.exit_code, 0) << from_file.output;
  EXPECT_THAT(from_file.output, HasSubstr(" orders "));

  // The environment beats the file, the flag beats the environment.
  auto env_wins = Ctl({"get", "orders"}, "", {{"PROTOMESH_CONFIG", config}, {"PROTOMESH_SERVER", "127.0.0.1:1"}},
                      /*with_server=*/false);
  EXPECT_EQ(env_wins.exit_code, 1);
  EXPECT_THAT(env_wins.output, StartsWith("error: UNAVAILABLE: "));
  EXPECT_THAT(env_wins.output, HasSubstr("(server 127.0.0.1:1)\n"));
  auto flag_wins = Ctl({"--server", good, "get", "orders"},
                       "", {{"PROTOMESH_CONFIG", config}, {"PROTOMESH_SERVER", "127.0.0.1:1"}},
                       /*with_server=*/false);
  EXPECT_EQ(flag_wins.exit_code, 0) << flag_wins.output;
  auto namespace_env = Ctl({"get", "orders"}, "", {{"PROTOMESH_NAMESPACE", "default"}});
  EXPECT_EQ(namespace_env.exit_code, 4) << namespace_env.output;

  std::string bad_config = Write("bad.toml", "server = \"x:1\"\nnamespce = \"a\"\n");
  auto bad = Ctl({"--config", bad_config, "get"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_EQ(bad.output, "error: config file " + bad_config +
                            ": unknown key \"namespce\"; known keys: server, xds-server, namespace, "
                            "tls-ca-file, tls-cert-file, tls-key-file, tls-server-name, timeout\n");
  auto bad_flag = Ctl({"get", "-o", "xml"});
  EXPECT_EQ(bad_flag.exit_code, 2);
  EXPECT_EQ(bad_flag.output, "error: unknown output format \"xml\" for -o; known formats: table, yaml, json\n");
  auto bad_namespace = Ctl({"-n", "Not_A_Label", "get"});
  EXPECT_EQ(bad_namespace.exit_code, 2);
  auto unknown_option = Ctl({"apply", "--frobnicate"});
  EXPECT_EQ(unknown_option.exit_code, 2);
  auto help = Ctl({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.output, HasSubstr("3  invalid input: a file is malformed or invalid; nothing was written"));
  EXPECT_THAT(help.output, HasSubstr("PROTOMESH_SERVER"));
}

}  // namespace
}  // namespace protomesh::testing
