// The sd_notify readiness protocol between protomesh-all-in-one and the store.
#include "src/common/ready_notify.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

namespace protomesh::ready_notify {
namespace {

TEST(ReadyNotifyTest, ReadyReachesTheSocketFromTheSenderItWaitsFor) {
  auto socket = NotifySocket::Create();
  ASSERT_TRUE(socket.ok()) << socket.status();
  EXPECT_EQ((*socket)->address()[0], '@');
  EXPECT_FALSE((*socket)->ReceivedReady(getpid())) << "nothing was sent yet";

  ASSERT_TRUE(NotifyReady((*socket)->address()).ok());
  pollfd readable{(*socket)->fd(), POLLIN, 0};
  ASSERT_EQ(poll(&readable, 1, 10000), 1);
  EXPECT_FALSE((*socket)->ReceivedReady(getpid() + 1)) << "someone else's READY=1 counts";

  ASSERT_TRUE(NotifyReady((*socket)->address()).ok());
  ASSERT_EQ(poll(&readable, 1, 10000), 1);
  EXPECT_TRUE((*socket)->ReceivedReady(getpid()));
}

TEST(ReadyNotifyTest, TheSocketIsTakenFromTheEnvironmentAndNothingIsSentWithoutOne) {
  ASSERT_EQ(setenv("NOTIFY_SOCKET", "@some-supervisor", 1), 0);
  EXPECT_EQ(TakeNotifySocket(), "@some-supervisor");
  EXPECT_EQ(getenv("NOTIFY_SOCKET"), nullptr) << "children would inherit it";
  EXPECT_EQ(TakeNotifySocket(), "");
  EXPECT_TRUE(NotifyReady("").ok());
  EXPECT_FALSE(NotifyReady("relative/path").ok());
}

}  // namespace
}  // namespace protomesh::ready_notify
