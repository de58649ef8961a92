#include "src/common/memory_trimmer.h"

#include <malloc.h>

#include <algorithm>

#include "absl/time/clock.h"

namespace protomesh {

void ReleaseFreeMemory() { malloc_trim(0); }

MemoryTrimmer::MemoryTrimmer(std::function<double()> load, Options options)
    : load_(std::move(load)), options_(std::move(options)) {}

MemoryTrimmer::~MemoryTrimmer() { Stop(); }

void MemoryTrimmer::Start() {
  thread_ = std::thread([this] {
    std::unique_lock lock(mu_);
    while (!wake_.wait_for(lock, absl::ToChronoNanoseconds(options_.interval),
                           [this] { return stopping_; })) {
      lock.unlock();
      Check(absl::Now());
      lock.lock();
    }
  });
}

void MemoryTrimmer::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool MemoryTrimmer::Check(absl::Time now) {
  const double load = load_();
  peak_ = std::max(peak_, load);
  if (load < previous_) {
    dropped_ += previous_ - load;
    last_drop_ = now;
  }
  previous_ = load;
  if (dropped_ < std::max(options_.min_drop, options_.min_drop_fraction * peak_)) {
    due_since_.reset();
    if (!again_at_ || now < *again_at_) return false;
    options_.trim();
    if (--follow_ups_left_ > 0) {
      again_at_ = now + options_.again_after;
    } else {
      again_at_.reset();
    }
    return true;
  }
  if (!due_since_) due_since_ = now;
  if (now - last_drop_ < options_.quiet && now - *due_since_ < options_.max_wait) return false;
  options_.trim();
  peak_ = load;
  dropped_ = 0;
  due_since_.reset();
  follow_ups_left_ = options_.follow_ups;
  if (follow_ups_left_ > 0) again_at_ = now + options_.again_after;
  return true;
}

}  // namespace protomesh
