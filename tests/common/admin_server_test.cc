#include "src/common/admin_server.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "src/common/metrics.h"

namespace protomesh::admin {
namespace {

using ::testing::HasSubstr;

class AdminServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    registry_.AddCounter("test_requests_total", "Requests.").Get().Increment(3);
    absl::StatusOr<std::unique_ptr<AdminServer>> server =
        AdminServer::Start("127.0.0.1:0", &registry_, [this]() -> absl::Status {
          if (ready_) return absl::OkStatus();
          return absl::UnavailableError("database unreachable");
        });
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    ASSERT_GT(server_->port(), 0);
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
  }

  metrics::Registry registry_;
  std::atomic<bool> ready_{true};
  std::unique_ptr<AdminServer> server_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(AdminServerTest, Healthz) {
  const httplib::Result result = client_->Get("/healthz");
  ASSERT_TRUE(result) << httplib::to_string(result.error());
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->body, "ok");
}

TEST_F(AdminServerTest, ReadyzReflectsTheReadinessCheck) {
  httplib::Result result = client_->Get("/readyz");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->body, "ok");

  ready_ = false;
  result = client_->Get("/readyz");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 503);
  EXPECT_EQ(result->body, "database unreachable");

  ready_ = true;
  result = client_->Get("/readyz");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
}

TEST_F(AdminServerTest, MetricsServesTheRegistry) {
  const httplib::Result result = client_->Get("/metrics");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->get_header_value("Content-Type"),
            "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(result->body,
            "# HELP test_requests_total Requests.\n"
            "# TYPE test_requests_total counter\n"
            "test_requests_total 3\n");
}

TEST_F(AdminServerTest, CustomHandler) {
  server_->Handle("/debug/state", [] {
    return HttpResponse{.status = 202,
                        .content_type = "application/json",
                        .body = R"({"state":"fine"})"};
  });
  const httplib::Result result = client_->Get("/debug/state");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 202);
  EXPECT_EQ(result->get_header_value("Content-Type"), "application/json");
  EXPECT_EQ(result->body, R"({"state":"fine"})");
}

TEST_F(AdminServerTest, UnknownPathIs404) {
  const httplib::Result result = client_->Get("/nope");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 404);
}

TEST_F(AdminServerTest, StopIsIdempotentAndClosesThePort) {
  server_->Stop();
  server_->Stop();
  client_->set_connection_timeout(1);
  EXPECT_FALSE(client_->Get("/healthz"));
}

TEST(AdminServerStartTest, NullRegistryAndNoReadinessCheck) {
  absl::StatusOr<std::unique_ptr<AdminServer>> server =
      AdminServer::Start("127.0.0.1:0", nullptr, nullptr);
  ASSERT_TRUE(server.ok()) << server.status();
  httplib::Client client("127.0.0.1", (*server)->port());
  httplib::Result result = client.Get("/metrics");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->body, "");
  result = client.Get("/readyz");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
}

TEST(AdminServerStartTest, PortInUseIsAnErrorNamingTheAddress) {
  absl::StatusOr<std::unique_ptr<AdminServer>> first =
      AdminServer::Start("127.0.0.1:0", nullptr, nullptr);
  ASSERT_TRUE(first.ok()) << first.status();
  const std::string address =
      "127.0.0.1:" + std::to_string((*first)->port());
  absl::StatusOr<std::unique_ptr<AdminServer>> second =
      AdminServer::Start(address, nullptr, nullptr);
  ASSERT_FALSE(second.ok());
  EXPECT_THAT(second.status().message(), HasSubstr(address));
}

TEST(AdminServerStartTest, MalformedAddress) {
  for (const char* listen : {"localhost", "127.0.0.1:http", "127.0.0.1:70000"}) {
    absl::StatusOr<std::unique_ptr<AdminServer>> server =
        AdminServer::Start(listen, nullptr, nullptr);
    ASSERT_FALSE(server.ok()) << listen;
    EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(server.status().message(), HasSubstr(listen));
  }
}

TEST(AdminServerStartTest, StopRightAfterStartReturns) {
  for (int i = 0; i < 20; ++i) {
    absl::StatusOr<std::unique_ptr<AdminServer>> server =
        AdminServer::Start("127.0.0.1:0", nullptr, nullptr);
    ASSERT_TRUE(server.ok());
    // The destructor stops it; a hang here fails the test by timeout.
  }
}

}  // namespace
}  // namespace protomesh::admin
