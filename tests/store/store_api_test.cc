// The store's API semantics, against a real protomesh-store process and a
// real Postgres: CRUD, no-op puts, validation, compare-and-swap, Apply,
// List paging, History, Get at a revision, and Watch.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/wrappers.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "src/proto/grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "tests/support/postgres_server.h"
#include "tests/support/store_process.h"
#include "tests/support/store_test_util.h"

namespace protomesh::testing {
namespace {

using ::testing::HasSubstr;

constexpr int kMaxSpecBytes = 4096;

class StoreApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto store = StoreProcess::StartOnFreshDatabase(
        "store_api", {absl::StrCat("--max-spec-bytes=", kMaxSpecBytes)});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = store->release();
  }
  static void TearDownTestSuite() {
    delete store_;
    store_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(store_, nullptr);
    stub_ = store_->NewStub();
    static int counter = 0;
    ns_ = absl::StrCat("api-", ++counter);
  }

  void TearDown() override {
    if (HasFailure()) std::cerr << "store output:\n" << store_->Output() << "\n";
  }

  int64_t Head() {
    svc::ListResourcesRequest request;
    request.set_namespace_(ns_);
    request.set_page_size(1);
    auto page = List(*stub_, request);
    EXPECT_TRUE(page.ok()) << page.status();
    return page.ok() ? page->revision() : -1;
  }

  static StoreProcess* store_;
  std::unique_ptr<svc::ResourceStore::Stub> stub_;
  std::string ns_;
};
StoreProcess* StoreApiTest::store_ = nullptr;

TEST_F(StoreApiTest, PutCreatesAndGetReturnsTheSameVersion) {
  Resource resource = MakeResource(ns_, "alpha", "hello");
  auto put = Put(*stub_, resource);
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_TRUE(put->created());
  EXPECT_FALSE(put->unchanged());
  EXPECT_GT(put->version().index(), 0);
  EXPECT_EQ(put->version().sha256_hash().size(), 43u);  // base64url of 32 bytes, unpadded
  auto now = std::chrono::system_clock::now().time_since_epoch();
  int64_t now_seconds = std::chrono::duration_cast<std::chrono::seconds>(now).count();
  EXPECT_NEAR(put->version().timestamp().seconds(), now_seconds, 60);

  auto got = Get(*stub_, ns_, resource.id());
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->name(), "alpha");
  EXPECT_EQ(PayloadOf(*got), "hello");
  EXPECT_EQ(got->version().index(), put->version().index());
  EXPECT_EQ(got->version().sha256_hash(), put->version().sha256_hash());
  EXPECT_EQ(got->version().timestamp().seconds(), put->version().timestamp().seconds());
  EXPECT_EQ(got->version().timestamp().nanos(), put->version().timestamp().nanos());
}

TEST_F(StoreApiTest, IdenticalPutIsANoOpReturningTheCurrentVersion) {
  Resource resource = MakeResource(ns_, "alpha", "hello");
  auto first = Put(*stub_, resource);
  ASSERT_TRUE(first.ok());
  int64_t head = Head();
  auto second = Put(*stub_, resource);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_TRUE(second->unchanged());
  EXPECT_FALSE(second->created());
  EXPECT_EQ(second->version().index(), first->version().index());
  EXPECT_EQ(second->version().sha256_hash(), first->version().sha256_hash());
  EXPECT_EQ(Head(), head) << "a no-op put must not consume a revision";
}

TEST_F(StoreApiTest, UpdateGetsANewRevisionAndHash) {
  Resource resource = MakeResource(ns_, "alpha", "v1");
  auto first = Put(*stub_, resource);
  ASSERT_TRUE(first.ok());
  resource = MakeResource(ns_, "alpha", "v2", resource.id());
  auto second = Put(*stub_, resource);
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->created());
  EXPECT_FALSE(second->unchanged());
  EXPECT_GT(second->version().index(), first->version().index());
  EXPECT_NE(second->version().sha256_hash(), first->version().sha256_hash());
  EXPECT_EQ(PayloadOf(*Get(*stub_, ns_, resource.id())), "v2");
}

TEST_F(StoreApiTest, UppercaseIdsAreStoredLowercase) {
  std::string id = NewUuid();
  std::string upper = absl::AsciiStrToUpper(id);
  ASSERT_TRUE(Put(*stub_, MakeResource(ns_, "alpha", "x", upper)).ok());
  auto got = Get(*stub_, ns_, upper);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->id(), id);
}

TEST_F(StoreApiTest, GetOfAMissingResourceIsNotFound) {
  auto got = Get(*stub_, ns_, NewUuid());
  EXPECT_EQ(got.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(got.status().message(), HasSubstr("not found in namespace " + ns_));
}

TEST_F(StoreApiTest, DropReportsWhichIdsWereDropped) {
  Resource a = MakeResource(ns_, "a");
  ASSERT_TRUE(Put(*stub_, a).ok());
  std::string missing = NewUuid();
  auto dropped = Drop(*stub_, ns_, {a.id(), missing});
  ASSERT_TRUE(dropped.ok()) << dropped.status();
  EXPECT_THAT(dropped->dropped_ids(), ::testing::ElementsAre(a.id()));
  EXPECT_GT(dropped->revision(), 0);
  EXPECT_EQ(Get(*stub_, ns_, a.id()).status().code(), absl::StatusCode::kNotFound);

  int64_t head = Head();
  auto again = Drop(*stub_, ns_, {a.id()});
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->dropped_ids().empty());
  EXPECT_EQ(again->revision(), 0);
  EXPECT_EQ(Head(), head);
}

struct BadPut {
  std::string label;
  std::function<void(Resource&)> mutate;
  std::string message;
};

TEST_F(StoreApiTest, EveryInvalidPutIsRejectedWithItsFieldAndRuleAndWritesNothing) {
  std::vector<BadPut> cases = {
      {"empty namespace", [](Resource& r) { r.set_namespace_(""); }, "resource.namespace: must not be empty"},
      {"uppercase namespace", [](Resource& r) { r.set_namespace_("Prod"); },
       "resource.namespace: must be a DNS label"},
      {"underscore namespace", [](Resource& r) { r.set_namespace_("my_ns"); },
       "resource.namespace: must be a DNS label"},
      {"namespace ending in a dash", [](Resource& r) { r.set_namespace_("ns-"); },
       "resource.namespace: must be a DNS label"},
      {"long namespace", [](Resource& r) { r.set_namespace_(std::string(64, 'a')); },
       "at most 63"},
      {"empty id", [](Resource& r) { r.set_id(""); }, "resource.id: must not be empty"},
      {"non-uuid id", [](Resource& r) { r.set_id("not-a-uuid"); }, "resource.id: must be a UUID"},
      {"uuid without dashes", [](Resource& r) { r.set_id("123e4567e89b12d3a456426614174000"); },
       "resource.id: must be a UUID"},
      {"empty name", [](Resource& r) { r.set_name(""); }, "resource.name: must not be empty"},
      {"long name", [](Resource& r) { r.set_name(std::string(254, 'n')); },
       "resource.name: must be at most 253 bytes; got 254"},
      {"control character in name", [](Resource& r) { r.set_name("a\nb"); },
       "resource.name: must not contain control characters"},
      {"missing spec", [](Resource& r) { r.clear_spec(); }, "resource.spec: must be set"},
      {"empty type url", [](Resource& r) { r.mutable_spec()->set_type_url(""); },
       "resource.spec.type_url: must name the spec's message type"},
      {"type url without a type", [](Resource& r) { r.mutable_spec()->set_type_url("example.com/"); },
       "resource.spec.type_url: must name the spec's message type"},
      {"spec over the limit",
       [](Resource& r) { r.mutable_spec()->set_value(std::string(kMaxSpecBytes + 1, 'x')); },
       absl::StrCat("resource.spec: ", kMaxSpecBytes + 1, " bytes is over the limit of ",
                    kMaxSpecBytes, " bytes")},
  };
  int64_t head = Head();
  for (const auto& c : cases) {
    Resource resource = MakeResource(ns_, "valid");
    c.mutate(resource);
    auto put = Put(*stub_, resource);
    EXPECT_EQ(put.status().code(), absl::StatusCode::kInvalidArgument) << c.label;
    EXPECT_THAT(put.status().message(), HasSubstr(c.message)) << c.label;
  }
  svc::PutResourceRequest no_resource;
  grpc::ClientContext context;
  svc::PutResourceResponse response;
  grpc::Status status = stub_->Put(&context, no_resource, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "resource: must be set");

  auto negative = Put(*stub_, MakeResource(ns_, "x"), -1);
  EXPECT_EQ(negative.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(negative.status().message(), HasSubstr("expected_revision: must be 0"));

  EXPECT_EQ(Head(), head);
  auto all = ListAll(*stub_, ns_);
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->empty());
}

TEST_F(StoreApiTest, InvalidReadsDropsAndWatchesAreRejected) {
  auto bad_get = Get(*stub_, ns_, "nope");
  EXPECT_EQ(bad_get.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad_get.status().message(), HasSubstr("resource_id: must be a UUID"));

  auto bad_drop = Drop(*stub_, "Bad", {NewUuid()});
  EXPECT_EQ(bad_drop.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad_drop.status().message(), HasSubstr("namespace: must be a DNS label"));
  auto bad_drop_id = Drop(*stub_, ns_, {NewUuid(), "x"});
  EXPECT_THAT(bad_drop_id.status().message(), HasSubstr("resource_ids[1]: must be a UUID"));

  svc::DropResourcesRequest drop;
  drop.set_namespace_(ns_);
  drop.add_resource_ids(NewUuid());
  (*drop.mutable_expected_revisions())[NewUuid()] = 3;
  grpc::ClientContext context;
  svc::DropResourcesResponse drop_response;
  grpc::Status status = stub_->Drop(&context, drop, &drop_response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("is not one of resource_ids"));

  svc::ListResourcesRequest list;
  list.set_namespace_(ns_);
  list.set_page_size(-1);
  EXPECT_THAT(List(*stub_, list).status().message(), HasSubstr("page_size: must not be negative"));
  list.set_page_size(10);
  list.set_page_token("garbage");
  auto bad_token = List(*stub_, list);
  EXPECT_EQ(bad_token.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad_token.status().message(), HasSubstr("page_token"));

  svc::WatchResourcesRequest watch;
  watch.set_namespace_("");
  WatchRecorder recorder(store_->channel(), watch);
  auto end = recorder.WaitForEnd();
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(end->error_message(), "namespace: must not be empty");
}

TEST_F(StoreApiTest, CompareAndSwapConflictsAreAbortedWithTheCurrentRevision) {
  Resource resource = MakeResource(ns_, "cas", "v1");
  auto created = Put(*stub_, resource, 0);
  ASSERT_TRUE(created.ok()) << created.status();
  int64_t revision = created->version().index();

  auto create_again = Put(*stub_, MakeResource(ns_, "cas", "v2", resource.id()), 0);
  EXPECT_EQ(create_again.status().code(), absl::StatusCode::kAborted);
  EXPECT_THAT(create_again.status().message(),
              HasSubstr(absl::StrCat("already exists at revision ", revision)));

  auto stale = Put(*stub_, MakeResource(ns_, "cas", "v2", resource.id()), revision - 1);
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kAborted);
  EXPECT_THAT(stale.status().message(),
              HasSubstr(absl::StrCat("is at revision ", revision, ", not the expected revision ",
                                     revision - 1)));

  auto missing = Put(*stub_, MakeResource(ns_, "other", "v1"), 5);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kAborted);
  EXPECT_THAT(missing.status().message(), HasSubstr("does not exist"));

  EXPECT_EQ(PayloadOf(*Get(*stub_, ns_, resource.id())), "v1");
  auto updated = Put(*stub_, MakeResource(ns_, "cas", "v2", resource.id()), revision);
  ASSERT_TRUE(updated.ok()) << updated.status();

  svc::DropResourcesRequest drop;
  drop.set_namespace_(ns_);
  drop.add_resource_ids(resource.id());
  (*drop.mutable_expected_revisions())[resource.id()] = revision;  // stale now
  grpc::ClientContext context;
  svc::DropResourcesResponse response;
  grpc::Status status = stub_->Drop(&context, drop, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_THAT(status.error_message(),
              HasSubstr(absl::StrCat("is at revision ", updated->version().index())));
  EXPECT_TRUE(Get(*stub_, ns_, resource.id()).ok()) << "a failed drop must drop nothing";

  (*drop.mutable_expected_revisions())[resource.id()] = updated->version().index();
  grpc::ClientContext context2;
  ASSERT_TRUE(stub_->Drop(&context2, drop, &response).ok());
  EXPECT_THAT(response.dropped_ids(), ::testing::ElementsAre(resource.id()));
}

svc::ApplyOperation PutOperation(const Resource& resource, std::optional<int64_t> expected = {}) {
  svc::ApplyOperation operation;
  *operation.mutable_put()->mutable_resource() = resource;
  if (expected) operation.mutable_put()->set_expected_revision(*expected);
  return operation;
}

svc::ApplyOperation DropOperation(const std::string& ns, const std::string& id) {
  svc::ApplyOperation operation;
  operation.mutable_drop()->set_namespace_(ns);
  operation.mutable_drop()->add_resource_ids(id);
  return operation;
}

TEST_F(StoreApiTest, ApplyCommitsEverythingUnderOneRevision) {
  Resource doomed = MakeResource(ns_, "doomed");
  ASSERT_TRUE(Put(*stub_, doomed).ok());
  Resource a = MakeResource(ns_, "a"), b = MakeResource(ns_, "b");
  svc::ApplyRequest request;
  *request.add_operations() = PutOperation(a);
  *request.add_operations() = PutOperation(b);
  *request.add_operations() = DropOperation(ns_, doomed.id());
  auto applied = Apply(*stub_, request);
  ASSERT_TRUE(applied.ok()) << applied.status();
  ASSERT_EQ(applied->results_size(), 3);
  EXPECT_GT(applied->revision(), 0);
  EXPECT_TRUE(applied->results(0).put().created());
  EXPECT_EQ(applied->results(0).put().version().index(), applied->revision());
  EXPECT_EQ(applied->results(1).put().version().index(), applied->revision());
  EXPECT_THAT(applied->results(2).drop().dropped_ids(), ::testing::ElementsAre(doomed.id()));
  EXPECT_EQ(Head(), applied->revision());

  auto again = Apply(*stub_, request);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->revision(), 0) << "nothing changed, so no revision";
  EXPECT_TRUE(again->results(0).put().unchanged());
}

TEST_F(StoreApiTest, ApplyWithOneBadItemWritesNothing) {
  Resource existing = MakeResource(ns_, "existing");
  auto put = Put(*stub_, existing);
  ASSERT_TRUE(put.ok());
  int64_t head = Head();

  Resource fresh = MakeResource(ns_, "fresh");
  Resource invalid = MakeResource(ns_, "");
  svc::ApplyRequest bad_item;
  *bad_item.add_operations() = PutOperation(fresh);
  *bad_item.add_operations() = PutOperation(invalid);
  auto rejected = Apply(*stub_, bad_item);
  EXPECT_EQ(rejected.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(rejected.status().message(),
              HasSubstr("operations[1].put.resource.name: must not be empty"));

  Resource other = MakeResource(ns_, "other");
  ASSERT_TRUE(Put(*stub_, other).ok());
  head = Head();
  svc::ApplyRequest conflict;
  *conflict.add_operations() = PutOperation(fresh);
  *conflict.add_operations() = DropOperation(ns_, other.id());
  *conflict.add_operations() =
      PutOperation(MakeResource(ns_, "existing", "v2", existing.id()), put->version().index() - 1);
  auto aborted = Apply(*stub_, conflict);
  EXPECT_EQ(aborted.status().code(), absl::StatusCode::kAborted);
  EXPECT_TRUE(Get(*stub_, ns_, other.id()).ok()) << "the drop in a failed apply must not happen";

  svc::ApplyRequest duplicate;
  *duplicate.add_operations() = PutOperation(fresh);
  *duplicate.add_operations() = DropOperation(ns_, fresh.id());
  auto dup = Apply(*stub_, duplicate);
  EXPECT_EQ(dup.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(dup.status().message(), HasSubstr("operations[1]: resource " + ns_ + "/" + fresh.id() +
                                                " is changed more than once"));

  svc::ApplyRequest empty;
  EXPECT_EQ(Apply(*stub_, empty).status().message(), "operations: must not be empty");
  svc::ApplyRequest unset;
  unset.add_operations();
  EXPECT_EQ(Apply(*stub_, unset).status().message(), "operations[0]: must set put or drop");

  EXPECT_EQ(Head(), head);
  EXPECT_EQ(Get(*stub_, ns_, fresh.id()).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(Get(*stub_, ns_, existing.id()).ok());
}

TEST_F(StoreApiTest, ListPagesStayConsistentWhileWritesGoOn) {
  std::map<std::string, std::string> state;  // id -> payload at the first page's revision
  std::vector<std::string> ids;
  svc::ApplyRequest create;
  for (int i = 0; i < 120; ++i) {
    Resource r = MakeResource(ns_, absl::StrCat("r", i), "original");
    state[r.id()] = "original";
    ids.push_back(r.id());
    *create.add_operations() = PutOperation(r);
  }
  ASSERT_TRUE(Apply(*stub_, create).ok());

  svc::ListResourcesRequest request;
  request.set_namespace_(ns_);
  request.set_page_size(25);
  std::map<std::string, std::string> listed;
  int64_t revision = 0;
  int pages = 0;
  do {
    auto page = List(*stub_, request);
    ASSERT_TRUE(page.ok()) << page.status();
    if (revision == 0) revision = page->revision();
    EXPECT_EQ(page->revision(), revision) << "every page is read at the first page's revision";
    for (const auto& r : page->resources()) {
      EXPECT_TRUE(listed.emplace(r.id(), PayloadOf(r)).second) << "listed twice: " << r.id();
    }
    request.set_page_token(page->next_page_token());
    ++pages;
    // Writes between pages: updates, drops and creations on both sides of the cursor.
    ASSERT_TRUE(Put(*stub_, MakeResource(ns_, "late", "new")).ok());
    ASSERT_TRUE(Put(*stub_, MakeResource(ns_, "r", "changed", ids[pages * 7 % ids.size()])).ok());
    ASSERT_TRUE(Drop(*stub_, ns_, {ids[(pages * 13 + 5) % ids.size()]}).ok());
  } while (!request.page_token().empty());
  EXPECT_EQ(pages, 5);
  EXPECT_EQ(listed, state);

  // A listing at a past revision gives the same answer.
  svc::ListResourcesRequest at;
  at.set_namespace_(ns_);
  at.set_revision(revision);
  at.set_page_size(1000);
  auto past = List(*stub_, at);
  ASSERT_TRUE(past.ok()) << past.status();
  EXPECT_EQ(past->resources_size(), 120);
  EXPECT_EQ(past->revision(), revision);
}

TEST_F(StoreApiTest, ListFiltersByTypeAndNamePrefix) {
  ASSERT_TRUE(Put(*stub_, MakeResource(ns_, "web-1")).ok());
  ASSERT_TRUE(Put(*stub_, MakeResource(ns_, "web-2")).ok());
  ASSERT_TRUE(Put(*stub_, MakeResource(ns_, "db-1")).ok());
  Resource number = MakeResource(ns_, "web-count");
  google::protobuf::Int64Value value;
  value.set_value(7);
  number.mutable_spec()->PackFrom(value);
  ASSERT_TRUE(Put(*stub_, number).ok());

  svc::ListResourcesRequest request;
  request.set_namespace_(ns_);
  request.set_name_prefix("web-");
  auto web = List(*stub_, request);
  ASSERT_TRUE(web.ok());
  EXPECT_EQ(web->resources_size(), 3);
  request.add_type_urls(kStringValueType);
  auto web_strings = List(*stub_, request);
  ASSERT_TRUE(web_strings.ok());
  EXPECT_EQ(web_strings->resources_size(), 2);
  for (const auto& r : web_strings->resources()) EXPECT_EQ(r.spec().type_url(), kStringValueType);
}

TEST_F(StoreApiTest, HistoryListsVersionsNewestFirstAndGetReadsThePast) {
  Resource resource = MakeResource(ns_, "h", "v1");
  std::vector<int64_t> revisions;
  for (const char* payload : {"v1", "v2", "v3"}) {
    auto put = Put(*stub_, MakeResource(ns_, "h", payload, resource.id()));
    ASSERT_TRUE(put.ok());
    revisions.push_back(put->version().index());
  }
  auto dropped = Drop(*stub_, ns_, {resource.id()});
  ASSERT_TRUE(dropped.ok());

  svc::ResourceHistoryRequest request;
  request.set_namespace_(ns_);
  request.set_resource_id(resource.id());
  request.set_page_size(3);
  grpc::ClientContext context;
  svc::ResourceHistoryResponse first;
  ASSERT_TRUE(stub_->History(&context, request, &first).ok());
  ASSERT_EQ(first.changes_size(), 3);
  EXPECT_TRUE(first.changes(0).dropped());
  EXPECT_EQ(first.changes(0).resource().version().index(), dropped->revision());
  EXPECT_EQ(PayloadOf(first.changes(0).resource()), "v3") << "a drop carries the last state";
  EXPECT_EQ(PayloadOf(first.changes(1).resource()), "v3");
  EXPECT_EQ(PayloadOf(first.changes(2).resource()), "v2");
  ASSERT_FALSE(first.next_page_token().empty());
  request.set_page_token(first.next_page_token());
  grpc::ClientContext context2;
  svc::ResourceHistoryResponse second;
  ASSERT_TRUE(stub_->History(&context2, request, &second).ok());
  ASSERT_EQ(second.changes_size(), 1);
  EXPECT_EQ(PayloadOf(second.changes(0).resource()), "v1");
  EXPECT_EQ(second.changes(0).resource().version().index(), revisions[0]);
  EXPECT_TRUE(second.next_page_token().empty());

  auto v2 = Get(*stub_, ns_, resource.id(), revisions[1]);
  ASSERT_TRUE(v2.ok()) << v2.status();
  EXPECT_EQ(PayloadOf(*v2), "v2");
  EXPECT_EQ(v2->version().index(), revisions[1]);
  EXPECT_EQ(Get(*stub_, ns_, resource.id(), dropped->revision()).status().code(),
            absl::StatusCode::kNotFound);
  auto future = Get(*stub_, ns_, resource.id(), dropped->revision() + 1000000);
  EXPECT_EQ(future.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(future.status().message(), HasSubstr("newer than the store's latest revision"));

  svc::ResourceHistoryRequest none;
  none.set_namespace_(ns_);
  none.set_resource_id(NewUuid());
  grpc::ClientContext context3;
  svc::ResourceHistoryResponse empty;
  EXPECT_EQ(stub_->History(&context3, none, &empty).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(StoreApiTest, WatchSendsStateThenEndOfListThenEveryChange) {
  Resource a = MakeResource(ns_, "a", "a1"), b = MakeResource(ns_, "b", "b1");
  ASSERT_TRUE(Put(*stub_, a).ok());
  ASSERT_TRUE(Put(*stub_, b).ok());
  int64_t head = Head();

  svc::WatchResourcesRequest request;
  request.set_namespace_(ns_);
  WatchRecorder watch(store_->channel(), request);
  ASSERT_TRUE(watch.WaitForEndOfList());
  auto responses = watch.responses();
  ASSERT_EQ(responses.size(), 2u) << "one state page, then end_of_list";
  EXPECT_EQ(responses[0].updated_resources_size(), 2);
  EXPECT_EQ(responses[0].revision(), head);
  EXPECT_TRUE(responses[1].end_of_list());
  EXPECT_EQ(responses[1].revision(), head);
  EXPECT_EQ(responses[1].updated_resources_size(), 0);

  auto updated = Put(*stub_, MakeResource(ns_, "a", "a2", a.id()));
  ASSERT_TRUE(updated.ok());
  auto dropped = Drop(*stub_, ns_, {b.id()});
  ASSERT_TRUE(dropped.ok());
  ASSERT_TRUE(Put(*stub_, MakeResource("elsewhere", "noise")).ok());  // another namespace: not seen
  ASSERT_TRUE(watch.WaitForRevision(dropped->revision()));
  responses = watch.responses();
  ASSERT_EQ(responses.size(), 4u);
  EXPECT_EQ(responses[2].revision(), updated->version().index());
  ASSERT_EQ(responses[2].updated_resources_size(), 1);
  EXPECT_EQ(PayloadOf(responses[2].updated_resources(0)), "a2");
  EXPECT_EQ(responses[2].updated_resources(0).version().index(), updated->version().index());
  EXPECT_EQ(responses[3].revision(), dropped->revision());
  ASSERT_EQ(responses[3].dropped_resources_size(), 1);
  EXPECT_EQ(responses[3].dropped_resources(0).id(), b.id());
  EXPECT_EQ(PayloadOf(responses[3].dropped_resources(0)), "b1");
}

TEST_F(StoreApiTest, WatchStateComesInPages) {
  for (int batch = 0; batch < 2; ++batch) {
    svc::ApplyRequest request;
    for (int i = 0; i < 600; ++i) {
      *request.add_operations() = PutOperation(MakeResource(ns_, absl::StrCat("r", batch, "-", i)));
    }
    ASSERT_TRUE(Apply(*stub_, request).ok());
  }
  svc::WatchResourcesRequest request;
  request.set_namespace_(ns_);
  WatchRecorder watch(store_->channel(), request);
  ASSERT_TRUE(watch.WaitForEndOfList());
  auto responses = watch.responses();
  ASSERT_EQ(responses.size(), 4u) << "500 + 500 + 200, then end_of_list";
  std::set<std::string> ids;
  for (const auto& r : responses) {
    for (const auto& resource : r.updated_resources()) ids.insert(resource.id());
  }
  EXPECT_EQ(ids.size(), 1200u);
}

TEST_F(StoreApiTest, WatchResumesAfterARevisionWithoutTheState) {
  ASSERT_TRUE(Put(*stub_, MakeResource(ns_, "before")).ok());
  int64_t from = Head();
  auto one = Put(*stub_, MakeResource(ns_, "one"));
  auto two = Put(*stub_, MakeResource(ns_, "two"));
  ASSERT_TRUE(one.ok() && two.ok());

  svc::WatchResourcesRequest request;
  request.set_namespace_(ns_);
  request.set_resume_after_revision(from);
  WatchRecorder watch(store_->channel(), request);
  ASSERT_TRUE(watch.WaitForEndOfList());
  auto responses = watch.responses();
  ASSERT_EQ(responses.size(), 3u);
  EXPECT_EQ(responses[0].revision(), one->version().index());
  EXPECT_EQ(responses[0].updated_resources(0).name(), "one");
  EXPECT_EQ(responses[1].revision(), two->version().index());
  EXPECT_TRUE(responses[2].end_of_list());
  EXPECT_EQ(responses[2].revision(), two->version().index());

  auto three = Put(*stub_, MakeResource(ns_, "three"));
  ASSERT_TRUE(watch.WaitForRevision(three->version().index()));
  EXPECT_EQ(watch.responses().size(), 4u);

  svc::WatchResourcesRequest future = request;
  future.set_resume_after_revision(three->version().index() + 1000000);
  WatchRecorder too_new(store_->channel(), future);
  auto end = too_new.WaitForEnd();
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->error_code(), grpc::StatusCode::OUT_OF_RANGE);
}

TEST_F(StoreApiTest, WatchFiltersBySpecType) {
  svc::WatchResourcesRequest request;
  request.set_namespace_(ns_);
  request.add_type_urls("type.googleapis.com/google.protobuf.Int64Value");
  WatchRecorder watch(store_->channel(), request);
  ASSERT_TRUE(watch.WaitForEndOfList());
  ASSERT_TRUE(Put(*stub_, MakeResource(ns_, "string")).ok());
  Resource number = MakeResource(ns_, "number");
  google::protobuf::Int64Value value;
  number.mutable_spec()->PackFrom(value);
  auto put = Put(*stub_, number);
  ASSERT_TRUE(put.ok());
  ASSERT_TRUE(watch.WaitForRevision(put->version().index()));
  auto responses = watch.responses();
  ASSERT_EQ(responses.size(), 2u) << "end_of_list, then only the Int64Value change";
  EXPECT_EQ(responses[1].updated_resources(0).name(), "number");
}

TEST_F(StoreApiTest, ServesHealthReflectionAndAdminEndpoints) {
  auto health = grpc::health::v1::Health::NewStub(store_->channel());
  grpc::ClientContext context;
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  ASSERT_TRUE(health->Check(&context, request, &response).ok());
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);

  auto reflection = grpc::reflection::v1alpha::ServerReflection::NewStub(store_->channel());
  grpc::ClientContext reflection_context;
  auto stream = reflection->ServerReflectionInfo(&reflection_context);
  grpc::reflection::v1alpha::ServerReflectionRequest list;
  list.set_list_services("");
  ASSERT_TRUE(stream->Write(list));
  grpc::reflection::v1alpha::ServerReflectionResponse listed;
  ASSERT_TRUE(stream->Read(&listed));
  std::vector<std::string> services;
  for (const auto& s : listed.list_services_response().service()) services.push_back(s.name());
  EXPECT_THAT(services, ::testing::Contains("protomesh.services.v1.ResourceStore"));
  stream->WritesDone();
  reflection_context.TryCancel();

  EXPECT_EQ(store_->AdminGet("/healthz"), std::make_pair(200, std::string("ok")));
  EXPECT_EQ(store_->AdminGet("/readyz").first, 200);
  ASSERT_TRUE(Put(*stub_, MakeResource(ns_, "counted")).ok());
  EXPECT_GE(store_->Metric("protomesh_store_requests_total{method=\"Put\",code=\"OK\"}"), 1);
  auto metrics = store_->AdminGet("/metrics").second;
  EXPECT_THAT(metrics, HasSubstr("# TYPE protomesh_store_request_duration_seconds histogram"));
  EXPECT_THAT(metrics, HasSubstr("protomesh_store_watch_streams"));
  EXPECT_THAT(metrics, HasSubstr("protomesh_store_notification_lag_seconds_bucket"));
}

// protomesh_build_info{version,commit} 1, as `protomesh-store --version`
// says: the project version and the commit it was built from.
TEST_F(StoreApiTest, MetricsNameTheBuildVersionAndCommit) {
  auto version = RunCommand({StoreBinary(), "--version"});
  ASSERT_TRUE(version.ok()) << version.status();
  ASSERT_EQ(version->exit_code, 0) << version->output;
  const std::string prefix = absl::StrCat("protomesh-store ", PROTOMESH_PROJECT_VERSION, " (commit ");
  ASSERT_THAT(version->output, ::testing::StartsWith(prefix));
  const std::string commit = version->output.substr(prefix.size(),
                                                    version->output.find(',') - prefix.size());
  EXPECT_EQ(store_->Metric(absl::StrCat("protomesh_build_info{version=\"", PROTOMESH_PROJECT_VERSION,
                                        "\",commit=\"", commit, "\"}")),
            1)
      << store_->AdminGet("/metrics").second;
}

}  // namespace
}  // namespace protomesh::testing
