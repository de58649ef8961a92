#include "src/store/store_service.h"

#include <chrono>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "src/common/grpc_status.h"
#include "src/store/content_hash.h"
#include "src/store/page_token.h"
#include "src/store/store_reader.h"

namespace protomesh::store {
namespace {

namespace svc = protomesh::services::v1;

constexpr int32_t kDefaultListPageSize = 500;
constexpr int32_t kMaxListPageSize = 5000;
constexpr int32_t kDefaultHistoryPageSize = 100;
constexpr int32_t kMaxHistoryPageSize = 1000;

// Finishes one unary RPC and records its code and latency.
class UnaryCall {
 public:
  UnaryCall(grpc::CallbackServerContext* context, const char* method, StoreMetrics* metrics,
            StoreService::InFlight* in_flight)
      : reactor_(context->DefaultReactor()),
        method_(method),
        metrics_(metrics),
        in_flight_(in_flight),
        started_(std::chrono::steady_clock::now()),
        admitted_(in_flight->Enter()) {}

  // False when the store is shutting down; Finish() has then been called.
  bool admitted() const {
    if (!admitted_) {
      Finish(absl::UnavailableError("the store is shutting down; retry on another replica"));
    }
    return admitted_;
  }

  grpc::ServerUnaryReactor* Finish(const absl::Status& status) const {
    metrics_->requests.WithLabels({method_, absl::StatusCodeToString(status.code())}).Increment();
    metrics_->request_seconds.WithLabels({method_}).Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count());
    reactor_->Finish(ToGrpcStatus(status));
    if (admitted_) in_flight_->Leave();
    return reactor_;
  }
  grpc::ServerUnaryReactor* reactor() const { return reactor_; }

 private:
  grpc::ServerUnaryReactor* reactor_;
  const char* method_;
  StoreMetrics* metrics_;
  StoreService::InFlight* in_flight_;
  std::chrono::steady_clock::time_point started_;
  bool admitted_;
};

class FailedWatch : public grpc::ServerWriteReactor<svc::WatchResourcesResponse> {
 public:
  explicit FailedWatch(const absl::Status& status) { Finish(ToGrpcStatus(status)); }
  void OnDone() override { delete this; }
};

absl::StatusOr<PutOp> BuildPut(const svc::PutResourceRequest& request, const Limits& limits,
                               const std::string& field) {
  if (!request.has_resource()) {
    return absl::InvalidArgumentError(absl::StrCat(field, "resource: must be set"));
  }
  PutOp put;
  put.resource = request.resource();
  put.resource.clear_version();
  if (auto s = ValidateResourceForWrite(put.resource, limits, absl::StrCat(field, "resource"));
      !s.ok()) {
    return s;
  }
  if (request.has_expected_revision()) {
    if (request.expected_revision() < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, "expected_revision: must be 0 (create only) or the revision the resource is "
                 "at; got ",
          request.expected_revision()));
    }
    put.expected_revision = request.expected_revision();
  }
  put.content_hash = ContentHash(put.resource);
  return put;
}

absl::StatusOr<DropOp> BuildDrop(const svc::DropResourcesRequest& request, size_t max_ids,
                                 const std::string& field) {
  DropOp drop;
  drop.namespace_ = request.namespace_();
  if (auto s = ValidateNamespace(drop.namespace_, absl::StrCat(field, "namespace")); !s.ok()) {
    return s;
  }
  if (static_cast<size_t>(request.resource_ids_size()) > max_ids) {
    return absl::InvalidArgumentError(absl::StrCat(field, "resource_ids: at most ", max_ids,
                                                   " ids per drop; got ",
                                                   request.resource_ids_size()));
  }
  std::set<std::string> seen;
  for (int i = 0; i < request.resource_ids_size(); ++i) {
    auto id = NormalizeId(request.resource_ids(i), absl::StrCat(field, "resource_ids[", i, "]"));
    if (!id.ok()) return id.status();
    if (seen.insert(*id).second) drop.ids.push_back(*id);
  }
  for (const auto& [raw_id, revision] : request.expected_revisions()) {
    auto id = NormalizeId(raw_id, absl::StrCat(field, "expected_revisions key"));
    if (!id.ok()) return id.status();
    if (!seen.count(*id)) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, "expected_revisions: id ", raw_id, " is not one of resource_ids"));
    }
    if (revision <= 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, "expected_revisions[", raw_id, "]: must be the revision the resource is at (> 0); got ",
          revision));
    }
    drop.expected_revisions[*id] = revision;
  }
  return drop;
}

void FillPutResponse(const PutOutcome& outcome, svc::PutResourceResponse* response) {
  *response->mutable_version() = outcome.version;
  response->set_created(outcome.created);
  response->set_unchanged(outcome.unchanged);
}

void FillDropResponse(const DropOutcome& outcome, int64_t revision,
                      svc::DropResourcesResponse* response) {
  for (const auto& id : outcome.dropped_ids) response->add_dropped_ids(id);
  response->set_revision(outcome.dropped_ids.empty() ? 0 : revision);
}

absl::Status ValidateTypeUrls(const google::protobuf::RepeatedPtrField<std::string>& type_urls,
                              absl::string_view field) {
  for (int i = 0; i < type_urls.size(); ++i) {
    if (type_urls[i].empty()) {
      return absl::InvalidArgumentError(absl::StrCat(field, "[", i, "]: must not be empty"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

StoreService::StoreService(ServiceOptions options, WriteBatcher* batcher, DbExecutor* executor,
                           WatchHub* hub, StoreMetrics* metrics)
    : options_(std::move(options)),
      batcher_(batcher),
      executor_(executor),
      hub_(hub),
      metrics_(metrics) {}

grpc::ServerUnaryReactor* StoreService::Put(grpc::CallbackServerContext* context,
                                            const svc::PutResourceRequest* request,
                                            svc::PutResourceResponse* response) {
  UnaryCall call(context, "Put", metrics_, &in_flight_);
  if (!call.admitted()) return call.reactor();
  auto put = BuildPut(*request, options_.limits, "");
  if (!put.ok()) return call.Finish(put.status());
  Mutation mutation;
  mutation.operations.emplace_back(*std::move(put));
  batcher_->Submit(std::move(mutation), [call, response](absl::StatusOr<MutationResult> result) {
    if (result.ok()) FillPutResponse(std::get<PutOutcome>(result->outcomes[0]), response);
    call.Finish(result.status());
  });
  return call.reactor();
}

grpc::ServerUnaryReactor* StoreService::Drop(grpc::CallbackServerContext* context,
                                             const svc::DropResourcesRequest* request,
                                             svc::DropResourcesResponse* response) {
  UnaryCall call(context, "Drop", metrics_, &in_flight_);
  if (!call.admitted()) return call.reactor();
  auto drop = BuildDrop(*request, options_.max_drop_ids, "");
  if (!drop.ok()) return call.Finish(drop.status());
  if (drop->ids.empty()) return call.Finish(absl::OkStatus());
  Mutation mutation;
  mutation.operations.emplace_back(*std::move(drop));
  batcher_->Submit(std::move(mutation), [call, response](absl::StatusOr<MutationResult> result) {
    if (result.ok()) {
      FillDropResponse(std::get<DropOutcome>(result->outcomes[0]), result->revision, response);
    }
    call.Finish(result.status());
  });
  return call.reactor();
}

grpc::ServerUnaryReactor* StoreService::Apply(grpc::CallbackServerContext* context,
                                              const svc::ApplyRequest* request,
                                              svc::ApplyResponse* response) {
  UnaryCall call(context, "Apply", metrics_, &in_flight_);
  if (!call.admitted()) return call.reactor();
  if (request->operations().empty()) {
    return call.Finish(absl::InvalidArgumentError("operations: must not be empty"));
  }
  if (static_cast<size_t>(request->operations_size()) > options_.max_apply_operations) {
    return call.Finish(absl::InvalidArgumentError(
        absl::StrCat("operations: at most ", options_.max_apply_operations,
                     " operations per apply; got ", request->operations_size())));
  }
  Mutation mutation;
  std::set<std::pair<std::string, std::string>> keys;
  auto claim = [&](const std::string& field, const std::string& ns,
                   const std::string& id) -> absl::Status {
    if (keys.emplace(ns, id).second) return absl::OkStatus();
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": resource ", ns, "/", id,
                     " is changed more than once in this apply; change each resource once"));
  };
  for (int i = 0; i < request->operations_size(); ++i) {
    const auto& operation = request->operations(i);
    std::string field = absl::StrCat("operations[", i, "]");
    if (operation.has_put()) {
      auto put = BuildPut(operation.put(), options_.limits, field + ".put.");
      if (!put.ok()) return call.Finish(put.status());
      if (auto s = claim(field, put->resource.namespace_(), put->resource.id()); !s.ok()) {
        return call.Finish(s);
      }
      mutation.operations.emplace_back(*std::move(put));
    } else if (operation.has_drop()) {
      auto drop = BuildDrop(operation.drop(), options_.max_drop_ids, field + ".drop.");
      if (!drop.ok()) return call.Finish(drop.status());
      for (const auto& id : drop->ids) {
        if (auto s = claim(field, drop->namespace_, id); !s.ok()) return call.Finish(s);
      }
      mutation.operations.emplace_back(*std::move(drop));
    } else {
      return call.Finish(absl::InvalidArgumentError(absl::StrCat(field, ": must set put or drop")));
    }
  }
  batcher_->Submit(std::move(mutation), [call, response](absl::StatusOr<MutationResult> result) {
    if (result.ok()) {
      response->set_revision(result->revision);
      for (const auto& outcome : result->outcomes) {
        auto* out = response->add_results();
        if (const auto* put = std::get_if<PutOutcome>(&outcome)) {
          FillPutResponse(*put, out->mutable_put());
        } else {
          FillDropResponse(std::get<DropOutcome>(outcome), result->revision, out->mutable_drop());
        }
      }
    }
    call.Finish(result.status());
  });
  return call.reactor();
}

grpc::ServerUnaryReactor* StoreService::Get(grpc::CallbackServerContext* context,
                                            const svc::GetResourceRequest* request,
                                            svc::GetResourceResponse* response) {
  UnaryCall call(context, "Get", metrics_, &in_flight_);
  if (!call.admitted()) return call.reactor();
  if (auto s = ValidateNamespace(request->namespace_(), "namespace"); !s.ok()) return call.Finish(s);
  auto id = NormalizeId(request->resource_id(), "resource_id");
  if (!id.ok()) return call.Finish(id.status());
  if (request->revision() < 0) {
    return call.Finish(absl::InvalidArgumentError(absl::StrCat(
        "revision: must be 0 (latest) or a revision > 0; got ", request->revision())));
  }
  executor_->Submit(
      [ns = request->namespace_(), id = *id, revision = request->revision(),
       response](pqxx::connection& connection) {
        auto resource = ReadResource(connection, ns, id, revision);
        if (!resource.ok()) return resource.status();
        *response->mutable_resource() = *std::move(resource);
        return absl::OkStatus();
      },
      [call](absl::Status status) { call.Finish(status); });
  return call.reactor();
}

grpc::ServerUnaryReactor* StoreService::List(grpc::CallbackServerContext* context,
                                             const svc::ListResourcesRequest* request,
                                             svc::ListResourcesResponse* response) {
  UnaryCall call(context, "List", metrics_, &in_flight_);
  if (!call.admitted()) return call.reactor();
  if (auto s = ValidateNamespace(request->namespace_(), "namespace"); !s.ok()) return call.Finish(s);
  if (auto s = ValidateTypeUrls(request->type_urls(), "type_urls"); !s.ok()) return call.Finish(s);
  if (request->page_size() < 0 || request->revision() < 0) {
    return call.Finish(absl::InvalidArgumentError(
        request->page_size() < 0 ? "page_size: must not be negative"
                                 : "revision: must be 0 (latest) or a revision > 0"));
  }
  ListQuery query;
  query.namespace_ = request->namespace_();
  query.type_urls.assign(request->type_urls().begin(), request->type_urls().end());
  query.name_prefix = request->name_prefix();
  query.revision = request->revision();
  int32_t page_size = request->page_size() == 0 ? kDefaultListPageSize : request->page_size();
  query.limit = static_cast<size_t>(std::min(page_size, kMaxListPageSize));
  std::string fingerprint = absl::StrCat(query.namespace_, "\n", absl::StrJoin(query.type_urls, ","),
                                         "\n", query.name_prefix);
  if (!request->page_token().empty()) {
    auto cursor = DecodePageToken(request->page_token(), fingerprint);
    if (!cursor.ok()) return call.Finish(cursor.status());
    if (query.revision != 0 && query.revision != cursor->revision) {
      return call.Finish(absl::InvalidArgumentError(
          "revision: must be 0 or the revision of the first page when a page_token is given"));
    }
    query.revision = cursor->revision;
    query.after_id = cursor->after;
  }
  executor_->Submit(
      [query, fingerprint, response](pqxx::connection& connection) {
        auto page = ReadList(connection, query);
        if (!page.ok()) return page.status();
        response->set_revision(page->revision);
        for (auto& resource : page->resources) *response->add_resources() = std::move(resource);
        if (page->more) {
          response->set_next_page_token(EncodePageToken(
              {page->revision, response->resources().rbegin()->id()}, fingerprint));
        }
        return absl::OkStatus();
      },
      [call](absl::Status status) { call.Finish(status); });
  return call.reactor();
}

grpc::ServerUnaryReactor* StoreService::History(grpc::CallbackServerContext* context,
                                                const svc::ResourceHistoryRequest* request,
                                                svc::ResourceHistoryResponse* response) {
  UnaryCall call(context, "History", metrics_, &in_flight_);
  if (!call.admitted()) return call.reactor();
  if (auto s = ValidateNamespace(request->namespace_(), "namespace"); !s.ok()) return call.Finish(s);
  auto id = NormalizeId(request->resource_id(), "resource_id");
  if (!id.ok()) return call.Finish(id.status());
  if (request->page_size() < 0) {
    return call.Finish(absl::InvalidArgumentError("page_size: must not be negative"));
  }
  int32_t page_size = request->page_size() == 0 ? kDefaultHistoryPageSize : request->page_size();
  size_t limit = static_cast<size_t>(std::min(page_size, kMaxHistoryPageSize));
  std::string fingerprint = absl::StrCat(request->namespace_(), "\n", *id);
  int64_t before = 0;
  if (!request->page_token().empty()) {
    auto cursor = DecodePageToken(request->page_token(), fingerprint);
    if (!cursor.ok()) return call.Finish(cursor.status());
    before = cursor->revision;
  }
  executor_->Submit(
      [ns = request->namespace_(), id = *id, before, limit, fingerprint,
       response](pqxx::connection& connection) {
        auto changes = ReadHistory(connection, ns, id, before, limit + 1);
        if (!changes.ok()) return changes.status();
        if (changes->empty() && before == 0) {
          return absl::NotFoundError(absl::StrCat("no history for resource ", id, " in namespace ",
                                                  ns, ": it never existed, or its changes were "
                                                      "compacted after it was dropped"));
        }
        bool more = changes->size() > limit;
        if (more) changes->pop_back();
        for (auto& change : *changes) {
          auto* out = response->add_changes();
          *out->mutable_resource() = std::move(change.resource);
          out->set_dropped(change.dropped);
        }
        if (more) {
          response->set_next_page_token(
              EncodePageToken({changes->back().revision, ""}, fingerprint));
        }
        return absl::OkStatus();
      },
      [call](absl::Status status) { call.Finish(status); });
  return call.reactor();
}

bool StoreService::InFlight::Enter() {
  std::lock_guard lock(mu_);
  if (draining_) return false;
  ++count_;
  return true;
}

void StoreService::InFlight::Leave() {
  std::lock_guard lock(mu_);
  if (--count_ == 0) idle_.notify_all();
}

void StoreService::InFlight::Drain(absl::Time deadline) {
  std::unique_lock lock(mu_);
  draining_ = true;
  idle_.wait_for(lock, absl::ToChronoNanoseconds(std::max(deadline - absl::Now(), absl::ZeroDuration())),
                 [&] { return count_ == 0; });
}

void StoreService::Drain(absl::Time deadline) {
  in_flight_.Drain(deadline);
}

grpc::ServerWriteReactor<svc::WatchResourcesResponse>* StoreService::Watch(
    grpc::CallbackServerContext* context, const svc::WatchResourcesRequest* request) {
  absl::Status status = ValidateNamespace(request->namespace_(), "namespace");
  if (!in_flight_.Enter()) {
    status = absl::UnavailableError("the store is shutting down; watch another replica");
  } else {
    in_flight_.Leave();  // a watch only counts while it is being set up
  }
  if (status.ok()) status = ValidateTypeUrls(request->type_urls(), "type_urls");
  if (status.ok() && request->has_resume_after_revision() && request->resume_after_revision() < 0) {
    status = absl::InvalidArgumentError("resume_after_revision: must not be negative");
  }
  if (!status.ok()) {
    metrics_->requests.WithLabels({"Watch", absl::StatusCodeToString(status.code())}).Increment();
    return new FailedWatch(status);
  }
  return StartWatch(context, *request, options_.watch, hub_, executor_, metrics_);
}

}  // namespace protomesh::store
