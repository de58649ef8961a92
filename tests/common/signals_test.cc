#include "src/common/signals.h"

#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>

namespace protomesh::signals {
namespace {

// Each case runs in a child process (EXPECT_EXIT) so the test runner's own
// signal mask is left alone.

TEST(SignalsDeathTest, WaitReturnsTheBlockedSignal) {
  for (const int signal : {SIGTERM, SIGINT}) {
    EXPECT_EXIT(
        {
          BlockTerminationSignals();
          raise(signal);  // Stays pending instead of killing the process.
          std::_Exit(WaitForTerminationSignal());
        },
        ::testing::ExitedWithCode(signal), "")
        << signal;
  }
}

TEST(SignalsDeathTest, SigpipeNoLongerKills) {
  EXPECT_EXIT(
      {
        BlockTerminationSignals();
        raise(SIGPIPE);
        std::_Exit(7);
      },
      ::testing::ExitedWithCode(7), "");
}

}  // namespace
}  // namespace protomesh::signals
