#include "src/common/memory_trimmer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <vector>

#include "absl/synchronization/notification.h"

namespace protomesh {
namespace {

// A trimmer over a load the test sets, checked every 100 ms of a clock the
// test drives, counting its trims. Defaults: trims after a drop of 100 or a
// tenth of the peak, once the load has not fallen for 500 ms, or after 5 s.
struct Fixture {
  Fixture() : trimmer([this] { return load; }, Options(this)) {}

  static MemoryTrimmer::Options Options(Fixture* fixture) {
    MemoryTrimmer::Options options;
    options.trim = [fixture] { ++fixture->trims; };
    return options;
  }

  // Checks once at each load in turn, 100 ms apart; which checks trimmed.
  std::vector<bool> Run(const std::vector<double>& loads) {
    std::vector<bool> trimmed;
    for (double l : loads) {
      load = l;
      now += absl::Milliseconds(100);
      trimmed.push_back(trimmer.Check(now));
    }
    return trimmed;
  }
  // Which check trimmed, -1 for none.
  int TrimmedAt(const std::vector<double>& loads) {
    std::vector<bool> trimmed = Run(loads);
    auto it = std::find(trimmed.begin(), trimmed.end(), true);
    if (std::count(trimmed.begin(), trimmed.end(), true) > 1) return -2;
    return it == trimmed.end() ? -1 : static_cast<int>(it - trimmed.begin());
  }

  double load = 0;
  absl::Time now = absl::UnixEpoch();
  int trims = 0;
  MemoryTrimmer trimmer;
};

std::vector<double> Repeat(double load, int times) { return std::vector<double>(times, load); }

TEST(MemoryTrimmerTest, GrowingOrSteadyLoadNeverTrims) {
  Fixture f;
  EXPECT_EQ(f.TrimmedAt({0, 10, 500, 1000, 1000, 5000, 10000}), -1);
  EXPECT_EQ(f.TrimmedAt(Repeat(10000, 100)), -1);
}

TEST(MemoryTrimmerTest, SmallChurnNeverTrims) {
  Fixture f;
  f.Run({1000});
  // Up and down by 10 at a time: 90 dropped in all, under 100.
  for (int i = 0; i < 9; ++i) EXPECT_EQ(f.TrimmedAt({990, 1000}), -1);
  EXPECT_EQ(f.TrimmedAt(Repeat(1000, 60)), -1);
  EXPECT_EQ(f.trims, 0);
}

TEST(MemoryTrimmerTest, TrimsOnceTheLoadHasStoppedFalling) {
  Fixture f;
  f.Run({1000});
  // Draining over three checks, then quiet: the fifth check after the last
  // drop is 500 ms after it.
  EXPECT_EQ(f.TrimmedAt({700, 300, 0, 0, 0, 0, 0, 0, 0, 0}), 7);
  // Three more, 2 s (20 checks) apart, then never.
  EXPECT_EQ(f.TrimmedAt(Repeat(0, 20)), 17);
  EXPECT_EQ(f.TrimmedAt(Repeat(0, 20)), 17);
  EXPECT_EQ(f.TrimmedAt(Repeat(0, 20)), 17);
  EXPECT_EQ(f.TrimmedAt(Repeat(0, 100)), -1);
}

TEST(MemoryTrimmerTest, ATenthOfThePeakCounts) {
  Fixture f;
  f.Run({10000});
  // 500 is under a tenth of 10 000.
  EXPECT_EQ(f.TrimmedAt(Repeat(9500, 20)), -1);
  EXPECT_EQ(f.TrimmedAt(Repeat(9000, 20)), 5);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(f.TrimmedAt(Repeat(9000, 20)), 5);  // the follow-ups
  // The peak is now 9000: another 900 makes a trim.
  EXPECT_EQ(f.TrimmedAt(Repeat(8200, 20)), -1);
  EXPECT_EQ(f.TrimmedAt(Repeat(8100, 20)), 5);
}

TEST(MemoryTrimmerTest, ClosesAddUpAcrossReconnects) {
  Fixture f;
  f.Run({1000});
  // 60 leave and come back, twice: 120 freed and reused; the trim comes
  // 500 ms after the last fall.
  EXPECT_EQ(f.TrimmedAt({940, 1000, 940, 1000, 1000, 1000, 1000, 1000, 1000}), 7);
}

TEST(MemoryTrimmerTest, ALoadThatKeepsFallingIsTrimmedAfterMaxWait) {
  Fixture f;
  f.Run({100000});
  std::vector<double> falling;
  for (int i = 1; i <= 100; ++i) falling.push_back(100000 - 1000 * i);
  // 10 000 dropped at the 10th check; due from then, trimmed 5 s later.
  EXPECT_EQ(f.TrimmedAt(falling), 9 + 50);
}

TEST(MemoryTrimmerTest, StartChecksOnItsOwnThreadUntilStopped) {
  std::atomic<double> load{1000};
  std::atomic<int> checks{0};
  absl::Notification trimmed;
  MemoryTrimmer::Options options;
  options.interval = absl::Milliseconds(1);
  options.quiet = absl::Milliseconds(5);
  options.trim = [&] {
    if (!trimmed.HasBeenNotified()) trimmed.Notify();
  };
  MemoryTrimmer trimmer(
      [&] {
        ++checks;
        return load.load();
      },
      options);
  trimmer.Start();
  while (checks.load() < 1) std::this_thread::yield();
  load = 0;
  EXPECT_TRUE(trimmed.WaitForNotificationWithTimeout(absl::Seconds(10)));
  trimmer.Stop();
  const int after_stop = checks.load();
  trimmer.Stop();  // again: nothing happens
  EXPECT_EQ(checks.load(), after_stop);
}

TEST(MemoryTrimmerTest, ReleaseFreeMemoryRuns) { ReleaseFreeMemory(); }

}  // namespace
}  // namespace protomesh
