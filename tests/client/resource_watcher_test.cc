// The shared store client: snapshot then ordered changes, resume after the
// store dies, and a re-list (with vanished resources) after compaction.
#include "src/client/resource_watcher.h"
#include "src/client/store_channel.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <map>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "tests/support/change_log.h"
#include "tests/support/postgres_server.h"
#include "tests/support/store_process.h"
#include "tests/support/store_test_util.h"
#include "tests/support/wait.h"

namespace protomesh::testing {
namespace {

using client::ResourceWatcher;
using client::WatchBatch;

// Collects batches and keeps the state a user of the watcher would build.
class Collector {
 public:
  void operator()(const WatchBatch& batch) {
    std::lock_guard lock(mu_);
    batches_.push_back(batch);
    if (batch.kind == WatchBatch::Kind::kSnapshot) {
      state_.clear();
      for (const auto& r : batch.updated) state_[r.id()] = r.version().sha256_hash();
    } else {
      for (const auto& r : batch.updated) {
        state_[r.id()] = r.version().sha256_hash();
        changes_.push_back({batch.revision, r.id(), false});
      }
      for (const auto& r : batch.dropped) {
        state_.erase(r.id());
        changes_.push_back({batch.revision, r.id(), true});
      }
      std::sort(changes_.end() - static_cast<long>(batch.updated.size() + batch.dropped.size()),
                changes_.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    }
    if (batch.revision <= last_revision_) order_error_ = true;
    last_revision_ = batch.revision;
    changed_.notify_all();
  }

  bool WaitForRevision(int64_t revision) {
    std::unique_lock lock(mu_);
    return changed_.wait_for(lock, std::chrono::seconds(30),
                             [&] { return last_revision_ >= revision; });
  }
  std::vector<WatchBatch> batches() {
    std::lock_guard lock(mu_);
    return batches_;
  }
  std::vector<LoggedChange> changes() {
    std::lock_guard lock(mu_);
    return changes_;
  }
  std::map<std::string, std::string> state() {
    std::lock_guard lock(mu_);
    return state_;
  }
  bool order_error() {
    std::lock_guard lock(mu_);
    return order_error_;
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  std::vector<WatchBatch> batches_;
  std::vector<LoggedChange> changes_;
  std::map<std::string, std::string> state_;
  int64_t last_revision_ = -1;  // a first snapshot may be at revision 0
  bool order_error_ = false;
};

std::unique_ptr<ResourceWatcher> Watch(StoreProcess& store, const std::string& ns,
                                       Collector& collector) {
  client::WatcherOptions options;
  options.namespace_ = ns;
  options.initial_backoff = absl::Milliseconds(20);
  options.max_backoff = absl::Milliseconds(200);
  auto channel = client::CreateStoreChannel(store.grpc_address(), grpc::InsecureChannelCredentials());
  auto watcher = std::make_unique<ResourceWatcher>(
      channel, options, [&collector](const WatchBatch& batch) { collector(batch); });
  watcher->Start();
  return watcher;
}

TEST(ResourceWatcherTest, DeliversASnapshotThenEveryRevisionInOrder) {
  auto& postgres = SharedPostgres();
  ASSERT_TRUE(postgres.CreateDatabase("watcher_basic").ok());
  const std::string url = postgres.Url("watcher_basic");
  auto store = StoreProcess::Start(url);
  ASSERT_TRUE(store.ok()) << store.status();
  auto stub = (*store)->NewStub();
  Resource kept = MakeResource("app", "kept");
  ASSERT_TRUE(Put(*stub, kept).ok());

  Collector collector;
  auto watcher = Watch(**store, "app", collector);
  ASSERT_TRUE(collector.WaitForRevision(HeadInDatabase(url)));
  ASSERT_TRUE(WaitUntil([&] { return watcher->synced(); }));
  auto first = collector.batches();
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].kind, WatchBatch::Kind::kSnapshot);
  ASSERT_EQ(first[0].updated.size(), 1u);
  EXPECT_EQ(first[0].updated[0].id(), kept.id());
  EXPECT_TRUE(first[0].dropped.empty());

  auto put = Put(*stub, MakeResource("app", "kept", "v2", kept.id()));
  auto dropped = Drop(*stub, "app", {kept.id()});
  ASSERT_TRUE(put.ok() && dropped.ok());
  ASSERT_TRUE(collector.WaitForRevision(dropped->revision()));
  auto batches = collector.batches();
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[1].kind, WatchBatch::Kind::kChange);
  EXPECT_EQ(batches[1].revision, put->version().index());
  EXPECT_EQ(batches[2].revision, dropped->revision());
  ASSERT_EQ(batches[2].dropped.size(), 1u);
  EXPECT_EQ(PayloadOf(batches[2].dropped[0]), "v2");
  EXPECT_EQ(watcher->revision(), dropped->revision());
}

TEST(ResourceWatcherTest, ResumesAfterTheStoreIsKilledWithoutMissingOrRepeatingChanges) {
  auto& postgres = SharedPostgres();
  ASSERT_TRUE(postgres.CreateDatabase("watcher_resume").ok());
  const std::string url = postgres.Url("watcher_resume");
  auto watched = StoreProcess::Start(url);
  auto other = StoreProcess::Start(url);
  ASSERT_TRUE(watched.ok() && other.ok());
  auto stub = (*other)->NewStub();

  Collector collector;
  auto watcher = Watch(**watched, "svc", collector);
  ASSERT_TRUE(WaitUntil([&] { return watcher->synced(); }));
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(Put(*stub, MakeResource("svc", absl::StrCat("a", i))).ok());
  ASSERT_TRUE(collector.WaitForRevision(HeadInDatabase(url)));

  (*watched)->Kill();
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    Resource r = MakeResource("svc", absl::StrCat("b", i));
    ASSERT_TRUE(Put(*stub, r).ok());
    ids.push_back(r.id());
  }
  ASSERT_TRUE(Drop(*stub, "svc", {ids[0], ids[1]}).ok());
  ASSERT_TRUE((*watched)->Restart().ok());
  ASSERT_TRUE(Put(*stub, MakeResource("svc", "after-restart")).ok());

  ASSERT_TRUE(collector.WaitForRevision(HeadInDatabase(url)));
  EXPECT_FALSE(collector.order_error());
  EXPECT_TRUE(collector.changes() == ChangesInDatabase(url, "svc"))
      << "every change exactly once, in order, across the restart";
  EXPECT_EQ(collector.state(), StateInDatabase(url, "svc"));
  EXPECT_GE(watcher->connections(), 2);
  // While the store was away, one stream waited for it to come back (one
  // more if it was sent before the channel saw the connection die), rather
  // than one failing stream per backoff step.
  EXPECT_LE(watcher->connections(), 3);
  int snapshots = 0;
  for (const auto& b : collector.batches()) snapshots += b.kind == WatchBatch::Kind::kSnapshot;
  EXPECT_EQ(snapshots, 1) << "a resume needs no new snapshot";
}

TEST(ResourceWatcherTest, RelistsAfterCompactionAndReportsWhatVanished) {
  auto& postgres = SharedPostgres();
  ASSERT_TRUE(postgres.CreateDatabase("watcher_relist").ok());
  const std::string url = postgres.Url("watcher_relist");
  auto watched = StoreProcess::Start(url);
  auto compacting = StoreProcess::Start(
      url, {"--compaction-interval=50ms", "--retention-age=0", "--retention-revisions=1"});
  ASSERT_TRUE(watched.ok() && compacting.ok());
  auto stub = (*compacting)->NewStub();
  Resource doomed = MakeResource("mesh", "doomed"), survivor = MakeResource("mesh", "survivor");
  ASSERT_TRUE(Put(*stub, doomed).ok());
  ASSERT_TRUE(Put(*stub, survivor).ok());

  Collector collector;
  auto watcher = Watch(**watched, "mesh", collector);
  ASSERT_TRUE(collector.WaitForRevision(HeadInDatabase(url)));
  const int64_t seen = watcher->revision();

  (*watched)->Kill();
  ASSERT_TRUE(Drop(*stub, "mesh", {doomed.id()}).ok());
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(Put(*stub, MakeResource("mesh", "survivor", absl::StrCat("v", i), survivor.id())).ok());
  }
  ASSERT_TRUE(WaitUntil([&] {
    return Get(*stub, "mesh", survivor.id(), seen).status().code() == absl::StatusCode::kOutOfRange;
  })) << "compaction should pass revision " << seen;
  ASSERT_TRUE((*watched)->Restart().ok());

  ASSERT_TRUE(collector.WaitForRevision(HeadInDatabase(url)));
  auto batches = collector.batches();
  ASSERT_EQ(batches.size(), 2u);
  const WatchBatch& relist = batches[1];
  EXPECT_EQ(relist.kind, WatchBatch::Kind::kSnapshot);
  ASSERT_EQ(relist.updated.size(), 1u);
  EXPECT_EQ(relist.updated[0].id(), survivor.id());
  EXPECT_EQ(PayloadOf(relist.updated[0]), "v9");
  ASSERT_EQ(relist.dropped.size(), 1u);
  EXPECT_EQ(relist.dropped[0].id(), doomed.id());
  EXPECT_EQ(watcher->last_error().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(collector.state(), StateInDatabase(url, "mesh"));
}

}  // namespace
}  // namespace protomesh::testing
