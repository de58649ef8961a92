// protomesh-store --embedded-postgres-dir: the store starts, reuses and
// stops a PostgreSQL of its own; and EmbeddedPostgres on its own.
#include "src/store/embedded_postgres.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <pqxx/pqxx>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "src/store/postgres_control.h"
#include "tests/support/child_process.h"
#include "tests/support/store_process.h"
#include "tests/support/store_test_util.h"
#include "tests/support/wait.h"

namespace protomesh::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using store::EmbeddedPostgres;
using store::EmbeddedPostgresOptions;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string QueryString(const std::string& url, const std::string& sql) {
  pqxx::connection connection(url);
  pqxx::nontransaction tx(connection);
  return tx.exec1(sql)[0].as<std::string>();
}

bool CanConnect(const std::string& url) {
  try {
    pqxx::connection connection(url);
    return true;
  } catch (const pqxx::broken_connection&) {
    return false;
  }
}

// The postmaster's pid from its lock file; 0 when there is none.
pid_t PostmasterPid(const fs::path& data_dir) {
  std::ifstream in(data_dir / "postmaster.pid");
  std::string line;
  pid_t pid = 0;
  if (!std::getline(in, line) || !absl::SimpleAtoi(line, &pid)) return 0;
  return pid;
}

// True when `pid` is gone or a zombie nobody reaps (orphans in containers).
bool ProcessDead(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return true;
  const size_t paren = line.rfind(')');
  return paren != std::string::npos && line.size() > paren + 2 && line[paren + 2] == 'Z';
}

class EmbeddedPostgresTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TMPDIR");
    std::string root =
        absl::StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "/protomesh-embedded-XXXXXX");
    ASSERT_NE(mkdtemp(root.data()), nullptr);
    // As root, the server runs as the postgres user, which must reach data_dir_.
    ASSERT_EQ(chmod(root.c_str(), 0755), 0);
    root_ = root;
    data_dir_ = root_ / "data";
  }

  void TearDown() override {
    if (HasFailure()) {
      std::cerr << "--- " << (data_dir_ / "postgres.log").string() << " ---\n"
                << store::FileTail((data_dir_ / "postgres.log").string(), 50) << "\n";
    }
    // A failed test may have left its server running.
    if (fs::exists(data_dir_ / "postmaster.pid")) {
      store::PgCluster(data_dir_.string(), (data_dir_ / "postgres.log").string())
          .Stop("immediate")
          .IgnoreError();
    }
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  std::vector<std::string> StoreArgs() const {
    return {"--embedded-postgres-dir=" + data_dir_.string()};
  }

  // What the store connects to, for looking at the server directly.
  std::string SocketUrl(const std::string& database) const {
    return absl::StrCat("postgresql://postgres@/", database, "?host=", data_dir_.string(),
                        "&port=5432");
  }

  fs::path root_;
  fs::path data_dir_;
};

TEST_F(EmbeddedPostgresTest, StoreRunsItsOwnPostgresAndKeepsDataAcrossRestarts) {
  auto store = StoreProcess::StartWithArgs(StoreArgs());
  ASSERT_TRUE(store.ok()) << store.status();
  StoreProcess& process = **store;
  EXPECT_THAT(process.Output(), HasSubstr("new cluster in " + data_dir_.string()));
  EXPECT_TRUE(fs::exists(data_dir_ / "PG_VERSION"));

  // A real database: durable, and reachable only through its socket.
  EXPECT_EQ(QueryString(SocketUrl("protomesh"), "SHOW fsync"), "on");
  EXPECT_EQ(QueryString(SocketUrl("protomesh"), "SHOW listen_addresses"), "");
  // The server logs into log/, one file per weekday, rotated daily.
  EXPECT_EQ(QueryString(SocketUrl("protomesh"), "SHOW logging_collector"), "on");
  EXPECT_EQ(QueryString(SocketUrl("protomesh"), "SHOW log_filename"), "postgresql-%a.log");
  EXPECT_EQ(QueryString(SocketUrl("protomesh"), "SHOW log_truncate_on_rotation"), "on");
  EXPECT_EQ(QueryString(SocketUrl("protomesh"),
                        "SELECT pg_current_logfile() LIKE 'log/postgresql-___.log'"),
            "t");

  auto stub = process.NewStub();
  const Resource resource = MakeResource("embedded", "alpha", "kept");
  auto put = Put(*stub, resource);
  ASSERT_TRUE(put.ok()) << put.status();

  absl::StatusOr<int> code = process.process().Terminate(60s);
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0) << process.Output();
  EXPECT_THAT(process.Output(), HasSubstr("embedded PostgreSQL stopped"));
  EXPECT_FALSE(fs::exists(data_dir_ / "postmaster.pid")) << "PostgreSQL is still running";
  EXPECT_FALSE(CanConnect(SocketUrl("postgres")));

  absl::Status restarted = process.Restart();
  ASSERT_TRUE(restarted.ok()) << restarted;
  EXPECT_THAT(process.Output(), HasSubstr("existing cluster in " + data_dir_.string()));
  stub = process.NewStub();
  auto got = Get(*stub, "embedded", resource.id());
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(PayloadOf(*got), "kept");
  EXPECT_EQ(got->version().index(), put->version().index());

  code = process.process().Terminate(60s);
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0) << process.Output();
  EXPECT_FALSE(fs::exists(data_dir_ / "postmaster.pid")) << "PostgreSQL is still running";
}

// SIGKILL gives the store no chance to stop its server; the next start must
// not trip over the one still running.
TEST_F(EmbeddedPostgresTest, StoreRestartsAPostgresLeftRunningByAKilledStore) {
  auto store = StoreProcess::StartWithArgs(StoreArgs());
  ASSERT_TRUE(store.ok()) << store.status();
  StoreProcess& process = **store;
  auto stub = process.NewStub();
  const Resource resource = MakeResource("embedded", "beta", "survives");
  ASSERT_TRUE(Put(*stub, resource).ok());

  process.Kill();
  const pid_t orphan = PostmasterPid(data_dir_);
  ASSERT_GT(orphan, 0);
  ASSERT_FALSE(ProcessDead(orphan));

  absl::Status restarted = process.Restart();
  ASSERT_TRUE(restarted.ok()) << restarted;
  EXPECT_THAT(process.Output(), HasSubstr("still running"));
  EXPECT_TRUE(WaitUntil([&] { return ProcessDead(orphan); }, 60s));
  EXPECT_NE(PostmasterPid(data_dir_), orphan);
  stub = process.NewStub();
  auto got = Get(*stub, "embedded", resource.id());
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(PayloadOf(*got), "survives");

  absl::StatusOr<int> code = process.process().Terminate(60s);
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0) << process.Output();
  EXPECT_FALSE(fs::exists(data_dir_ / "postmaster.pid")) << "PostgreSQL is still running";
}

TEST_F(EmbeddedPostgresTest, EmbeddedDirWithAnExplicitDatabaseUrlIsAConfigurationError) {
  const std::string url = "postgresql://postgres@127.0.0.1:1/protomesh";
  auto by_flag = ChildProcess::Start(
      {StoreBinary(), "--embedded-postgres-dir=" + data_dir_.string(), "--database-url=" + url});
  ASSERT_TRUE(by_flag.ok()) << by_flag.status();
  EXPECT_EQ((*by_flag)->WaitForExit(30s), 2);
  EXPECT_THAT((*by_flag)->Output(),
              HasSubstr("--embedded-postgres-dir and --database-url are both set"));

  auto by_env = ChildProcess::Start(
      {StoreBinary(), "--embedded-postgres-dir=" + data_dir_.string()}, {{"DATABASE_URL", url}});
  ASSERT_TRUE(by_env.ok()) << by_env.status();
  EXPECT_EQ((*by_env)->WaitForExit(30s), 2);
  EXPECT_THAT((*by_env)->Output(),
              HasSubstr("--embedded-postgres-dir and $DATABASE_URL are both set"));

  EXPECT_FALSE(fs::exists(data_dir_)) << "nothing may be initialized on a configuration error";
}

TEST_F(EmbeddedPostgresTest, EmbeddedPortWithoutADirIsAConfigurationError) {
  auto child = ChildProcess::Start({StoreBinary(), "--embedded-postgres-port=15432"});
  ASSERT_TRUE(child.ok()) << child.status();
  EXPECT_EQ((*child)->WaitForExit(30s), 2);
  EXPECT_THAT((*child)->Output(), HasSubstr("embedded-postgres-port needs embedded-postgres-dir"));
}

TEST_F(EmbeddedPostgresTest, StartRefusesANonEmptyDirectoryWithoutACluster) {
  fs::create_directories(data_dir_);
  std::ofstream(data_dir_ / "notes.txt") << "not a database\n";

  auto postgres = EmbeddedPostgres::Start({.data_dir = data_dir_.string()});
  ASSERT_FALSE(postgres.ok());
  EXPECT_EQ(postgres.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(postgres.status().message(), HasSubstr(data_dir_.string()));
  EXPECT_THAT(postgres.status().message(), HasSubstr("holds no PostgreSQL cluster"));
  // Untouched.
  EXPECT_EQ(std::distance(fs::directory_iterator(data_dir_), fs::directory_iterator()), 1);
  EXPECT_TRUE(fs::exists(data_dir_ / "notes.txt"));
}

TEST_F(EmbeddedPostgresTest, StartRefusesAFile) {
  std::ofstream(data_dir_) << "a file\n";
  auto postgres = EmbeddedPostgres::Start({.data_dir = data_dir_.string()});
  EXPECT_EQ(postgres.status().code(), absl::StatusCode::kFailedPrecondition) << postgres.status();
  EXPECT_THAT(postgres.status().message(), HasSubstr("is not a directory"));
}

// unix socket paths are limited to 107 bytes; a deep data directory gets a
// socket directory under /tmp instead. Also: the optional TCP port, database
// names that need quoting, and one server per directory.
TEST_F(EmbeddedPostgresTest, LongPathTcpPortAndExclusiveUse) {
  const fs::path data_dir = root_ / std::string(100, 'd');
  data_dir_ = data_dir;  // For TearDown.
  const int port = FreePort();
  auto started = EmbeddedPostgres::Start({.data_dir = data_dir.string() + "/", .port = port});
  ASSERT_TRUE(started.ok()) << started.status();
  EmbeddedPostgres& postgres = **started;
  EXPECT_TRUE(postgres.initialized());
  EXPECT_EQ(postgres.data_dir(), data_dir.string());
  const std::string socket_dir = postgres.socket_dir();
  EXPECT_THAT(socket_dir, StartsWith("/tmp/protomesh-pg-"));
  EXPECT_THAT(postgres.Url("x"), HasSubstr("host=" + socket_dir));

  const std::string name = "Odd name/with?chars";
  ASSERT_TRUE(postgres.CreateDatabaseIfMissing(name).ok());
  absl::Status again = postgres.CreateDatabaseIfMissing(name);
  EXPECT_TRUE(again.ok()) << again;
  EXPECT_EQ(QueryString(postgres.Url(name), "SELECT current_database()"), name);

  const std::string tcp_url = absl::StrCat("postgresql://postgres@127.0.0.1:", port, "/postgres");
  EXPECT_EQ(QueryString(tcp_url, "SHOW listen_addresses"), "127.0.0.1");

  auto second = EmbeddedPostgres::Start({.data_dir = data_dir.string()});
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition) << second.status();
  EXPECT_THAT(second.status().message(), HasSubstr("in use"));

  absl::Status stopped = postgres.Stop();
  ASSERT_TRUE(stopped.ok()) << stopped;
  EXPECT_FALSE(fs::exists(data_dir / "postmaster.pid"));
  EXPECT_FALSE(fs::exists(socket_dir));
  EXPECT_FALSE(CanConnect(tcp_url));
}

}  // namespace
}  // namespace protomesh::testing
