// What users see of protomesh-xds through protomeshctl: a broken update is
// reported by `protomeshctl xds-status` while its last good version keeps
// being served (checked on a raw ADS stream), and each connected client's
// ACK/NACK state is shown, NACK error included.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <regex>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/service/discovery/v3/ads.grpc.pb.h"
#include "google/protobuf/util/json_util.h"
#include "api/services/v1/xds_status.pb.h"
#include "tests/support/child_process.h"
#include "tests/support/store_process.h"
#include "tests/support/wait.h"
#include "tests/xds/support/xds_process.h"

namespace protomesh::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
namespace discovery = envoy::service::discovery::v3;

constexpr char kNamespace[] = "mesh";
constexpr auto kTimeout = std::chrono::seconds(20);
constexpr char kClusterType[] = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
constexpr char kListenerType[] = "type.googleapis.com/envoy.config.listener.v3.Listener";

std::string WebService(int max_ejection_percent) {
  return absl::StrCat(R"(kind: Service
name: web
spec:
  service_name: web
  xds_cluster_name: edge
  outlier_detection: {max_ejection_percent: )",
                      max_ejection_percent, "}\n");
}

constexpr char kIngress[] = R"(kind: HttpIngress
name: public
spec:
  xds_cluster_name: edge
  ingress_name: public
  listen_port: 8080
)";

class XdsStatusTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto store = StoreProcess::StartOnFreshDatabase("xds_status");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = store->release();
    auto xds = XdsProcess::Start(store_->grpc_address(), kNamespace);
    ASSERT_TRUE(xds.ok()) << xds.status();
    xds_ = xds->release();
  }
  static void TearDownTestSuite() {
    delete xds_;
    xds_ = nullptr;
    delete store_;
    store_ = nullptr;
  }
  void TearDown() override {
    if (HasFailure() && xds_ != nullptr) std::fprintf(stderr, "%s\n", xds_->Output().c_str());
  }

  CommandResult Ctl(std::vector<std::string> args, const std::string& input = "") {
    std::vector<std::string> argv = {PROTOMESHCTL_BIN, "--server", store_->grpc_address(),
                                     "--xds-server", xds_->grpc_address(),
                                     "--namespace", kNamespace};
    argv.insert(argv.end(), args.begin(), args.end());
    auto result = RunCommand(argv, {}, input);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : CommandResult{};
  }

  // `xds-status -o json` as the response message; polled until `done`.
  bool StatusUntil(const std::function<bool(const services::v1::GetXdsStatusResponse&)>& done,
                   services::v1::GetXdsStatusResponse* last) {
    return WaitUntil(
        [&] {
          CommandResult result = Ctl({"xds-status", "-o", "json"});
          if (result.exit_code != 0) return false;
          *last = services::v1::GetXdsStatusResponse();
          return google::protobuf::util::JsonStringToMessage(result.output, last).ok() && done(*last);
        },
        kTimeout);
  }

  // Applies `yaml`; the revision it was applied at.
  int64_t Apply(const std::string& yaml) {
    CommandResult result = Ctl({"apply", "-f", "-"}, yaml);
    EXPECT_EQ(result.exit_code, 0) << result.output;
    std::smatch match;
    static const std::regex kApplied("applied at revision ([0-9]+)");
    if (!std::regex_search(result.output, match, kApplied)) return -1;
    return std::stoll(match[1]);
  }

  static StoreProcess* store_;
  static XdsProcess* xds_;
};
StoreProcess* XdsStatusTest::store_ = nullptr;
XdsProcess* XdsStatusTest::xds_ = nullptr;

// One ADS stream of an Envoy of node cluster "edge".
class AdsClient {
 public:
  explicit AdsClient(const std::string& address) {
    auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
    stub_ = discovery::AggregatedDiscoveryService::NewStub(channel);
    context_.set_deadline(std::chrono::system_clock::now() + kTimeout);
    stream_ = stub_->StreamAggregatedResources(&context_);
  }
  ~AdsClient() {
    stream_->WritesDone();
    context_.TryCancel();
    stream_->Finish().IgnoreError();
  }
  // Sends a request for `type_url` (ACK of `last` unless `error` is given,
  // then a NACK), and returns the next response.
  discovery::DiscoveryResponse Request(const std::string& type_url,
                                       const discovery::DiscoveryResponse* last = nullptr,
                                       const std::string& error = "") {
    discovery::DiscoveryRequest request;
    request.mutable_node()->set_id("envoy-1");
    request.mutable_node()->set_cluster("edge");
    request.set_type_url(type_url);
    if (last != nullptr) {
      request.set_response_nonce(last->nonce());
      request.set_version_info(error.empty() ? last->version_info() : "");
      if (!error.empty()) {
        request.mutable_error_detail()->set_code(3);
        request.mutable_error_detail()->set_message(error);
      }
    }
    EXPECT_TRUE(stream_->Write(request));
    if (last != nullptr) return {};
    discovery::DiscoveryResponse response;
    EXPECT_TRUE(stream_->Read(&response));
    return response;
  }

 private:
  std::unique_ptr<discovery::AggregatedDiscoveryService::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<discovery::DiscoveryRequest, discovery::DiscoveryResponse>>
      stream_;
};

TEST_F(XdsStatusTest, ABrokenUpdateIsReportedAndItsLastGoodVersionStaysServed) {
  const int64_t good = Apply(WebService(50) + "---\n" + kIngress);
  services::v1::GetXdsStatusResponse status;
  ASSERT_TRUE(StatusUntil([&](const auto& s) { return s.synced() && s.revision() >= good; }, &status))
      << status.DebugString();
  EXPECT_EQ(status.namespace_(), kNamespace);
  EXPECT_EQ(status.issues_size(), 0);
  EXPECT_THAT(Ctl({"xds-status"}).output, HasSubstr("Every resource is served as stored.\n"));

  const int64_t broken = Apply(WebService(150));
  ASSERT_TRUE(StatusUntil([&](const auto& s) { return s.revision() >= broken; }, &status));
  ASSERT_EQ(status.issues_size(), 1) << status.DebugString();
  EXPECT_EQ(status.issues(0).name(), "web");
  EXPECT_EQ(status.issues(0).kind(), "Service");
  EXPECT_EQ(status.issues(0).revision(), broken);
  EXPECT_EQ(status.issues(0).serving_revision(), good);
  EXPECT_EQ(status.issues(0).message(), "outlier_detection.max_ejection_percent is above 100");

  CommandResult table = Ctl({"xds-status"});
  EXPECT_EQ(table.exit_code, 0) << table.output;
  EXPECT_THAT(table.output, HasSubstr(absl::StrCat("namespace mesh, revision ", broken,
                                                   ", 2 resource(s), synced with the store\n")));
  EXPECT_THAT(table.output, HasSubstr("Resources not served as stored (1):\n"));
  EXPECT_THAT(table.output,
              HasSubstr(absl::StrCat("web   Service  ", broken, "         revision ", good,
                                     "  outlier_detection.max_ejection_percent is above 100\n")));

  // What an Envoy of node cluster edge is sent: the last good cluster.
  AdsClient envoy(xds_->grpc_address());
  discovery::DiscoveryResponse clusters = envoy.Request(kClusterType);
  ASSERT_EQ(clusters.resources_size(), 1);
  envoy::config::cluster::v3::Cluster cluster;
  ASSERT_TRUE(clusters.resources(0).UnpackTo(&cluster));
  EXPECT_EQ(cluster.name(), "web");
  EXPECT_EQ(cluster.outlier_detection().max_ejection_percent().value(), 50u);
  envoy.Request(kClusterType, &clusters);  // ACK
  discovery::DiscoveryResponse listeners = envoy.Request(kListenerType);
  ASSERT_EQ(listeners.resources_size(), 1);
  envoy.Request(kListenerType, &listeners, "listener public: rejected by the test");

  ASSERT_TRUE(StatusUntil(
      [&](const auto& s) {
        return s.clients_size() == 1 && s.clients(0).types_size() == 2 &&
               s.clients(0).types(0).acks() == 1 && s.clients(0).types(1).nacks() == 1;
      },
      &status))
      << status.DebugString();
  const auto& client = status.clients(0);
  EXPECT_EQ(client.node_id(), "envoy-1");
  EXPECT_EQ(client.node_cluster(), "edge");
  EXPECT_EQ(client.types(0).acked_version(), client.types(0).current_version());
  EXPECT_TRUE(client.types(1).rejected());
  EXPECT_EQ(client.types(1).last_nack_error(), "listener public: rejected by the test");

  table = Ctl({"xds-status"});
  EXPECT_THAT(table.output, HasSubstr("Clients (1):\n"));
  EXPECT_THAT(table.output, MatchesRegex(absl::StrCat(
                                "(.|\n)*envoy-1 +edge +ads/sotw +SYNCED +- +NACKED +- +ipv4:127.0.0.1:[0-9]+\n"
                                "(.|\n)*")));
  EXPECT_THAT(table.output,
              HasSubstr("envoy-1 LDS: rejected version " +
                        listeners.version_info().substr(0, 12) +
                        ": listener public: rejected by the test\n"));

  // Fixed: the issue goes away and the new version is served.
  const int64_t fixed = Apply(WebService(60));
  ASSERT_TRUE(StatusUntil([&](const auto& s) { return s.revision() >= fixed; }, &status));
  EXPECT_EQ(status.issues_size(), 0) << status.DebugString();
}

TEST_F(XdsStatusTest, AnUnreachableXdsServerIsAnErrorNamingIt) {
  const int port = FreePort();
  std::vector<std::string> argv = {PROTOMESHCTL_BIN, "--xds-server", absl::StrCat("127.0.0.1:", port),
                                   "--timeout", "2s", "xds-status"};
  auto result = RunCommand(argv);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit_code, 1) << result->output;
  EXPECT_THAT(result->output, HasSubstr("error: UNAVAILABLE: "));
  EXPECT_THAT(result->output, HasSubstr(absl::StrCat("(server 127.0.0.1:", port, ")")));
}

}  // namespace
}  // namespace protomesh::testing
