// protomesh-all-in-one, as README's quick start runs it: the store with its
// own PostgreSQL comes up, then protomesh-xds, and both serve; SIGTERM stops
// them all, also while the launcher waits for the store; a store that is not
// ready in time, or a component that dies, takes the others down, and the
// data stays for the next start.
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
using ::testing::Not;
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
  // protomesh-xds starts once the store serves, so it reaches the store at
  // its first try.
  const std::string started = launcher_->Output();
  const size_t serving = started.find("[protomesh-store] resource store serving gRPC");
  ASSERT_NE(serving, std::string::npos) << started;
  EXPECT_LT(serving, started.find("started protomesh-xds")) << started;
  EXPECT_THAT(started, Not(HasSubstr("[protomesh-xds] store watch of namespace shop ended")));

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

// A bin-dir whose protomesh-store never reports ready: it runs until
// SIGTERM, then exits 0. Its protomesh-xds must not be started.
class NeverReadyStoreTest : public AllInOneTest {
 protected:
  void SetUp() override {
    AllInOneTest::SetUp();
    bin_dir_ = data_dir_ + "/bin";
    ASSERT_TRUE(fs::create_directory(bin_dir_));
    for (const char* program : {"protomesh-store", "protomesh-xds"}) {
      const std::string path = bin_dir_ + "/" + program;
      std::ofstream(path) << "#!/bin/sh\ntrap 'kill $!; exit 0' TERM\necho " << program
                          << " waits for SIGTERM\nsleep 3600 & wait\n";
      ASSERT_EQ(chmod(path.c_str(), 0755), 0);
    }
  }

  void StartLauncher(const std::string& store_ready_timeout) {
    auto launcher = ChildProcess::Start({PROTOMESH_ALL_IN_ONE_BIN, "--bin-dir=" + bin_dir_,
                                         "--data-dir=" + data_dir_,
                                         "--store-ready-timeout=" + store_ready_timeout});
    ASSERT_TRUE(launcher.ok()) << launcher.status();
    launcher_ = std::move(*launcher);
  }

  std::string bin_dir_;
};

TEST_F(NeverReadyStoreTest, AStoreThatIsNotReadyInTimeStopsEverythingWithAnError) {
  StartLauncher("1s");
  std::optional<int> exit_code = launcher_->WaitForExit(std::chrono::seconds(60));
  ASSERT_TRUE(exit_code.has_value()) << "the launcher kept waiting for the store";
  EXPECT_EQ(*exit_code, 1);
  const std::string output = launcher_->Output();
  EXPECT_THAT(output, HasSubstr("protomesh-store was not ready within 1s; stopping it"));
  EXPECT_THAT(output, Not(HasSubstr("started protomesh-xds")));
}

TEST_F(NeverReadyStoreTest, SigtermWhileWaitingForTheStoreStopsItCleanly) {
  StartLauncher("1h");
  ASSERT_TRUE(WaitUntil([&] {
    const std::string output = launcher_->Output();
    return output.find("waiting up to 1h for protomesh-store") != std::string::npos &&
           output.find("protomesh-store waits for SIGTERM") != std::string::npos;
  }, kStartTimeout))
      << launcher_->Output();
  auto exit_code = launcher_->Terminate(std::chrono::seconds(60));
  ASSERT_TRUE(exit_code.ok()) << exit_code.status();
  EXPECT_EQ(*exit_code, 0);
  const std::string output = launcher_->Output();
  EXPECT_THAT(output, HasSubstr("stopping protomesh-store"));
  EXPECT_THAT(output, Not(HasSubstr("started protomesh-xds")));
}

TEST(AllInOneFlagsTest, HelpNamesEverySettingAndBadFlagsAreUsageErrors) {
  auto help = RunCommand({PROTOMESH_ALL_IN_ONE_BIN, "--help"});
  ASSERT_TRUE(help.ok()) << help.status();
  EXPECT_EQ(help->exit_code, 0);
  for (const char* flag : {"--data-dir", "--namespace", "--store-grpc-listen", "--xds-grpc-listen",
                           "--bin-dir", "--store-ready-timeout", "--shutdown-grace", "--log-format"}) {
    EXPECT_THAT(help->output, HasSubstr(flag));
  }
  auto bad = RunCommand({PROTOMESH_ALL_IN_ONE_BIN, "--data-dri=/x"});
  ASSERT_TRUE(bad.ok()) << bad.status();
  EXPECT_EQ(bad->exit_code, 2);
  EXPECT_THAT(bad->output, HasSubstr("data-dri"));
}

}  // namespace
}  // namespace protomesh::testing
