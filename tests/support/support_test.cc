#include <gtest/gtest.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <pqxx/pqxx>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tests/support/child_process.h"
#include "tests/support/postgres_server.h"
#include "tests/support/wait.h"

namespace protomesh::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

int QueryInt(const std::string& url, const std::string& sql) {
  pqxx::connection conn(url);
  pqxx::work tx(conn);
  return tx.exec1(sql)[0].as<int>();
}

bool CanConnect(const std::string& url) {
  try {
    pqxx::connection conn(url);
    return true;
  } catch (const pqxx::broken_connection&) {
    return false;
  }
}

// Reads everything from `fd` until EOF.
std::string ReadAll(int fd) {
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0) out.append(buf, n);
  }
  return out;
}

// True when `pid` is gone or a zombie nobody reaps (orphans in containers).
bool ProcessDead(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return true;
  const size_t paren = line.rfind(')');
  return paren != std::string::npos && line.size() > paren + 2 && line[paren + 2] == 'Z';
}

TEST(PostgresServerTest, SharedServerAnswersQueries) {
  PostgresServer& pg = SharedPostgres();
  EXPECT_TRUE(pg.running());
  EXPECT_GT(pg.port(), 0);
  EXPECT_EQ(pg.Url("db"), absl::StrCat("postgresql://postgres@127.0.0.1:", pg.port(), "/db"));
  EXPECT_EQ(QueryInt(pg.Url(), "SELECT 1"), 1);
  EXPECT_EQ(&SharedPostgres(), &pg);
}

TEST(PostgresServerTest, CreateDatabaseReplacesExistingOne) {
  PostgresServer& pg = SharedPostgres();
  absl::Status status = pg.CreateDatabase("support_db");
  ASSERT_TRUE(status.ok()) << status;
  pqxx::connection leftover(pg.Url("support_db"));
  {
    pqxx::work tx(leftover);
    tx.exec0("CREATE TABLE old_table (x int)");
    tx.commit();
  }

  status = pg.CreateDatabase("support_db");
  ASSERT_TRUE(status.ok()) << status;

  // DROP ... WITH (FORCE) terminated the leftover connection.
  EXPECT_ANY_THROW({
    pqxx::work tx(leftover);
    tx.exec("SELECT 1");
  });
  EXPECT_EQ(
      QueryInt(pg.Url("support_db"), "SELECT count(*) FROM pg_class WHERE relname = 'old_table'"),
      0);
}

TEST(PostgresServerTest, CreateDatabaseQuotesName) {
  PostgresServer& pg = SharedPostgres();
  absl::Status status = pg.CreateDatabase("Mixed-Case");
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(QueryInt(pg.Url(), "SELECT count(*) FROM pg_database WHERE datname = 'Mixed-Case'"), 1);
}

TEST(PostgresServerTest, StopMakesConnectionsFail) {
  auto server = PostgresServer::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  PostgresServer& pg = **server;
  pqxx::connection open_conn(pg.Url());

  absl::Status status = pg.Stop();
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_FALSE(pg.running());
  EXPECT_FALSE(CanConnect(pg.Url()));
  EXPECT_ANY_THROW({
    pqxx::work tx(open_conn);
    tx.exec("SELECT 1");
  });
  status = pg.Stop();  // Already stopped: a no-op.
  EXPECT_TRUE(status.ok()) << status;
}

TEST(PostgresServerTest, RestartKeepsPortAndData) {
  auto server = PostgresServer::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  PostgresServer& pg = **server;
  const int port = pg.port();
  {
    pqxx::connection conn(pg.Url());
    pqxx::work tx(conn);
    tx.exec0("CREATE TABLE kept (v text)");
    tx.exec0("INSERT INTO kept VALUES ('before restart')");
    tx.commit();
  }

  absl::Status status = pg.Stop();
  ASSERT_TRUE(status.ok()) << status;
  ASSERT_FALSE(CanConnect(pg.Url()));
  status = pg.Restart();
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_TRUE(pg.running());
  EXPECT_EQ(pg.port(), port);
  {
    pqxx::connection conn(pg.Url());
    pqxx::work tx(conn);
    EXPECT_EQ(tx.exec1("SELECT v FROM kept")[0].as<std::string>(), "before restart");
  }

  // Restart of a running server stops it first.
  status = pg.Restart();
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(QueryInt(pg.Url(), "SELECT count(*) FROM kept"), 1);
}

TEST(PostgresServerTest, DestructorStopsServerAndRemovesDirectory) {
  std::string url;
  std::filesystem::path dir;
  {
    auto server = PostgresServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    url = (*server)->Url();
    pqxx::connection conn(url);
    pqxx::work tx(conn);
    dir = std::filesystem::path(tx.exec1("SHOW data_directory")[0].as<std::string>()).parent_path();
    ASSERT_TRUE(std::filesystem::exists(dir));
  }
  EXPECT_FALSE(std::filesystem::exists(dir)) << dir;
  EXPECT_FALSE(CanConnect(url));
}

// A test binary that dies without running destructors must not leave a
// server or its directory behind.
TEST(PostgresServerTest, ServerOfCrashedProcessIsCleanedUp) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    std::string msg = "error";
    auto server = PostgresServer::Start();
    if (server.ok()) {
      try {
        pqxx::connection conn((*server)->Url());
        pqxx::work tx(conn);
        msg = absl::StrCat((*server)->port(), " ",
                           tx.exec1("SHOW data_directory")[0].as<std::string>());
      } catch (const std::exception& e) {
        msg = e.what();
      }
    } else {
      msg = server.status().ToString();
    }
    [[maybe_unused]] ssize_t n = write(fds[1], msg.data(), msg.size());
    close(fds[1]);
    kill(getpid(), SIGKILL);
    _exit(1);
  }
  close(fds[1]);
  const std::string msg = ReadAll(fds[0]);
  close(fds[0]);
  int wait_status = 0;
  ASSERT_EQ(waitpid(pid, &wait_status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(wait_status));

  std::vector<std::string> parts = absl::StrSplit(msg, absl::MaxSplits(' ', 1));
  int port = 0;
  ASSERT_TRUE(parts.size() == 2 && absl::SimpleAtoi(parts[0], &port)) << msg;
  const std::filesystem::path dir = std::filesystem::path(parts[1]).parent_path();
  const std::string url = absl::StrCat("postgresql://postgres@127.0.0.1:", port, "/postgres");
  EXPECT_TRUE(WaitUntil([&] { return !std::filesystem::exists(dir); }, 60s)) << dir;
  EXPECT_FALSE(CanConnect(url));
}

TEST(ChildProcessTest, CapturesStdoutAndStderr) {
  auto child = ChildProcess::Start({"/bin/sh", "-c", "echo hi; echo err >&2"});
  ASSERT_TRUE(child.ok()) << child.status();
  EXPECT_GT((*child)->pid(), 0);
  EXPECT_EQ((*child)->WaitForExit(10s), 0);
  EXPECT_FALSE((*child)->Running());
  EXPECT_EQ((*child)->Output(), "hi\nerr\n");
  EXPECT_TRUE(std::filesystem::exists((*child)->log_path()));
}

TEST(ChildProcessTest, TerminateReportsSigterm) {
  auto child = ChildProcess::Start({"sleep", "100"});
  ASSERT_TRUE(child.ok()) << child.status();
  EXPECT_TRUE((*child)->Running());
  absl::StatusOr<int> code = (*child)->Terminate();
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 128 + SIGTERM);
  EXPECT_FALSE((*child)->Running());
}

TEST(ChildProcessTest, ChildDoesNotInheritBlockedOrIgnoredSignals) {
  sigset_t term, old_mask;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &term, &old_mask), 0);
  struct sigaction ignore = {};
  struct sigaction old_action = {};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(sigaction(SIGTERM, &ignore, &old_action), 0);
  auto child = ChildProcess::Start({"sleep", "100"});
  sigaction(SIGTERM, &old_action, nullptr);
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  ASSERT_TRUE(child.ok()) << child.status();

  absl::StatusOr<int> code = (*child)->Terminate(10s);
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 128 + SIGTERM);
}

TEST(ChildProcessTest, ReturnsExitCode) {
  auto child = ChildProcess::Start({"/bin/sh", "-c", "exit 3"});
  ASSERT_TRUE(child.ok()) << child.status();
  EXPECT_EQ((*child)->WaitForExit(10s), 3);
  absl::StatusOr<int> code = (*child)->Terminate();  // Already exited.
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 3);
}

TEST(ChildProcessTest, EnvironmentIsOverlaid) {
  setenv("PROTOMESH_SUPPORT_INHERITED", "from-parent", 1);
  setenv("PROTOMESH_SUPPORT_OVERRIDDEN", "from-parent", 1);
  auto child = ChildProcess::Start(
      {"/bin/sh", "-c",
       "echo \"$PROTOMESH_SUPPORT_INHERITED $PROTOMESH_SUPPORT_OVERRIDDEN "
       "$PROTOMESH_SUPPORT_NEW\""},
      {{"PROTOMESH_SUPPORT_OVERRIDDEN", "overridden"}, {"PROTOMESH_SUPPORT_NEW", "new"}});
  unsetenv("PROTOMESH_SUPPORT_INHERITED");
  unsetenv("PROTOMESH_SUPPORT_OVERRIDDEN");
  ASSERT_TRUE(child.ok()) << child.status();
  EXPECT_EQ((*child)->WaitForExit(10s), 0);
  EXPECT_EQ((*child)->Output(), "from-parent overridden new\n");
}

TEST(ChildProcessTest, WaitForExitTimesOutWhileRunning) {
  auto child = ChildProcess::Start({"sleep", "100"});
  ASSERT_TRUE(child.ok()) << child.status();
  const auto start = Clock::now();
  EXPECT_EQ((*child)->WaitForExit(50ms), std::nullopt);
  EXPECT_GE(Clock::now() - start, 50ms);
  EXPECT_TRUE((*child)->Running());
  (*child)->Kill();
  EXPECT_FALSE((*child)->Running());
  EXPECT_EQ((*child)->WaitForExit(0ms), 128 + SIGKILL);
}

TEST(ChildProcessTest, TerminateTimesOutWhenSigtermIsIgnored) {
  auto child = ChildProcess::Start({"/bin/sh", "-c", "trap '' TERM; echo ready; sleep 100"});
  ASSERT_TRUE(child.ok()) << child.status();
  ASSERT_TRUE(WaitUntil([&] { return (*child)->Output() == "ready\n"; }));
  absl::StatusOr<int> code = (*child)->Terminate(100ms);
  EXPECT_EQ(code.status().code(), absl::StatusCode::kDeadlineExceeded) << code.status();
  EXPECT_TRUE((*child)->Running());
}

TEST(ChildProcessTest, DestructorKillsAndReapsChild) {
  auto child = ChildProcess::Start({"sleep", "100"});
  ASSERT_TRUE(child.ok()) << child.status();
  const pid_t pid = (*child)->pid();
  const std::string log = (*child)->log_path();
  child->reset();
  const int rc = kill(pid, 0);
  const int err = errno;
  EXPECT_EQ(rc, -1);  // Reaped, not a zombie.
  EXPECT_EQ(err, ESRCH);
  EXPECT_FALSE(std::filesystem::exists(log));
}

TEST(ChildProcessTest, StartFailsForMissingProgram) {
  auto by_path = ChildProcess::Start({"/nonexistent/protomesh-binary"});
  EXPECT_FALSE(by_path.ok());
  auto by_name = ChildProcess::Start({"protomesh-no-such-command"});
  EXPECT_EQ(by_name.status().code(), absl::StatusCode::kNotFound) << by_name.status();
  EXPECT_FALSE(ChildProcess::Start({}).ok());
}

TEST(ChildProcessTest, ChildDiesWithItsParent) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t parent = fork();
  ASSERT_GE(parent, 0);
  if (parent == 0) {
    close(fds[0]);
    auto child = ChildProcess::Start({"sleep", "100"});
    const std::string msg =
        child.ok() ? absl::StrCat((*child)->pid(), " ", (*child)->log_path()) : "error";
    [[maybe_unused]] ssize_t n = write(fds[1], msg.data(), msg.size());
    _exit(0);  // No destructors, as in a crash.
  }
  close(fds[1]);
  const std::string msg = ReadAll(fds[0]);
  close(fds[0]);
  ASSERT_EQ(waitpid(parent, nullptr, 0), parent);
  std::vector<std::string> parts = absl::StrSplit(msg, absl::MaxSplits(' ', 1));
  pid_t pid = 0;
  ASSERT_TRUE(parts.size() == 2 && absl::SimpleAtoi(parts[0], &pid)) << msg;
  std::filesystem::remove(parts[1]);  // Its destructor did not run.
  EXPECT_TRUE(WaitUntil([&] { return ProcessDead(pid); }));
}

TEST(ChildProcessTest, InteractiveChildAnswersLineByLine) {
  auto child = ChildProcess::StartInteractive(
      {"/bin/sh", "-c", "echo started >&2; while read line; do echo \"got $line\"; done"});
  ASSERT_TRUE(child.ok()) << child.status();
  ASSERT_TRUE((*child)->WriteLine("one").ok());
  ASSERT_TRUE((*child)->WriteLine("two").ok());
  EXPECT_EQ((*child)->ReadLine(10s).value_or("(none)"), "got one");
  EXPECT_EQ((*child)->ReadLine(10s).value_or("(none)"), "got two");
  EXPECT_EQ((*child)->ReadLine(50ms).status().code(), absl::StatusCode::kDeadlineExceeded);
  // stderr still goes to the log.
  EXPECT_TRUE(WaitUntil([&] { return (*child)->Output() == "started\n"; })) << (*child)->Output();
}

TEST(ChildProcessTest, InteractiveChildThatExitedClosesItsPipes) {
  auto child = ChildProcess::StartInteractive({"/bin/sh", "-c", "echo last"});
  ASSERT_TRUE(child.ok()) << child.status();
  EXPECT_EQ((*child)->ReadLine(10s).value_or("(none)"), "last");
  EXPECT_EQ((*child)->ReadLine(10s).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ((*child)->WaitForExit(10s), 0);
  EXPECT_EQ((*child)->WriteLine("late").code(), absl::StatusCode::kUnavailable);  // No SIGPIPE.
}

TEST(ChildProcessTest, OnlyInteractiveChildrenTakeLines) {
  auto child = ChildProcess::Start({"true"});
  ASSERT_TRUE(child.ok()) << child.status();
  EXPECT_EQ((*child)->WriteLine("x").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ((*child)->ReadLine(10ms).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(RunCommandTest, PassesStdin) {
  auto result = RunCommand({"cat"}, {}, "line 1\nline 2\n");
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit_code, 0);
  EXPECT_EQ(result->output, "line 1\nline 2\n");
}

TEST(RunCommandTest, PassesLargeStdin) {
  const std::string data(4 << 20, 'x');
  auto result = RunCommand({"wc", "-c"}, {}, data);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit_code, 0);
  EXPECT_EQ(result->output, absl::StrCat(data.size(), "\n"));
}

TEST(RunCommandTest, ChildThatIgnoresStdinStillCompletes) {
  auto result = RunCommand({"/bin/sh", "-c", "exit 0"}, {}, std::string(4 << 20, 'x'));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit_code, 0);
}

TEST(RunCommandTest, ReturnsExitCodeOutputAndEnvironment) {
  auto result =
      RunCommand({"/bin/sh", "-c", "echo \"out $X\"; echo err >&2; exit 7"}, {{"X", "overlay"}});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit_code, 7);
  EXPECT_EQ(result->output, "out overlay\nerr\n");
}

TEST(RunCommandTest, TimesOut) {
  const auto start = Clock::now();
  auto result = RunCommand({"sleep", "100"}, {}, "", 100ms);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kDeadlineExceeded) << result.status();
  EXPECT_LT(Clock::now() - start, 10s);
}

TEST(WaitTest, WaitUntilReturnsTrueOnceConditionHolds) {
  int calls = 0;
  EXPECT_TRUE(WaitUntil([&] { return ++calls >= 3; }, 10s));
  EXPECT_EQ(calls, 3);
}

TEST(WaitTest, WaitUntilReturnsFalseAfterTimeout) {
  const auto start = Clock::now();
  int calls = 0;
  EXPECT_FALSE(WaitUntil([&] { return ++calls < 0; }, 50ms));
  const auto elapsed = Clock::now() - start;
  EXPECT_GE(elapsed, 50ms);
  EXPECT_LT(elapsed, 5s);
  EXPECT_GT(calls, 1);
}

TEST(WaitTest, FreePortIsBindable) {
  const int port = FreePort();
  ASSERT_GT(port, 0);
  ASSERT_LT(port, 65536);
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0) << strerror(errno);
  close(fd);
}

}  // namespace
}  // namespace protomesh::testing
