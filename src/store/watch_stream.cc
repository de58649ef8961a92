#include "src/store/watch_stream.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"
#include "src/common/grpc_status.h"
#include "src/store/store_reader.h"

namespace protomesh::store {
namespace {

using protomesh::services::v1::WatchResourcesRequest;
using protomesh::services::v1::WatchResourcesResponse;
using Response = WatchResourcesResponse;

class WatchReactor;

// A queue that allocates nothing until something is queued (std::deque
// allocates a 512-byte block up front: a kilobyte per idle watch for two).
template <typename T>
class Fifo {
 public:
  bool empty() const { return head_ == items_.size(); }
  size_t size() const { return items_.size() - head_; }
  T& front() { return items_[head_]; }
  void push_back(T item) { items_.push_back(std::move(item)); }
  void pop_front() {
    items_[head_++] = T();
    if (head_ == items_.size()) clear();
  }
  void clear() {
    items_.clear();
    head_ = 0;
  }

 private:
  std::vector<T> items_;
  size_t head_ = 0;
};

using Pages = std::vector<std::unique_ptr<Response>>;

// The part of a watch the hub and the database task hold; it outlives the
// reactor, which gRPC deletes after OnDone.
class WatchSession : public WatchSubscriber, public std::enable_shared_from_this<WatchSession> {
 public:
  WatchSession(const WatchResourcesRequest& request, const WatchOptions& options,
               WatchReactor* reactor)
      : namespace_(request.namespace_()),
        type_urls_(request.type_urls().begin(), request.type_urls().end()),
        options_(options),
        reactor_(reactor),
        resumable_(request.has_resume_after_revision()) {}

  const std::string& ns() const { return namespace_; }

  // The initial part is queued: live changes above `covered` follow it.
  // The initial part read (`pages`, covering every revision up to
  // `covered`) is complete: end_of_list follows it.
  void FinishInitial(Pages pages, int64_t covered) {
    auto end = std::make_unique<Response>();
    end->set_end_of_list(true);
    end->set_revision(covered);
    pages.push_back(std::move(end));
    {
      std::lock_guard lock(mu_);
      for (auto& page : pages) initial_.push_back(std::move(page));
      covered_revision_ = covered;
      live_started_ = true;
      while (!live_.empty() && live_.front()->revision <= covered) PopLiveLocked();
    }
    Flush();
  }

  void Fail(const absl::Status& status) { EndWith(ToGrpcStatus(status)); }

  bool Enqueue(const NamespaceChangePtr& change) override {
    std::lock_guard lock(mu_);
    if (!reactor_ || finishing_) return false;
    if (live_started_ && change->revision <= covered_revision_) return false;
    live_.push_back(change);
    live_bytes_ += change->bytes;
    if (live_.size() > options_.max_pending_changes || live_bytes_ > options_.max_pending_bytes) {
      CutOffLocked();
    }
    return true;
  }

  void Flush() override;
  void Close(const absl::Status& status) override { EndWith(ToGrpcStatus(status)); }

  void OnWriteDone(bool ok) {
    {
      std::lock_guard lock(mu_);
      in_flight_.reset();
      if (!ok && !finishing_) finishing_ = grpc::Status(grpc::StatusCode::CANCELLED, "stream closed");
    }
    Flush();
  }

  void OnCancel() { EndWith(grpc::Status(grpc::StatusCode::CANCELLED, "watch cancelled")); }

  void Detach() {
    std::lock_guard lock(mu_);
    reactor_ = nullptr;
  }

  bool cut_off() const { return cut_off_; }

 private:
  void EndWith(grpc::Status status) {
    {
      std::lock_guard lock(mu_);
      if (!finishing_) finishing_ = std::move(status);
      live_.clear();
      live_bytes_ = 0;
      initial_.clear();
    }
    Flush();
  }

  void PopLiveLocked() {
    live_bytes_ -= live_.front()->bytes;
    live_.pop_front();
  }

  void CutOffLocked() {
    cut_off_ = true;
    std::string resume =
        last_sent_revision_ > 0
            ? absl::StrCat("watch again with resume_after_revision=", last_sent_revision_)
            : std::string("watch again from the start");
    finishing_ = grpc::Status(
        grpc::StatusCode::RESOURCE_EXHAUSTED,
        absl::StrCat("the watch fell too far behind: more than ", options_.max_pending_changes,
                     " changes or ", options_.max_pending_bytes,
                     " bytes were waiting to be sent; ", resume));
    live_.clear();
    live_bytes_ = 0;
    initial_.clear();
  }

  // The next message to send, if any.
  std::shared_ptr<const Response> NextLocked() {
    if (!initial_.empty()) {
      std::shared_ptr<const Response> next = std::move(initial_.front());
      initial_.pop_front();
      return next;
    }
    if (!live_started_) return nullptr;
    while (!live_.empty()) {
      NamespaceChangePtr change = live_.front();
      PopLiveLocked();
      // Every change has a record, so the shared message is never empty.
      if (type_urls_.empty()) return change->Message();
      auto response = std::make_shared<Response>();
      response->set_revision(change->revision);
      for (const auto& record : change->records) {
        if (!type_urls_.empty() && !type_urls_.count(record.resource.spec().type_url())) continue;
        *(record.dropped ? response->add_dropped_resources() : response->add_updated_resources()) =
            record.resource;
      }
      if (response->updated_resources_size() + response->dropped_resources_size() > 0) {
        return response;
      }
    }
    return nullptr;
  }

  const std::string namespace_;
  const std::set<std::string> type_urls_;
  const WatchOptions options_;

  std::mutex mu_;  // guards everything below
  WatchReactor* reactor_;  // null once gRPC is done with the stream
  Fifo<std::unique_ptr<Response>> initial_;
  bool live_started_ = false;
  int64_t covered_revision_ = 0;
  Fifo<NamespaceChangePtr> live_;
  size_t live_bytes_ = 0;
  std::shared_ptr<const Response> in_flight_;  // may be shared with other watches
  int64_t last_sent_revision_ = 0;
  bool resumable_;
  std::optional<grpc::Status> finishing_;
  bool finish_called_ = false;
  bool cut_off_ = false;
};

class WatchReactor : public grpc::ServerWriteReactor<Response> {
 public:
  WatchReactor(const WatchResourcesRequest& request, const WatchOptions& options, WatchHub* hub,
               StoreMetrics* metrics)
      : session_(std::make_shared<WatchSession>(request, options, this)),
        hub_(hub),
        metrics_(metrics) {
    metrics_->watch_streams.Add(1);
  }

  std::shared_ptr<WatchSession> session() const { return session_; }

  void OnWriteDone(bool ok) override { session_->OnWriteDone(ok); }
  void OnCancel() override { session_->OnCancel(); }
  void OnDone() override {
    spdlog::debug("watch of namespace {} done", session_->ns());
    session_->Detach();
    hub_->Unsubscribe(session_->ns(), session_.get());
    metrics_->watch_streams.Add(-1);
    if (session_->cut_off()) metrics_->watch_cutoffs.Increment();
    delete this;
  }

  void FinishWith(const grpc::Status& status) {
    spdlog::debug("watch of namespace {} finishing: {}", session_->ns(), status.error_message());
    metrics_->requests
        .WithLabels({"Watch", absl::StatusCodeToString(
                                  static_cast<absl::StatusCode>(status.error_code()))})
        .Increment();
    Finish(status);
  }

 private:
  std::shared_ptr<WatchSession> session_;
  WatchHub* const hub_;
  StoreMetrics* const metrics_;
};

void WatchSession::Flush() {
  WatchReactor* reactor = nullptr;
  const Response* to_write = nullptr;
  std::optional<grpc::Status> to_finish;
  {
    std::lock_guard lock(mu_);
    if (!reactor_ || in_flight_ || finish_called_) return;
    if (!finishing_) in_flight_ = NextLocked();
    if (in_flight_) {
      // State pages before end_of_list are not a point a client can resume
      // from; replayed and live changes, and end_of_list itself, are.
      if (in_flight_->end_of_list()) resumable_ = true;
      if (resumable_) last_sent_revision_ = in_flight_->revision();
      to_write = in_flight_.get();
    } else if (finishing_) {
      finish_called_ = true;
      to_finish = finishing_;
    } else {
      return;
    }
    reactor = reactor_;
  }
  // Outside the lock: gRPC may run OnWriteDone/OnDone inline.
  if (to_write) {
    reactor->StartWrite(to_write);
  } else {
    reactor->FinishWith(*to_finish);
  }
}

// The state of the namespace as pages, then end_of_list.
absl::Status ReadSnapshot(pqxx::connection& connection, const WatchResourcesRequest& request,
                          const WatchOptions& options,
                          Pages& pages, int64_t& covered) {
  ListQuery query;
  query.namespace_ = request.namespace_();
  query.type_urls.assign(request.type_urls().begin(), request.type_urls().end());
  auto state = ReadList(connection, query);
  if (!state.ok()) return state.status();
  covered = state->revision;
  std::unique_ptr<Response> page;
  size_t page_bytes = 0;
  for (auto& resource : state->resources) {
    if (!page) {
      page = std::make_unique<Response>();
      page->set_revision(covered);
      page_bytes = 0;
    }
    page_bytes += resource.ByteSizeLong();
    *page->add_updated_resources() = std::move(resource);
    if (static_cast<size_t>(page->updated_resources_size()) >= options.page_resources ||
        page_bytes >= options.page_bytes) {
      pages.push_back(std::move(page));
    }
  }
  if (page) pages.push_back(std::move(page));
  return absl::OkStatus();
}

// Every change of the namespace after the resume revision up to the head of
// the change log, one message per revision; `covered` is that head.
absl::Status ReadReplay(pqxx::connection& connection, const WatchResourcesRequest& request,
                        const WatchOptions& options,
                        Pages& pages, int64_t& covered) {
  std::set<std::string> types(request.type_urls().begin(), request.type_urls().end());
  int64_t after = request.resume_after_revision();
  // Runs at least once, so that a revision the log cannot serve (compacted,
  // or beyond the head) fails with OUT_OF_RANGE even when nothing is replayed.
  while (true) {
    auto read = ReadChanges(connection, request.namespace_(), after,
                            after + options.revisions_per_read);
    if (!read.ok()) return read.status();
    for (auto& change : read->changes) {
      if (!types.empty() && !types.count(change.resource.spec().type_url())) continue;
      if (pages.empty() || pages.back()->revision() != change.revision) {
        pages.push_back(std::make_unique<Response>());
        pages.back()->set_revision(change.revision);
      }
      *(change.dropped ? pages.back()->add_dropped_resources()
                       : pages.back()->add_updated_resources()) = std::move(change.resource);
    }
    after = std::min(after + options.revisions_per_read, read->head_revision);
    if (after >= read->head_revision) break;
  }
  covered = std::max(after, request.resume_after_revision());
  return absl::OkStatus();
}

}  // namespace

grpc::ServerWriteReactor<WatchResourcesResponse>* StartWatch(
    grpc::CallbackServerContext* context, const WatchResourcesRequest& request,
    const WatchOptions& options, WatchHub* hub, DbExecutor* executor, StoreMetrics* metrics) {
  auto* reactor = new WatchReactor(request, options, hub, metrics);
  std::shared_ptr<WatchSession> session = reactor->session();
  hub->Subscribe(request.namespace_(), session);

  // What the initial read found; it lives only while the read goes on.
  struct Initial {
    Pages pages;
    int64_t covered = 0;
  };
  auto initial = std::make_shared<Initial>();
  executor->Submit(
      [request, options, initial](pqxx::connection& connection) {
        initial->pages.clear();
        // Both reads go to the head of the database, which may be ahead of
        // what this replica's feed has published: the subscription above
        // delivers everything the feed publishes from now on, and whatever
        // the read already covered is skipped there.
        if (request.has_resume_after_revision()) {
          return ReadReplay(connection, request, options, initial->pages, initial->covered);
        }
        return ReadSnapshot(connection, request, options, initial->pages, initial->covered);
      },
      [session, initial](absl::Status status) {
        if (!status.ok()) {
          session->Fail(status);
          return;
        }
        session->FinishInitial(std::move(initial->pages), initial->covered);
      });
  return reactor;
}

grpc::ServerWriteReactor<WatchResourcesResponse>* StartWatchOfPublishedChanges(
    const WatchResourcesRequest& request, const WatchOptions& options, WatchHub* hub,
    StoreMetrics* metrics) {
  auto* reactor = new WatchReactor(request, options, hub, metrics);
  std::shared_ptr<WatchSession> session = reactor->session();
  const int64_t published = hub->Subscribe(request.namespace_(), session);
  session->FinishInitial({}, published);
  return reactor;
}

}  // namespace protomesh::store
