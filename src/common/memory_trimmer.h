#pragma once
// Gives memory that a process has freed back to the system. glibc's malloc
// keeps freed memory in its arenas and returns only the free top of each
// heap; after 10 000 xDS streams disconnected, protomesh-xds kept all of
// their 220 MB (bench/RESULTS.md). malloc_trim(0) returns every free page.
//
// What to watch is a load whose decrease frees memory (open streams, say):
// the trimmer reads it every interval and adds up its decreases. Once they
// reach a tenth of the highest load since the last trim (and min_drop), it
// trims as soon as the load has stopped falling for `quiet` (the memory of
// a closed stream is freed a little after it is counted), or after
// `max_wait` if it never does; and `follow_ups` times more, `again_after`
// apart, for what goes after the load (a connection outlives its streams,
// and a client may close its connections well after its streams). A load that
// only grows, or churns less than that, costs a reading of it per interval. (The heap's own figures would
// say what is free, but mallinfo2 walks every free chunk under the arena
// locks: too slow to read often on a large heap.)
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "absl/time/time.h"

namespace protomesh {

// malloc_trim(0): free pages in the middle of the heaps go back too.
void ReleaseFreeMemory();

class MemoryTrimmer {
 public:
  struct Options {
    absl::Duration interval = absl::Milliseconds(100);
    absl::Duration quiet = absl::Milliseconds(500);
    absl::Duration max_wait = absl::Seconds(5);
    absl::Duration again_after = absl::Seconds(2);
    int follow_ups = 3;
    double min_drop = 100;
    double min_drop_fraction = 0.1;  // of the highest load since the last trim
    std::function<void()> trim = ReleaseFreeMemory;
  };

  MemoryTrimmer(std::function<double()> load, Options options);
  ~MemoryTrimmer();  // Stop()
  MemoryTrimmer(const MemoryTrimmer&) = delete;
  MemoryTrimmer& operator=(const MemoryTrimmer&) = delete;

  // Checks every interval on a thread of its own, until Stop(). At most
  // once.
  void Start();
  void Stop();

  // One check at `now`: reads the load and trims if it is time. Returns
  // whether it trimmed. Start()'s thread calls it; tests call it instead of
  // Start().
  bool Check(absl::Time now);

 private:
  const std::function<double()> load_;
  const Options options_;
  double previous_ = 0;  // the load at the last check
  double peak_ = 0;      // the highest load since the last trim
  double dropped_ = 0;   // decreases since the last trim
  absl::Time last_drop_;
  std::optional<absl::Time> due_since_;  // dropped_ is enough since then
  std::optional<absl::Time> again_at_;   // the next follow-up trim
  int follow_ups_left_ = 0;

  std::mutex mu_;  // guards stopping_
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace protomesh
