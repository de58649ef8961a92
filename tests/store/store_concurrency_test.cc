// The store's promise under load: many concurrent writers on two store
// processes sharing one database, many watchers on both; every watcher sees
// every change exactly once, in revision order, and ends with the state the
// database holds.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/message_differencer.h"
#include "tests/support/change_log.h"
#include "tests/support/postgres_server.h"
#include "tests/support/store_process.h"
#include "tests/support/store_test_util.h"
#include "tests/support/wait.h"

namespace protomesh::testing {
namespace {

constexpr char kNamespace[] = "load";
constexpr int kWriters = 8;
constexpr int kOperationsPerWriter = 120;

svc::WatchResourcesRequest WatchAll() {
  svc::WatchResourcesRequest request;
  request.set_namespace_(kNamespace);
  return request;
}

// Puts, updates, drops and two-resource applies on its own resources,
// alternating between the two stores.
void Write(int writer, std::vector<svc::ResourceStore::Stub*> stubs, std::atomic<int>& failures) {
  std::mt19937 rng(writer);
  std::vector<Resource> mine;
  for (int i = 0; i < kOperationsPerWriter; ++i) {
    svc::ResourceStore::Stub& stub = *stubs[i % stubs.size()];
    int choice = mine.empty() ? 0 : static_cast<int>(rng() % 4);
    absl::Status status;
    if (choice == 0) {
      Resource r = MakeResource(kNamespace, absl::StrCat("w", writer, "-", i), "new");
      status = Put(stub, r).status();
      if (status.ok()) mine.push_back(r);
    } else if (choice == 1) {
      Resource& r = mine[rng() % mine.size()];
      r = MakeResource(kNamespace, r.name(), absl::StrCat("update-", i), r.id());
      status = Put(stub, r).status();
    } else if (choice == 2) {
      size_t index = rng() % mine.size();
      status = Drop(stub, kNamespace, {mine[index].id()}).status();
      if (status.ok()) mine.erase(mine.begin() + static_cast<long>(index));
    } else {
      svc::ApplyRequest request;
      for (int k = 0; k < 2; ++k) {
        Resource r = MakeResource(kNamespace, absl::StrCat("w", writer, "-", i, "-", k), "applied");
        *request.add_operations()->mutable_put()->mutable_resource() = r;
        mine.push_back(r);
      }
      status = Apply(stub, request).status();
      if (!status.ok()) mine.resize(mine.size() - 2);
    }
    if (!status.ok()) {
      ADD_FAILURE() << "writer " << writer << " op " << i << ": " << status;
      ++failures;
    }
  }
}

TEST(StoreConcurrencyTest, EveryWatcherSeesEveryChangeOnceInOrderAcrossTwoReplicas) {
  auto a = StoreProcess::StartOnFreshDatabase("concurrency");
  ASSERT_TRUE(a.ok()) << a.status();
  const std::string url = (*a)->database_url();
  auto b = StoreProcess::Start(url);
  ASSERT_TRUE(b.ok()) << b.status();
  std::vector<StoreProcess*> stores = {a->get(), b->get()};

  // Some state before anyone watches.
  auto seed_stub = stores[0]->NewStub();
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(Put(*seed_stub, MakeResource(kNamespace, absl::StrCat("seed", i))).ok());

  std::vector<std::unique_ptr<WatchRecorder>> watchers;
  for (int i = 0; i < 6; ++i) {
    watchers.push_back(std::make_unique<WatchRecorder>(stores[i % 2]->channel(), WatchAll()));
  }
  for (auto& w : watchers) ASSERT_TRUE(w->WaitForEndOfList());

  std::vector<std::unique_ptr<svc::ResourceStore::Stub>> owned_stubs;
  std::atomic<int> failures{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    owned_stubs.push_back(stores[0]->NewStub());
    owned_stubs.push_back(stores[1]->NewStub());
    std::vector<svc::ResourceStore::Stub*> stubs = {owned_stubs[2 * w].get(),
                                                    owned_stubs[2 * w + 1].get()};
    writers.emplace_back(Write, w, stubs, std::ref(failures));
  }
  // Watchers that join while the writes are going on.
  for (int i = 0; i < 4; ++i) {
    watchers.push_back(std::make_unique<WatchRecorder>(stores[i % 2]->channel(), WatchAll()));
  }
  for (auto& t : writers) t.join();
  ASSERT_EQ(failures.load(), 0);

  const int64_t head = HeadInDatabase(url);
  const auto state = StateInDatabase(url, kNamespace);
  for (size_t i = 0; i < watchers.size(); ++i) {
    ASSERT_TRUE(watchers[i]->WaitForRevision(head)) << "watcher " << i << " did not reach " << head;
    WatchedHistory seen = Flatten(watchers[i]->responses());
    EXPECT_EQ(seen.error, "") << "watcher " << i;
    auto expected = ChangesInDatabase(url, kNamespace, seen.snapshot_revision);
    ASSERT_EQ(seen.changes.size(), expected.size()) << "watcher " << i;
    EXPECT_TRUE(seen.changes == expected) << "watcher " << i << " saw other changes than were committed";
    EXPECT_EQ(seen.state, state) << "watcher " << i << " ends with another state";
  }
  // Writes were spread over both stores and grouped into transactions.
  EXPECT_GT(stores[0]->Metric("protomesh_store_requests_total{method=\"Put\",code=\"OK\"}"), 0);
  EXPECT_GT(stores[1]->Metric("protomesh_store_requests_total{method=\"Put\",code=\"OK\"}"), 0);
  EXPECT_GT(static_cast<int64_t>(ChangesInDatabase(url, kNamespace).size()),
            kWriters * kOperationsPerWriter / 2);
}

// Many writers race on three shared resources with puts, drops and
// compare-and-swaps, so that one transaction often holds several writes of
// the same resource (group commit). Every answered write is in the change
// log at the revision it was told, revisions have no holes, the stored
// state is the log's last word on each resource, and a watcher sees exactly
// the log.
TEST(StoreConcurrencyTest, WritesOfTheSameResourcesInOneTransactionStayConsistent) {
  constexpr char kContended[] = "contended";
  constexpr int kContendingWriters = 16;
  constexpr int kOperations = 60;
  auto& postgres = SharedPostgres();
  ASSERT_TRUE(postgres.CreateDatabase("contention").ok());
  const std::string url = postgres.Url("contention");
  auto store = StoreProcess::Start(url);
  ASSERT_TRUE(store.ok()) << store.status();
  const std::vector<std::string> ids = {NewUuid(), NewUuid(), NewUuid()};

  svc::WatchResourcesRequest watch;
  watch.set_namespace_(kContended);
  WatchRecorder watcher((*store)->channel(), watch);
  ASSERT_TRUE(watcher.WaitForEndOfList());

  std::mutex mu;
  std::vector<LoggedChange> answered;  // what the writers were told
  std::atomic<int> failures{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < kContendingWriters; ++w) {
    writers.emplace_back([&, w] {
      auto stub = (*store)->NewStub();
      std::mt19937 rng(w);
      for (int i = 0; i < kOperations; ++i) {
        const std::string& id = ids[rng() % ids.size()];
        int choice = static_cast<int>(rng() % 4);
        if (choice <= 1) {
          auto put = Put(*stub, MakeResource(kContended, "r", absl::StrCat(w, "-", i), id));
          if (!put.ok()) {
            ADD_FAILURE() << put.status();
            ++failures;
          } else if (!put->unchanged()) {
            std::lock_guard lock(mu);
            answered.push_back({put->version().index(), id, false});
          }
        } else if (choice == 2) {
          auto dropped = Drop(*stub, kContended, {id});
          if (!dropped.ok()) {
            ADD_FAILURE() << dropped.status();
            ++failures;
          } else if (dropped->revision() != 0) {
            std::lock_guard lock(mu);
            answered.push_back({dropped->revision(), id, true});
          }
        } else {
          // Compare-and-swap on what we just read: may lose the race.
          auto current = Get(*stub, kContended, id);
          int64_t expected = current.ok() ? current->version().index() : 0;
          auto put = Put(*stub, MakeResource(kContended, "r", absl::StrCat("cas-", w, "-", i), id),
                         expected);
          if (put.ok()) {
            std::lock_guard lock(mu);
            answered.push_back({put->version().index(), id, false});
          } else if (put.status().code() != absl::StatusCode::kAborted) {
            ADD_FAILURE() << put.status();
            ++failures;
          }
        }
      }
    });
  }
  for (auto& t : writers) t.join();
  ASSERT_EQ(failures.load(), 0);
  // Writes were grouped: more writes than transactions.
  EXPECT_GT((*store)->Metric("protomesh_store_batch_mutations_sum"),
            (*store)->Metric("protomesh_store_batch_mutations_count"));

  const int64_t head = HeadInDatabase(url);
  const auto log = ChangesInDatabase(url, kContended);
  ASSERT_EQ(static_cast<int64_t>(log.size()), head) << "one change per revision, no holes";
  for (size_t i = 0; i < log.size(); ++i) ASSERT_EQ(log[i].revision, static_cast<int64_t>(i) + 1);
  std::set<std::tuple<int64_t, std::string, bool>> logged;
  for (const auto& change : log) logged.insert({change.revision, change.id, change.dropped});
  EXPECT_EQ(answered.size(), log.size());
  for (const auto& change : answered) {
    EXPECT_TRUE(logged.count({change.revision, change.id, change.dropped}))
        << "answered revision " << change.revision << " of " << change.id << " is not in the log";
  }

  // The stored state: each resource as the last change left it.
  std::map<std::string, LoggedChange> last;
  for (const auto& change : log) last[change.id] = change;
  pqxx::connection connection(url);
  pqxx::nontransaction tx(connection);
  std::map<std::string, int64_t> stored;
  for (const auto& row : tx.exec_params(
           "SELECT id::text, revision FROM resources WHERE namespace = $1", kContended)) {
    stored[row[0].c_str()] = row[1].as<int64_t>();
  }
  std::map<std::string, int64_t> expected_stored;
  for (const auto& [id, change] : last) {
    if (!change.dropped) expected_stored[id] = change.revision;
  }
  EXPECT_EQ(stored, expected_stored);
  // A dropped resource's change row holds its last state, not an empty one.
  for (const auto& row : tx.exec_params(
           "SELECT count(*) FROM changes WHERE namespace = $1 AND (name <> 'r' OR spec = '')",
           kContended)) {
    EXPECT_EQ(row[0].as<int64_t>(), 0);
  }

  ASSERT_TRUE(watcher.WaitForRevision(head));
  WatchedHistory seen = Flatten(watcher.responses());
  EXPECT_EQ(seen.error, "");
  EXPECT_TRUE(seen.changes == ChangesInDatabase(url, kContended, seen.snapshot_revision));
  EXPECT_EQ(seen.state, StateInDatabase(url, kContended));
}


// Backends of `database` whose protomesh_write_batch call waits for a lock.
int64_t WritesWaitingForALock(pqxx::connection& connection, const std::string& database) {
  pqxx::nontransaction tx(connection);
  return tx.exec_params1("SELECT count(*) FROM pg_stat_activity WHERE datname = $1 "
                         "AND wait_event_type = 'Lock' AND query LIKE '%protomesh_write_batch%'",
                         database)[0]
      .as<int64_t>();
}

// A store publishes its own writes from what its write batcher hands over,
// and another replica reads them from the change log: both must deliver the
// very same messages, for every kind of write, including several writes of
// one resource in one transaction, and with both replicas' writes
// interleaved.
TEST(StoreConcurrencyTest, AReplicaPublishesItsOwnWritesExactlyAsAnotherReadsThemFromTheLog) {
  constexpr char kSpace[] = "handover";
  auto a = StoreProcess::StartOnFreshDatabase("handover");
  ASSERT_TRUE(a.ok()) << a.status();
  const std::string url = (*a)->database_url();
  auto b = StoreProcess::Start(url);
  ASSERT_TRUE(b.ok()) << b.status();
  auto stub_a = (*a)->NewStub();
  auto stub_b = (*b)->NewStub();

  std::vector<Resource> stored;
  for (int i = 0; i < 6; ++i) {
    stored.push_back(MakeResource(kSpace, absl::StrCat("stored", i)));
    ASSERT_TRUE(Put(*stub_a, stored.back()).ok());
  }
  svc::WatchResourcesRequest watch;
  watch.set_namespace_(kSpace);
  WatchRecorder on_a((*a)->channel(), watch);
  WatchRecorder on_b((*b)->channel(), watch);
  ASSERT_TRUE(on_a.WaitForEndOfList());
  ASSERT_TRUE(on_b.WaitForEndOfList());

  // While the test holds the revision lock, store a's writes queue up behind
  // the one waiting for it, in the order sent, and then commit together.
  pqxx::connection holder(url);
  pqxx::connection observer(url);
  auto lock = std::make_unique<pqxx::work>(holder);
  lock->exec("SELECT revision FROM store_revision FOR UPDATE");
  std::mutex mu;
  std::vector<std::pair<int, absl::Status>> outcomes;
  std::vector<int64_t> revisions(16, 0);
  std::vector<std::thread> calls;
  auto send = [&](int index, std::function<absl::StatusOr<int64_t>(svc::ResourceStore::Stub&)> call) {
    calls.emplace_back([&, index, call] {
      auto stub = (*a)->NewStub();
      absl::StatusOr<int64_t> revision = call(*stub);
      std::lock_guard lock_guard(mu);
      outcomes.emplace_back(index, revision.status());
      if (revision.ok()) revisions[index] = *revision;
    });
  };
  auto put = [](Resource r, std::optional<int64_t> expected = {}) {
    return [r, expected](svc::ResourceStore::Stub& stub) -> absl::StatusOr<int64_t> {
      auto put = Put(stub, r, expected);
      if (!put.ok()) return put.status();
      return put->unchanged() ? 0 : put->version().index();
    };
  };
  auto drop = [&](std::vector<std::string> ids) {
    return [&, ids](svc::ResourceStore::Stub& stub) -> absl::StatusOr<int64_t> {
      auto dropped = Drop(stub, kSpace, ids);
      if (!dropped.ok()) return dropped.status();
      return dropped->revision();
    };
  };
  const Resource k = MakeResource(kSpace, "k", "k1");
  send(0, put(MakeResource(kSpace, "first")));
  ASSERT_TRUE(WaitUntil([&] { return WritesWaitingForALock(observer, "handover") == 1; }));
  std::vector<std::function<absl::StatusOr<int64_t>(svc::ResourceStore::Stub&)>> queued = {
      put(k),                                                             // 1: create
      drop({k.id()}),                                                     // 2: drop what 1 put
      put(MakeResource(kSpace, "k", "k2", k.id())),                       // 3: create again
      drop({stored[0].id()}),                                             // 4: drop a stored one
      put(stored[1]),                                                     // 5: unchanged
      put(MakeResource(kSpace, "stored2", "cas", stored[2].id()), 12345),  // 6: fails
      [&](svc::ResourceStore::Stub& stub) -> absl::StatusOr<int64_t> {    // 7: several at once
        svc::ApplyRequest request;
        *request.add_operations()->mutable_put()->mutable_resource() = MakeResource(kSpace, "l");
        auto* d = request.add_operations()->mutable_drop();
        d->set_namespace_(kSpace);
        d->add_resource_ids(stored[3].id());
        *request.add_operations()->mutable_put()->mutable_resource() =
            MakeResource(kSpace, "stored4", "updated", stored[4].id());
        auto applied = Apply(stub, request);
        if (!applied.ok()) return applied.status();
        return applied->revision();
      },
      put(MakeResource(kSpace, "k", "k3", k.id())),                       // 8: update again
      drop({stored[5].id(), NewUuid()}),                                  // 9: one of two exists
      drop({k.id()}),                                                     // 10: drop what 8 put
  };
  for (size_t i = 0; i < queued.size(); ++i) {
    send(static_cast<int>(i) + 1, queued[i]);
    ASSERT_TRUE(WaitUntil([&] {
      return (*a)->Metric("protomesh_store_writes_queued") == static_cast<double>(i + 1);
    })) << "write " << i + 1 << " was not queued";
  }
  lock->abort();
  lock.reset();
  for (auto& t : calls) t.join();
  for (const auto& [index, status] : outcomes) {
    if (index == 6) {
      EXPECT_EQ(status.code(), absl::StatusCode::kAborted) << status;
    } else {
      EXPECT_TRUE(status.ok()) << "write " << index << ": " << status;
    }
  }
  // The queued writes committed in the order sent, one revision each.
  const std::vector<int> changing = {1, 2, 3, 4, 7, 8, 9, 10};
  for (size_t i = 1; i < changing.size(); ++i) {
    EXPECT_EQ(revisions[changing[i]], revisions[changing[i - 1]] + 1) << "write " << changing[i];
  }
  EXPECT_EQ(revisions[5], 0) << "the unchanged put";

  // Both replicas' writes interleaved, one after another and at once.
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(Put(*stub_a, MakeResource(kSpace, absl::StrCat("a", i))).ok());
    ASSERT_TRUE(Put(*stub_b, MakeResource(kSpace, absl::StrCat("b", i))).ok());
  }
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      auto stub = (w % 2 == 0 ? *a : *b)->NewStub();
      for (int i = 0; i < 20; ++i) {
        auto r = MakeResource(kSpace, absl::StrCat("w", w, "-", i));
        EXPECT_TRUE(Put(*stub, r).ok());
        if (i % 3 == 0) {
          EXPECT_TRUE(Drop(*stub, kSpace, {r.id()}).ok());
        }
      }
    });
  }
  for (auto& t : writers) t.join();

  const int64_t head = HeadInDatabase(url);
  ASSERT_TRUE(on_a.WaitForRevision(head));
  ASSERT_TRUE(on_b.WaitForRevision(head));
  auto responses_a = on_a.responses();
  auto responses_b = on_b.responses();
  ASSERT_EQ(responses_a.size(), responses_b.size());
  for (size_t i = 0; i < responses_a.size(); ++i) {
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(responses_a[i], responses_b[i]))
        << "response " << i << " differs:\n" << responses_a[i].DebugString() << "\nvs\n"
        << responses_b[i].DebugString();
  }
  WatchedHistory seen = Flatten(responses_a);
  EXPECT_EQ(seen.error, "");
  EXPECT_TRUE(seen.changes == ChangesInDatabase(url, kSpace, seen.snapshot_revision));
  EXPECT_EQ(seen.state, StateInDatabase(url, kSpace));
  for (auto* store : {a->get(), b->get()}) {
    EXPECT_GT(store->Metric("protomesh_store_feed_changes_total{source=\"handover\"}"), 0);
    EXPECT_GT(store->Metric("protomesh_store_feed_changes_total{source=\"log\"}"), 0);
  }
}


// A change many watchers want is flushed to them from several threads
// (WatchHub): each watcher still sees every change once, in order.
TEST(StoreConcurrencyTest, ManyWatchersOfOneNamespaceEachSeeTheLogExactly) {
  constexpr char kCrowd[] = "crowd";
  constexpr int kWatchersOnA = 100;  // above WatchHub's parallel threshold
  auto a = StoreProcess::StartOnFreshDatabase("crowd");
  ASSERT_TRUE(a.ok()) << a.status();
  const std::string url = (*a)->database_url();
  auto b = StoreProcess::Start(url);
  ASSERT_TRUE(b.ok()) << b.status();

  svc::WatchResourcesRequest watch;
  watch.set_namespace_(kCrowd);
  std::vector<std::unique_ptr<WatchRecorder>> watchers;
  for (int i = 0; i < kWatchersOnA + 10; ++i) {
    watchers.push_back(
        std::make_unique<WatchRecorder>((i < kWatchersOnA ? *a : *b)->channel(), watch));
  }
  for (auto& w : watchers) ASSERT_TRUE(w->WaitForEndOfList());

  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      auto stub = (w % 2 == 0 ? *a : *b)->NewStub();
      std::vector<std::string> mine;
      for (int i = 0; i < 40; ++i) {
        if (i % 4 == 3) {
          EXPECT_TRUE(Drop(*stub, kCrowd, {mine.back()}).ok());
          mine.pop_back();
          continue;
        }
        auto r = MakeResource(kCrowd, absl::StrCat("w", w, "-", i), absl::StrCat("v", i));
        EXPECT_TRUE(Put(*stub, r).ok());
        mine.push_back(r.id());
      }
    });
  }
  for (auto& t : writers) t.join();

  const int64_t head = HeadInDatabase(url);
  const auto state = StateInDatabase(url, kCrowd);
  for (size_t i = 0; i < watchers.size(); ++i) {
    ASSERT_TRUE(watchers[i]->WaitForRevision(head)) << "watcher " << i;
    WatchedHistory seen = Flatten(watchers[i]->responses());
    EXPECT_EQ(seen.error, "") << "watcher " << i;
    EXPECT_TRUE(seen.changes == ChangesInDatabase(url, kCrowd, seen.snapshot_revision))
        << "watcher " << i << " saw other changes than were committed";
    EXPECT_EQ(seen.state, state) << "watcher " << i;
  }
}

}  // namespace
}  // namespace protomesh::testing
