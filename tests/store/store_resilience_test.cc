// The store when things go wrong: Postgres restarted under live watches,
// the database down, a stalled watcher, compaction, SIGTERM, replicas
// migrating one database at once, and bad configuration.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "src/store/migrations.h"
#include "tests/support/change_log.h"
#include "tests/support/postgres_server.h"
#include "tests/support/store_process.h"
#include "tests/support/store_test_util.h"
#include "tests/support/wait.h"

namespace protomesh::testing {
namespace {

using ::testing::HasSubstr;

svc::WatchResourcesRequest WatchOf(const std::string& ns) {
  svc::WatchResourcesRequest request;
  request.set_namespace_(ns);
  return request;
}

void ExpectWatcherMatchesDatabase(WatchRecorder& watcher, const std::string& url,
                                  const std::string& ns, const std::string& label) {
  const int64_t head = HeadInDatabase(url);
  ASSERT_TRUE(watcher.WaitForRevision(head)) << label << " did not reach revision " << head;
  WatchedHistory seen = Flatten(watcher.responses());
  EXPECT_EQ(seen.error, "") << label;
  EXPECT_TRUE(seen.changes == ChangesInDatabase(url, ns, seen.snapshot_revision))
      << label << ": saw " << seen.changes.size() << " changes";
  EXPECT_EQ(seen.state, StateInDatabase(url, ns)) << label;
}

TEST(StoreResilienceTest, WatchersSurvivePostgresRestartAndWritesFailCleanlyWhileItIsDown) {
  auto postgres = PostgresServer::Start();  // private: this test restarts it
  ASSERT_TRUE(postgres.ok()) << postgres.status();
  ASSERT_TRUE((*postgres)->CreateDatabase("restart").ok());
  const std::string url = (*postgres)->Url("restart");
  auto store = StoreProcess::Start(url);
  ASSERT_TRUE(store.ok()) << store.status();
  auto stub = (*store)->NewStub();

  WatchRecorder watcher((*store)->channel(), WatchOf("pg"));
  ASSERT_TRUE(watcher.WaitForEndOfList());
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(Put(*stub, MakeResource("pg", absl::StrCat("before", i))).ok());

  ASSERT_TRUE((*postgres)->Stop().ok());
  auto down = Put(*stub, MakeResource("pg", "while-down"));
  EXPECT_EQ(down.status().code(), absl::StatusCode::kUnavailable) << down.status();
  EXPECT_THAT(down.status().message(), HasSubstr("database unavailable"));
  auto get = Get(*stub, "pg", NewUuid());
  EXPECT_EQ(get.status().code(), absl::StatusCode::kUnavailable) << get.status();
  EXPECT_TRUE(WaitUntil([&] { return (*store)->AdminGet("/readyz").first == 503; }));
  EXPECT_THAT((*store)->AdminGet("/readyz").second, HasSubstr("database"));

  ASSERT_TRUE((*postgres)->Restart().ok());
  ASSERT_TRUE(WaitUntil([&] { return (*store)->AdminGet("/readyz").first == 200; },
                        std::chrono::seconds(30)));
  for (int i = 0; i < 30; ++i) {
    auto put = Put(*stub, MakeResource("pg", absl::StrCat("after", i)));
    ASSERT_TRUE(put.ok()) << "the store must recover by itself: " << put.status();
  }
  EXPECT_EQ(Get(*stub, "pg", NewUuid()).status().code(), absl::StatusCode::kNotFound);
  ExpectWatcherMatchesDatabase(watcher, url, "pg", "watcher across the restart");
  EXPECT_FALSE(watcher.WaitForEnd(std::chrono::milliseconds(0)).has_value())
      << "the watch stream itself stays open";
  EXPECT_GE((*store)->Metric("protomesh_store_feed_reconnects_total"), 1);
}

TEST(StoreResilienceTest, AStalledWatcherIsCutOffWithoutHoldingUpOthers) {
  auto store = StoreProcess::StartOnFreshDatabase("stall", {"--watch-max-pending-changes=20"});
  ASSERT_TRUE(store.ok()) << store.status();
  auto stub = (*store)->NewStub();

  // A client that never reads: small flow-control windows so that the
  // server's writes really block.
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 16 * 1024);
  auto stalled_channel = grpc::CreateCustomChannel((*store)->grpc_address(),
                                                   grpc::InsecureChannelCredentials(), args);
  auto stalled_stub = svc::ResourceStore::NewStub(stalled_channel);
  grpc::ClientContext stalled_context;
  auto stalled = stalled_stub->Watch(&stalled_context, WatchOf("stall"));
  svc::WatchResourcesResponse first;
  ASSERT_TRUE(stalled->Read(&first));
  ASSERT_TRUE(first.end_of_list());

  WatchRecorder healthy((*store)->channel(), WatchOf("stall"));
  ASSERT_TRUE(healthy.WaitForEndOfList());
  const std::string big(16 * 1024, 'x');
  // Each change reaches the healthy watcher while the stalled one is stuck
  // (waiting for it also keeps the healthy one within its own backlog limit
  // on a loaded machine).
  for (int i = 0; i < 200; ++i) {
    auto put = Put(*stub, MakeResource("stall", absl::StrCat("r", i), big));
    ASSERT_TRUE(put.ok()) << put.status();
    ASSERT_TRUE(healthy.WaitForRevision(put->version().index()))
        << "the healthy watcher must get change " << i << " while another watcher is stalled";
  }
  EXPECT_EQ(healthy.responses().size(), 201u);

  // Now read what the stalled stream holds: some changes, then the cut-off.
  svc::WatchResourcesResponse response;
  int received = 0;
  while (stalled->Read(&response)) ++received;
  grpc::Status status = stalled->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("fell too far behind"));
  EXPECT_THAT(status.error_message(), HasSubstr("resume_after_revision="));
  EXPECT_LT(received, 200);
  EXPECT_TRUE(WaitUntil(
      [&] { return (*store)->Metric("protomesh_store_watch_cutoffs_total") >= 1; }));
}

TEST(StoreResilienceTest, ResumingFromACompactedRevisionIsOutOfRange) {
  auto store = StoreProcess::StartOnFreshDatabase(
      "compaction", {"--compaction-interval=100ms", "--retention-age=0", "--retention-revisions=5"});
  ASSERT_TRUE(store.ok()) << store.status();
  auto stub = (*store)->NewStub();
  Resource resource = MakeResource("compact", "r", "v0");
  auto first = Put(*stub, resource);
  ASSERT_TRUE(first.ok());
  int64_t last = 0;
  for (int i = 1; i <= 30; ++i) {
    auto put = Put(*stub, MakeResource("compact", "r", absl::StrCat("v", i), resource.id()));
    ASSERT_TRUE(put.ok());
    last = put->version().index();
  }
  ASSERT_TRUE(WaitUntil([&] {
    return Get(*stub, "compact", resource.id(), first->version().index()).status().code() ==
           absl::StatusCode::kOutOfRange;
  })) << "compaction should have removed revision " << first->version().index();

  svc::WatchResourcesRequest old = WatchOf("compact");
  old.set_resume_after_revision(first->version().index());
  WatchRecorder too_old((*store)->channel(), old);
  auto end = too_old.WaitForEnd();
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->error_code(), grpc::StatusCode::OUT_OF_RANGE);
  EXPECT_THAT(end->error_message(), HasSubstr("has been compacted"));
  EXPECT_THAT(end->error_message(), HasSubstr("list again"));

  svc::WatchResourcesRequest recent = WatchOf("compact");
  recent.set_resume_after_revision(last - 3);
  WatchRecorder ok((*store)->channel(), recent);
  ASSERT_TRUE(ok.WaitForEndOfList());
  EXPECT_EQ(ok.responses().size(), 4u) << "three changes, then end_of_list";

  auto latest = Get(*stub, "compact", resource.id());
  ASSERT_TRUE(latest.ok()) << "the latest state is never compacted";
  EXPECT_EQ(PayloadOf(*latest), "v30");
  // Passes run every 100 ms; the one that removed the first revision may
  // have run before the last puts, so wait for the next ones.
  EXPECT_TRUE(WaitUntil(
      [&] { return (*store)->Metric("protomesh_store_compacted_changes_total") >= 20; }))
      << (*store)->Metric("protomesh_store_compacted_changes_total");
}

TEST(StoreResilienceTest, SigtermEndsWatchesAndExitsCleanly) {
  auto store = StoreProcess::StartOnFreshDatabase("sigterm");
  ASSERT_TRUE(store.ok()) << store.status();
  WatchRecorder watcher((*store)->channel(), WatchOf("term"));
  ASSERT_TRUE(watcher.WaitForEndOfList());
  auto exit_code = (*store)->Terminate();
  ASSERT_TRUE(exit_code.ok()) << exit_code.status();
  EXPECT_EQ(*exit_code, 0) << (*store)->Output();
  auto end = watcher.WaitForEnd();
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(end->error_message(), HasSubstr("shutting down"));
  EXPECT_THAT((*store)->Output(), HasSubstr("stopped"));
}

// The server process of the store's write connection, waiting for the
// revision lock inside protomesh_write_batch (0 when there is none).
int64_t WriterWaitingForTheLock(pqxx::connection& connection, const std::string& database) {
  pqxx::nontransaction tx(connection);
  pqxx::result rows = tx.exec_params(
      "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock' "
      "AND query LIKE '%protomesh_write_batch%'",
      database);
  return rows.empty() ? 0 : rows[0][0].as<int64_t>();
}

// A write transaction is one call that commits on the server even when its
// connection is gone. When the connection is lost with the call in flight,
// the store finds out whether it committed before it answers; here it did
// not (its server process was ended while it waited for the revision lock),
// so the write runs again and succeeds, once.
TEST(StoreResilienceTest, AWriteLostInFlightBeforeItCommittedRunsAgainOnce) {
  auto store = StoreProcess::StartOnFreshDatabase("inflight");
  ASSERT_TRUE(store.ok()) << store.status();
  const std::string url = (*store)->database_url();
  auto stub = (*store)->NewStub();
  WatchRecorder watcher((*store)->channel(), WatchOf("lost"));
  ASSERT_TRUE(watcher.WaitForEndOfList());
  ASSERT_TRUE(Put(*stub, MakeResource("lost", "before")).ok());

  pqxx::connection holder(url);
  pqxx::connection observer(url);
  auto lock = std::make_unique<pqxx::work>(holder);
  lock->exec("SELECT revision FROM store_revision FOR UPDATE");
  absl::StatusOr<svc::PutResourceResponse> put;
  std::thread writer([&] { put = Put(*stub, MakeResource("lost", "in-flight")); });
  int64_t first_pid = 0;
  ASSERT_TRUE(WaitUntil([&] { return (first_pid = WriterWaitingForTheLock(observer, "inflight")) != 0; }));
  pqxx::nontransaction(observer).exec_params("SELECT pg_terminate_backend($1)", first_pid);
  // The store reconnects, finds the write not committed, and sends it again.
  int64_t second_pid = 0;
  ASSERT_TRUE(WaitUntil([&] {
    second_pid = WriterWaitingForTheLock(observer, "inflight");
    return second_pid != 0 && second_pid != first_pid;
  }));
  lock->abort();
  lock.reset();
  writer.join();
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_TRUE(put->created());

  const auto log = ChangesInDatabase(url, "lost");
  ASSERT_EQ(log.size(), 2u) << "each write once";
  EXPECT_EQ(log[1].revision, put->version().index());
  ExpectWatcherMatchesDatabase(watcher, url, "lost", "watcher");
}

// A connection the database closed while it was idle is found closed
// before a write is sent on it, and the write goes out on a new one.
TEST(StoreResilienceTest, AWriteConnectionClosedWhileIdleIsReplacedBeforeTheWrite) {
  auto store = StoreProcess::StartOnFreshDatabase("idleclosed");
  ASSERT_TRUE(store.ok()) << store.status();
  const std::string url = (*store)->database_url();
  auto stub = (*store)->NewStub();
  ASSERT_TRUE(Put(*stub, MakeResource("idle", "before")).ok());
  pqxx::connection observer(url);
  pqxx::nontransaction tx(observer);
  pqxx::result ended = tx.exec_params(
      "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE datname = $1 "
      "AND query LIKE '%protomesh_write_batch%' AND pid <> pg_backend_pid()",
      "idleclosed");
  ASSERT_EQ(ended.size(), 1u);
  auto put = Put(*stub, MakeResource("idle", "after"));
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_EQ(ChangesInDatabase(url, "idle").size(), 2u);
}

TEST(StoreResilienceTest, ReplicasStartingTogetherApplyEachMigrationOnce) {
  auto& postgres = SharedPostgres();
  ASSERT_TRUE(postgres.CreateDatabase("migrate").ok());
  const std::string url = postgres.Url("migrate");
  std::vector<std::unique_ptr<ChildProcess>> replicas;
  for (int i = 0; i < 4; ++i) {
    auto p = ChildProcess::Start({StoreBinary(), "--database-url=" + url, "--migrate-only"});
    ASSERT_TRUE(p.ok());
    replicas.push_back(*std::move(p));
  }
  for (auto& p : replicas) {
    auto code = p->WaitForExit(std::chrono::seconds(60));
    ASSERT_TRUE(code.has_value());
    EXPECT_EQ(*code, 0) << p->Output();
  }
  pqxx::connection connection(url);
  pqxx::read_transaction tx(connection);
  // Each migration once (version is the table's key).
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM schema_migrations")[0].as<size_t>(),
            store::EmbeddedMigrations().size());
  EXPECT_EQ(tx.exec1("SELECT revision FROM store_revision")[0].as<int64_t>(), 0);
}

TEST(StoreResilienceTest, HelpListsEverySettingAndBadFlagsExitWithUsageErrors) {
  auto help = RunCommand({StoreBinary(), "--help"});
  ASSERT_TRUE(help.ok());
  EXPECT_EQ(help->exit_code, 0);
  for (const char* setting : {"--grpc-listen", "GRPC_LISTEN", "--database-url", "--admin-listen",
                              "--retention-age", "--watch-max-pending-changes", "--log-format",
                              "--max-spec-bytes", "0.0.0.0:6680"}) {
    EXPECT_THAT(help->output, HasSubstr(setting));
  }
  auto unknown = RunCommand({StoreBinary(), "--no-such-flag=1"});
  ASSERT_TRUE(unknown.ok());
  EXPECT_EQ(unknown->exit_code, 2);
  EXPECT_THAT(unknown->output, HasSubstr("no-such-flag"));
  auto bad_value = RunCommand({StoreBinary(), "--database-pool-size=many"});
  ASSERT_TRUE(bad_value.ok());
  EXPECT_EQ(bad_value->exit_code, 2);
  EXPECT_THAT(bad_value->output, HasSubstr("database-pool-size"));
  auto bad_env = RunCommand({StoreBinary(), "--migrate-only"}, {{"RETENTION_AGE", "soon"}});
  ASSERT_TRUE(bad_env.ok());
  EXPECT_EQ(bad_env->exit_code, 2);
  EXPECT_THAT(bad_env->output, HasSubstr("RETENTION_AGE"));
}

}  // namespace
}  // namespace protomesh::testing
