#include "src/client/resource_watcher.h"

#include "spdlog/spdlog.h"
#include "src/common/grpc_status.h"

namespace protomesh::client {

namespace svc = protomesh::services::v1;
using protomesh::types::v1::Resource;

ResourceWatcher::ResourceWatcher(std::shared_ptr<grpc::ChannelInterface> channel,
                                 WatcherOptions options, Handler handler)
    : channel_(std::move(channel)),
      stub_(svc::ResourceStore::NewStub(channel_)),
      options_(std::move(options)),
      handler_(std::move(handler)) {}

ResourceWatcher::~ResourceWatcher() { Stop(); }

void ResourceWatcher::Start() { thread_ = std::thread([this] { Run(); }); }

void ResourceWatcher::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    if (active_context_) active_context_->TryCancel();
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

absl::Status ResourceWatcher::last_error() const {
  std::lock_guard lock(mu_);
  return last_error_;
}

void ResourceWatcher::Deliver(WatchBatch batch) {
  if (batch.kind == WatchBatch::Kind::kSnapshot) {
    known_.clear();
  }
  for (const auto& resource : batch.updated) known_[resource.id()] = resource;
  if (batch.kind == WatchBatch::Kind::kChange) {
    for (const auto& resource : batch.dropped) known_.erase(resource.id());
  }
  revision_ = batch.revision;
  handler_(batch);
}

grpc::Status ResourceWatcher::RunStream(bool& received_any) {
  grpc::ClientContext context;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return grpc::Status::CANCELLED;
    active_context_ = &context;
  }
  // Only the first stream fails fast when the store cannot be reached, so
  // that the reason is logged (and shown by last_error()) once. Later ones
  // wait for the channel to connect and start as soon as the store is back:
  // failing fast, each would end at once while the store is away, and the
  // backoff below would grow to its maximum (seconds), however soon the
  // store returned.
  context.set_wait_for_ready(connections_.load() > 0);
  svc::WatchResourcesRequest request;
  request.set_namespace_(options_.namespace_);
  for (const auto& type_url : options_.type_urls) request.add_type_urls(type_url);
  if (have_snapshot_) request.set_resume_after_revision(revision_.load());
  ++connections_;

  auto reader = stub_->Watch(&context, request);
  std::vector<Resource> state;  // snapshot pages until end_of_list
  svc::WatchResourcesResponse response;
  while (reader->Read(&response)) {
    received_any = true;
    if (!have_snapshot_) {
      for (auto& resource : *response.mutable_updated_resources()) state.push_back(std::move(resource));
      if (!response.end_of_list()) continue;
      WatchBatch batch;
      batch.kind = WatchBatch::Kind::kSnapshot;
      batch.revision = response.revision();
      std::map<std::string, bool> present;
      for (const auto& resource : state) present[resource.id()] = true;
      for (const auto& [id, resource] : known_) {
        if (!present.count(id)) batch.dropped.push_back(resource);
      }
      batch.updated = std::move(state);
      state.clear();
      have_snapshot_ = true;
      Deliver(std::move(batch));
      synced_ = true;
      continue;
    }
    if (response.end_of_list()) {
      synced_ = true;  // caught up after a resume
      continue;
    }
    if (response.revision() <= revision_.load()) {
      spdlog::warn("store watch: ignoring revision {} at or below the last delivered {}",
                   response.revision(), revision_.load());
      continue;
    }
    WatchBatch batch;
    batch.kind = WatchBatch::Kind::kChange;
    batch.revision = response.revision();
    batch.updated.assign(std::make_move_iterator(response.mutable_updated_resources()->begin()),
                         std::make_move_iterator(response.mutable_updated_resources()->end()));
    batch.dropped.assign(std::make_move_iterator(response.mutable_dropped_resources()->begin()),
                         std::make_move_iterator(response.mutable_dropped_resources()->end()));
    Deliver(std::move(batch));
  }
  grpc::Status status = reader->Finish();
  std::lock_guard lock(mu_);
  active_context_ = nullptr;
  return status;
}

void ResourceWatcher::Run() {
  absl::Duration backoff = options_.initial_backoff;
  while (true) {
    bool received_any = false;
    grpc::Status status = RunStream(received_any);
    synced_ = false;
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      last_error_ = FromGrpcStatus(status);
    }
    if (status.error_code() == grpc::StatusCode::OUT_OF_RANGE) {
      spdlog::warn("store watch of namespace {}: {}; listing again", options_.namespace_,
                   status.error_message());
      have_snapshot_ = false;
    } else {
      spdlog::info("store watch of namespace {} ended ({}: {}); resuming after revision {}",
                   options_.namespace_, static_cast<int>(status.error_code()),
                   status.error_message(), revision_.load());
    }
    if (received_any) backoff = options_.initial_backoff;
    std::unique_lock lock(mu_);
    wake_.wait_for(lock, absl::ToChronoMilliseconds(backoff), [&] { return stopping_; });
    if (stopping_) return;
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

}  // namespace protomesh::client
