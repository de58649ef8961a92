// protomesh-xds end to end: a real store and a real protomesh-xds process,
// and gRPC C++'s own xDS client (the "xds:///" resolver) dialing two
// in-process backends through the configuration it is served.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "api/types/v1/networking.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/support/child_process.h"
#include "tests/support/postgres_server.h"
#include "tests/support/store_process.h"
#include "tests/support/store_test_util.h"
#include "tests/support/wait.h"

namespace protomesh::testing {
namespace {

namespace types = protomesh::types::v1;
using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

constexpr char kNamespace[] = "mesh";
constexpr char kNodeCluster[] = "grpc-clients";
constexpr auto kTimeout = std::chrono::seconds(20);

// A backend: the health service's Check answers with the backend's name in
// the "x-backend" header, so a client can tell who served each call.
class NamedHealth final : public Health::Service {
 public:
  explicit NamedHealth(std::string name) : name_(std::move(name)) {}
  grpc::Status Check(grpc::ServerContext* context, const HealthCheckRequest*,
                     HealthCheckResponse* response) override {
    context->AddInitialMetadata("x-backend", name_);
    response->set_status(HealthCheckResponse::SERVING);
    return grpc::Status::OK;
  }

 private:
  const std::string name_;
};

struct Backend {
  explicit Backend(const std::string& name) : service(name) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service);
    server = builder.BuildAndStart();
  }
  ~Backend() { server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1)); }
  NamedHealth service;
  int port = 0;
  std::unique_ptr<grpc::Server> server;
};

types::Resource Networking(const std::string& name, const types::NetworkingNode& node,
                           const std::string& id = "") {
  types::Resource resource;
  resource.set_namespace_(kNamespace);
  resource.set_id(id.empty() ? NewUuid() : id);
  resource.set_name(name);
  resource.mutable_spec()->PackFrom(node);
  return resource;
}

types::NetworkingNode ServiceNode(const std::string& service_name,
                                  const std::string& grpc_target_name) {
  types::NetworkingNode node;
  auto* service = node.mutable_service();
  service->set_service_name(service_name);
  service->set_xds_cluster_name(kNodeCluster);
  service->set_grpc_target_name(grpc_target_name);
  return node;
}

types::NetworkingNode InstancesNode(const std::string& service_name, const std::vector<int>& ports) {
  types::NetworkingNode node;
  auto* set = node.mutable_instance_set();
  set->add_match_service_names(service_name);
  for (int port : ports) {
    auto* instance = set->add_instances();
    instance->set_address("127.0.0.1");
    instance->set_port(port);
  }
  return node;
}

class XdsEndToEndTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto& postgres = SharedPostgres();
    ASSERT_TRUE(postgres.CreateDatabase("xds_e2e").ok());
    auto store = StoreProcess::Start(postgres.Url("xds_e2e"));
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = store->release();

    xds_grpc_port_ = FreePort();
    xds_admin_port_ = FreePort();
    auto xds = ChildProcess::Start({PROTOMESH_XDS_BIN,
                                    absl::StrCat("--grpc-listen=127.0.0.1:", xds_grpc_port_),
                                    absl::StrCat("--admin-listen=127.0.0.1:", xds_admin_port_),
                                    "--store-address=" + store_->grpc_address(),
                                    absl::StrCat("--namespace=", kNamespace),
                                    "--log-level=debug", "--shutdown-grace=2s"});
    ASSERT_TRUE(xds.ok()) << xds.status();
    xds_ = xds->release();
    bool ready = WaitUntil(
        [] { return !xds_->Running() || AdminGet("/readyz").first == 200; }, kTimeout);
    ASSERT_TRUE(ready && xds_->Running()) << xds_->Output();

    // The xDS client reads its bootstrap when the first xds channel is made.
    bootstrap_path_ = absl::StrCat(::testing::TempDir(), "/xds_e2e_bootstrap_", getpid(), ".json");
    std::ofstream(bootstrap_path_) << absl::StrCat(
        R"({"xds_servers":[{"server_uri":"127.0.0.1:)", xds_grpc_port_,
        R"(","channel_creds":[{"type":"insecure"}],"server_features":["xds_v3"]}],)",
        R"("node":{"id":"test-client","cluster":")", kNodeCluster, R"("}})");
    setenv("GRPC_XDS_BOOTSTRAP", bootstrap_path_.c_str(), 1);
  }

  static void TearDownTestSuite() {
    if (xds_ != nullptr) {
      auto exit_code = xds_->Terminate();
      EXPECT_TRUE(exit_code.ok() && *exit_code == 0)
          << (exit_code.ok() ? absl::StrCat("exit code ", *exit_code) : exit_code.status().ToString())
          << "\n" << xds_->Output();
      delete xds_;
      xds_ = nullptr;
    }
    delete store_;
    store_ = nullptr;
    std::remove(bootstrap_path_.c_str());
  }

  void TearDown() override {
    if (HasFailure() && xds_ != nullptr) {
      std::fprintf(stderr, "protomesh-xds output:\n%s\n", xds_->Output().c_str());
    }
  }

  static std::pair<int, std::string> AdminGet(const std::string& path) {
    httplib::Client client("127.0.0.1", xds_admin_port_);
    client.set_connection_timeout(1, 0);
    client.set_read_timeout(5, 0);
    auto result = client.Get(path.c_str());
    if (!result) return {0, ""};
    return {result->status, result->body};
  }

  void Put(const types::Resource& resource) {
    auto stub = store_->NewStub();
    auto put = testing::Put(*stub, resource);
    ASSERT_TRUE(put.ok()) << put.status();
  }
  void Drop(const std::string& id) {
    auto stub = store_->NewStub();
    auto dropped = testing::Drop(*stub, kNamespace, {id});
    ASSERT_TRUE(dropped.ok()) << dropped.status();
  }

  // One call through the xDS channel: the backend that answered, or nullopt
  // when the call failed.
  std::optional<std::string> Call() {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
    HealthCheckRequest request;
    HealthCheckResponse response;
    grpc::Status status = stub_->Check(&context, request, &response);
    if (!status.ok()) {
      last_error_ = absl::StrCat(status.error_code(), ": ", status.error_message());
      return std::nullopt;
    }
    auto it = context.GetServerInitialMetadata().find("x-backend");
    if (it == context.GetServerInitialMetadata().end()) return std::string("?");
    return std::string(it->second.data(), it->second.size());
  }

  // Calls until `done` holds over the answers since the last call to this
  // (nullopt: failed calls), or kTimeout passes.
  bool CallUntil(const std::function<bool(const std::vector<std::optional<std::string>>&)>& done) {
    std::vector<std::optional<std::string>> answers;
    const auto deadline = std::chrono::steady_clock::now() + kTimeout;
    while (std::chrono::steady_clock::now() < deadline) {
      answers.push_back(Call());
      if (done(answers)) return true;
    }
    return false;
  }

  static bool LastAll(const std::vector<std::optional<std::string>>& answers, size_t n,
                      const std::optional<std::string>& value) {
    if (answers.size() < n) return false;
    for (size_t i = answers.size() - n; i < answers.size(); ++i) {
      if (answers[i] != value) return false;
    }
    return true;
  }

  static inline StoreProcess* store_ = nullptr;
  static inline ChildProcess* xds_ = nullptr;
  static inline int xds_grpc_port_ = 0;
  static inline int xds_admin_port_ = 0;
  static inline std::string bootstrap_path_;

  std::unique_ptr<Health::Stub> stub_;
  std::string last_error_;
};

TEST_F(XdsEndToEndTest, ProxylessGrpcClientFollowsTheStore) {
  Backend a("a"), b("b");
  ASSERT_NE(a.port, 0);
  ASSERT_NE(b.port, 0);

  // Service echo-a, exposed to gRPC clients as "echo", on both backends.
  const std::string service_a_id = NewUuid();
  const std::string instances_a_id = NewUuid();
  Put(Networking("echo-a", ServiceNode("echo-a", "echo"), service_a_id));
  Put(Networking("echo-a-instances", InstancesNode("echo-a", {a.port, b.port}), instances_a_id));

  auto channel = grpc::CreateChannel("xds:///echo", grpc::InsecureChannelCredentials());
  stub_ = Health::NewStub(channel);

  // 1. Calls succeed, and round robin reaches both backends.
  std::map<std::string, int> seen;
  ASSERT_TRUE(CallUntil([&](const auto& answers) {
    if (answers.back()) ++seen[*answers.back()];
    return seen["a"] > 0 && seen["b"] > 0;
  })) << "answers: a=" << seen["a"] << " b=" << seen["b"] << ", last error: " << last_error_;
  {
    std::map<std::string, int> counts;
    for (int i = 0; i < 100; ++i) {
      auto answer = Call();
      ASSERT_TRUE(answer.has_value()) << last_error_;
      ++counts[*answer];
    }
    // Round robin alternates: 50 each, give or take the calls around a
    // reconnection.
    EXPECT_GE(counts["a"], 40) << "a=" << counts["a"] << " b=" << counts["b"];
    EXPECT_GE(counts["b"], 40) << "a=" << counts["a"] << " b=" << counts["b"];
  }

  // 2. Dropping instance b from the set moves all traffic to a.
  Put(Networking("echo-a-instances", InstancesNode("echo-a", {a.port}), instances_a_id));
  ASSERT_TRUE(CallUntil([&](const auto& answers) {
    return LastAll(answers, 20, std::string("a"));
  })) << "last error: " << last_error_;
  for (int i = 0; i < 100; ++i) ASSERT_EQ(Call(), std::optional<std::string>("a")) << last_error_;

  // 3. A canary: service echo-b (not exposed) on backend b, and a 90/10
  // split of "echo" between echo-a and echo-b.
  Put(Networking("echo-b", ServiceNode("echo-b", ""), NewUuid()));
  Put(Networking("echo-b-instances", InstancesNode("echo-b", {b.port}), NewUuid()));
  types::NetworkingNode policy;
  auto* routing = policy.mutable_routing_policy();
  routing->set_ingress_name("echo");
  routing->set_xds_cluster_name(kNodeCluster);
  routing->set_domain("*");
  auto* route = routing->add_routes();
  route->set_match_prefix("/");
  auto* to_a = route->add_weighted_targets();
  to_a->set_service("echo-a");
  to_a->set_weight(90);
  auto* to_b = route->add_weighted_targets();
  to_b->set_service("echo-b");
  to_b->set_weight(10);
  Put(Networking("echo-split", policy, NewUuid()));
  ASSERT_TRUE(CallUntil([&](const auto& answers) {
    return answers.back() == std::optional<std::string>("b");
  })) << "backend b never answered; last error: " << last_error_;
  {
    std::map<std::string, int> counts;
    for (int i = 0; i < 1000; ++i) {
      auto answer = Call();
      ASSERT_TRUE(answer.has_value()) << last_error_;
      ++counts[*answer];
    }
    EXPECT_EQ(counts["a"] + counts["b"], 1000);
    EXPECT_GE(counts["a"], 800) << "a=" << counts["a"] << " b=" << counts["b"];
    EXPECT_LE(counts["a"], 970) << "a=" << counts["a"] << " b=" << counts["b"];
  }

  // 4. Dropping the exposed service (its listener goes) makes calls fail.
  Drop(service_a_id);
  ASSERT_TRUE(CallUntil([&](const auto& answers) { return LastAll(answers, 5, std::nullopt); }))
      << "calls kept succeeding after the service was dropped";

  // 5. Re-adding it recovers, with the split still in place.
  Put(Networking("echo-a", ServiceNode("echo-a", "echo"), NewUuid()));
  ASSERT_TRUE(CallUntil([&](const auto& answers) {
    return LastAll(answers, 20, std::string("a")) || LastAll(answers, 1, std::string("b"));
  })) << "calls did not recover; last error: " << last_error_;

  // The server reports the client in its config dump, and no resource
  // failed to translate.
  auto [status, dump] = AdminGet("/config_dump");
  EXPECT_EQ(status, 200);
  EXPECT_NE(dump.find("test-client"), std::string::npos) << dump;
  auto [metrics_status, metrics] = AdminGet("/metrics");
  EXPECT_NE(metrics.find("protomesh_xds_translation_errors 0"), std::string::npos) << metrics;
}

TEST_F(XdsEndToEndTest, ReportsUntranslatableResources) {
  // A random-LB service exposed to gRPC clients cannot be served to them.
  types::NetworkingNode node = ServiceNode("bad-random", "bad-random");
  node.mutable_service()->set_lb_policy(types::Service::LB_POLICY_RANDOM);
  const std::string id = NewUuid();
  Put(Networking("bad-random", node, id));
  EXPECT_TRUE(WaitUntil(
      [] {
        return AdminGet("/metrics").second.find("protomesh_xds_translation_errors 1") !=
               std::string::npos;
      },
      kTimeout))
      << AdminGet("/metrics").second;
  Drop(id);
  EXPECT_TRUE(WaitUntil(
      [] {
        return AdminGet("/metrics").second.find("protomesh_xds_translation_errors 0") !=
               std::string::npos;
      },
      kTimeout));
  EXPECT_NE(xds_->Output().find("bad-random"), std::string::npos);
}

TEST_F(XdsEndToEndTest, AdminEndpoints) {
  EXPECT_EQ(AdminGet("/healthz").first, 200);
  EXPECT_EQ(AdminGet("/readyz").first, 200);
  auto [status, metrics] = AdminGet("/metrics");
  EXPECT_EQ(status, 200);
  EXPECT_NE(metrics.find("protomesh_xds_streams"), std::string::npos);
  EXPECT_NE(metrics.find("protomesh_xds_translation_errors"), std::string::npos);
}

}  // namespace
}  // namespace protomesh::testing
