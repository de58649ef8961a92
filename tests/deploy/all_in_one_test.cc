// protomesh-all-in-one, as README's quick start runs it: the store with its
// own PostgreSQL and protomesh-xds come up together and serve; SIGTERM stops
// them all; a component that dies takes the others down, and the data stays
// for the next start.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <httplib.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tests/support/child_process.h"
#include "tests/support/wait.h"

namespace protomesh::testing {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

constexpr auto kStartTimeout = std::chrono::seconds(90);

int HttpStatus(int port, const std::string& path) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(1, 0);
  auto result = client.Get(path.c_str());
  return result ? result->status : 0;
}

// The pids of `pid`'s children.
std::vector<pid_t> ChildrenOf(pid_t pid) {
  std::ifstream file(absl::StrCat("/proc/", pid, "/task/", pid, "/children"));
  std::vector<pid_t> children;
  pid_t child;
  while (file >> child) children.push_back(child);
  return children;
}

std::string CommandLineOf(pid_t pid) {
  std::ifstream file(absl::StrCat("/proc/", pid, "/cmdline"));
  std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  for (char& c : text) {
    if (c == '\0') c = ' ';
  }
  return text;
}

class AllInOneTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmpdir = std::getenv("TMPDIR");
    data_dir_ = absl::StrCat(tmpdir ? tmpdir : "/tmp", "/all_in_one_test_XXXXXX");
    ASSERT_NE(mkdtemp(data_dir_.data()), nullptr);
    // As root, PostgreSQL runs as user postgres, which must reach the data.
    ASSERT_EQ(chmod(data_dir_.c_str(), 0755), 0);
  }
  void TearDown() override {
    if (HasFailure() && launcher_ != nullptr) std::fprintf(stderr, "%s\n", launcher_->Output().c_str());
    launcher_.reset();
    fs::remove_all(data_dir_);
  }

  // Starts the launcher on free ports; true once protomesh-xds is ready
  // (synced with the store, so both are up).
  bool Start() {
    store_port_ = FreePort();
    xds_port_ = FreePort();
    xds_admin_port_ = FreePort();
    auto launcher = ChildProcess::Start({PROTOMESH_ALL_IN_ONE_BIN, "--data-dir=" + data_dir_,
                                         absl::StrCat("--store-grpc-listen=127.0.0.1:", store_port_),
                                         absl::StrCat("--store-admin-listen=127.0.0.1:", FreePort()),
                                         absl::StrCat("--xds-grpc-listen=127.0.0.1:", xds_port_),
                                         absl::StrCat("--xds-admin-listen=127.0.0.1:", xds_admin_port_),
                                         "--namespace=shop"});
    EXPECT_TRUE(launcher.ok()) << launcher.status();
    if (!launcher.ok()) return false;
    launcher_ = std::move(*launcher);
    return WaitUntil([&] { return !launcher_->Running() || HttpStatus(xds_admin_port_, "/readyz") == 200; },
                     kStartTimeout) &&
           launcher_->Running();
  }

  CommandResult Ctl(std::vector<std::string> args, const std::string& input = "") {
    std::vector<std::string> argv = {PROTOMESHCTL_BIN, "--server", absl::StrCat("127.0.0.1:", store_port_),
                                     "--xds-server", absl::StrCat("127.0.0.1:", xds_port_), "-n", "shop"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto result = RunCommand(argv, {}, input);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : CommandResult{};
  }

  bool PostgresRunning() const { return fs::exists(data_dir_ + "/postgres/postmaster.pid"); }

  std::string data_dir_;  // this test's, empty at the start
  std::unique_ptr<ChildProcess> launcher_;
  int store_port_ = 0;
  int xds_port_ = 0;
  int xds_admin_port_ = 0;
};

TEST_F(AllInOneTest, RunsTheStoreAndXdsTogetherAndStopsThemOnSigterm) {
  ASSERT_TRUE(Start());
  EXPECT_TRUE(PostgresRunning());

  CommandResult applied = Ctl({"apply", "-f", "-"},
                              "kind: Service\nname: web\nspec: {service_name: web, xds_cluster_name: edge}\n");
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  // protomesh-xds serves the namespace the store just changed.
  ASSERT_TRUE(WaitUntil([&] {
    return Ctl({"xds-status"}).output.find("namespace shop, revision 1, 1 resource(s)") != std::string::npos;
  }, std::chrono::seconds(20)))
      << Ctl({"xds-status"}).output;

  auto exit_code = launcher_->Terminate(std::chrono::seconds(60));
  ASSERT_TRUE(exit_code.ok()) << exit_code.status();
  EXPECT_EQ(*exit_code, 0);
  EXPECT_FALSE(PostgresRunning()) << "the store should have stopped its PostgreSQL";
  const std::string output = launcher_->Output();
  EXPECT_THAT(output, HasSubstr("[protomesh-xds] stopped"));
  EXPECT_THAT(output, HasSubstr("[protomesh-store] embedded PostgreSQL stopped"));
  // xDS first, then the store it depends on.
  EXPECT_LT(output.find("[protomesh-xds] stopped"), output.find("[protomesh-store] stopped"));
}

TEST_F(AllInOneTest, AComponentThatDiesStopsTheRestAndTheDataStays) {
  ASSERT_TRUE(Start());
  CommandResult applied = Ctl({"apply", "-f", "-"},
                              "kind: Service\nname: kept\nspec: {service_name: kept}\n");
  ASSERT_EQ(applied.exit_code, 0) << applied.output;

  pid_t xds = -1;
  for (pid_t child : ChildrenOf(launcher_->pid())) {
    if (CommandLineOf(child).find("protomesh-xds") != std::string::npos) xds = child;
  }
  ASSERT_GT(xds, 0) << "no protomesh-xds child of the launcher";
  ASSERT_EQ(kill(xds, SIGKILL), 0);

  std::optional<int> exit_code = launcher_->WaitForExit(std::chrono::seconds(60));
  ASSERT_TRUE(exit_code.has_value()) << "the launcher kept running without protomesh-xds";
  EXPECT_EQ(*exit_code, 1);
  EXPECT_THAT(launcher_->Output(), HasSubstr("protomesh-xds exited with code 137; stopping the others"));
  EXPECT_FALSE(PostgresRunning());

  // Started again on the same data directory, the store has what it had.
  ASSERT_TRUE(Start());
  CommandResult got = Ctl({"get", "kept", "-o", "yaml"});
  EXPECT_EQ(got.exit_code, 0) << got.output;
  EXPECT_THAT(got.output, HasSubstr("service_name: kept"));
}

TEST(AllInOneFlagsTest, HelpNamesEverySettingAndBadFlagsAreUsageErrors) {
  auto help = RunCommand({PROTOMESH_ALL_IN_ONE_BIN, "--help"});
  ASSERT_TRUE(help.ok()) << help.status();
  EXPECT_EQ(help->exit_code, 0);
  for (const char* flag : {"--data-dir", "--namespace", "--store-grpc-listen", "--xds-grpc-listen",
                           "--bin-dir", "--shutdown-grace", "--log-format"}) {
    EXPECT_THAT(help->output, HasSubstr(flag));
  }
  auto bad = RunCommand({PROTOMESH_ALL_IN_ONE_BIN, "--data-dri=/x"});
  ASSERT_TRUE(bad.ok()) << bad.status();
  EXPECT_EQ(bad->exit_code, 2);
  EXPECT_THAT(bad->output, HasSubstr("data-dri"));
}

}  // namespace
}  // namespace protomesh::testing
