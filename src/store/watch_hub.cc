#include "src/store/watch_hub.h"

#include <algorithm>

#include "absl/time/clock.h"

namespace protomesh::store {

std::shared_ptr<const protomesh::services::v1::WatchResourcesResponse> NamespaceChange::Message()
    const {
  std::call_once(message_once_, [this] {
    auto message = std::make_shared<protomesh::services::v1::WatchResourcesResponse>();
    message->set_revision(revision);
    for (const auto& record : records) {
      *(record.dropped ? message->add_dropped_resources() : message->add_updated_resources()) =
          record.resource;
    }
    message_ = std::move(message);
  });
  return message_;
}

WatchHub::WatchHub(int flush_threads) {
  for (int i = 0; i < flush_threads; ++i) flush_threads_.emplace_back([this] { FlushLoop(); });
}

WatchHub::~WatchHub() {
  {
    std::lock_guard lock(flush_mu_);
    flush_stopping_ = true;
  }
  flush_wake_.notify_all();
  for (auto& thread : flush_threads_) thread.join();
}

void WatchHub::FlushLoop() {
  while (true) {
    std::vector<std::shared_ptr<WatchSubscriber>> part;
    {
      std::unique_lock lock(flush_mu_);
      flush_wake_.wait(lock, [&] { return flush_stopping_ || !flush_queue_.empty(); });
      if (flush_queue_.empty()) return;
      part = std::move(flush_queue_.back());
      flush_queue_.pop_back();
    }
    for (const auto& subscriber : part) subscriber->Flush();
  }
}

int64_t WatchHub::Subscribe(const std::string& ns, std::shared_ptr<WatchSubscriber> subscriber) {
  std::lock_guard lock(mu_);
  by_namespace_[ns].push_back(std::move(subscriber));
  return published_revision_;
}

void WatchHub::Unsubscribe(const std::string& ns, const WatchSubscriber* subscriber) {
  std::lock_guard lock(mu_);
  auto it = by_namespace_.find(ns);
  if (it == by_namespace_.end()) return;
  auto& list = it->second;
  list.erase(std::remove_if(list.begin(), list.end(),
                            [&](const auto& s) { return s.get() == subscriber; }),
             list.end());
  if (list.empty()) by_namespace_.erase(it);
  if (by_namespace_.empty()) no_subscribers_.notify_all();
}

bool WatchHub::WaitUntilNoSubscribers(absl::Time deadline) {
  std::unique_lock lock(mu_);
  return no_subscribers_.wait_for(
      lock, absl::ToChronoNanoseconds(std::max(deadline - absl::Now(), absl::ZeroDuration())),
      [&] { return by_namespace_.empty(); });
}

void WatchHub::Publish(int64_t revision, const std::vector<NamespaceChangePtr>& changes) {
  std::vector<std::shared_ptr<WatchSubscriber>> to_flush;
  {
    std::lock_guard lock(mu_);
    for (const auto& change : changes) {
      auto it = by_namespace_.find(change->namespace_);
      if (it == by_namespace_.end()) continue;
      for (const auto& subscriber : it->second) {
        if (subscriber->Enqueue(change)) to_flush.push_back(subscriber);
      }
    }
    published_revision_ = std::max(published_revision_, revision);
  }
  // A subscriber may appear more than once; Flush is idempotent. Each part
  // is flushed in order by one thread; Flush is thread-safe and only starts
  // a write, so parts may go in any order.
  constexpr size_t kParallelFrom = 64;
  if (flush_threads_.empty() || to_flush.size() < kParallelFrom) {
    for (const auto& subscriber : to_flush) subscriber->Flush();
    return;
  }
  const size_t parts = flush_threads_.size() + 1;
  std::vector<std::vector<std::shared_ptr<WatchSubscriber>>> split(parts);
  for (size_t i = 0; i < to_flush.size(); ++i) split[i % parts].push_back(std::move(to_flush[i]));
  {
    std::lock_guard lock(flush_mu_);
    for (size_t p = 1; p < parts; ++p) flush_queue_.push_back(std::move(split[p]));
  }
  flush_wake_.notify_all();
  for (const auto& subscriber : split[0]) subscriber->Flush();
}

int64_t WatchHub::published_revision() const {
  std::lock_guard lock(mu_);
  return published_revision_;
}

size_t WatchHub::subscriber_count() const {
  std::lock_guard lock(mu_);
  size_t count = 0;
  for (const auto& [ns, list] : by_namespace_) count += list.size();
  return count;
}

void WatchHub::CloseAll(const absl::Status& status) {
  std::vector<std::shared_ptr<WatchSubscriber>> all;
  {
    std::lock_guard lock(mu_);
    for (const auto& [ns, list] : by_namespace_) all.insert(all.end(), list.begin(), list.end());
  }
  for (const auto& subscriber : all) subscriber->Close(status);
}

}  // namespace protomesh::store
