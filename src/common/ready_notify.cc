#include "src/common/ready_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace protomesh::ready_notify {
namespace {

constexpr absl::string_view kReady = "READY=1";

absl::Status ErrnoError(absl::string_view what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

}  // namespace

std::string TakeNotifySocket() {
  const char* value = std::getenv("NOTIFY_SOCKET");
  std::string socket = value != nullptr ? value : "";
  unsetenv("NOTIFY_SOCKET");
  return socket;
}

absl::Status NotifyReady(const std::string& socket) {
  if (socket.empty()) return absl::OkStatus();
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if ((socket[0] != '/' && socket[0] != '@') || socket.size() > sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError(
        absl::StrCat("NOTIFY_SOCKET=", socket, " is neither a path nor an abstract (@) name"));
  }
  std::memcpy(addr.sun_path, socket.data(), socket.size());
  if (socket[0] == '@') addr.sun_path[0] = '\0';
  // A path is NUL-terminated; an abstract name is exactly its length.
  const socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket.size() +
                                               (socket[0] == '/' ? 1 : 0));
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoError("socket");
  const ssize_t sent = sendto(fd, kReady.data(), kReady.size(), MSG_NOSIGNAL,
                              reinterpret_cast<const sockaddr*>(&addr), len);
  absl::Status status =
      sent < 0 ? ErrnoError(absl::StrCat("sending READY=1 to NOTIFY_SOCKET=", socket)) : absl::OkStatus();
  close(fd);
  return status;
}

absl::StatusOr<std::unique_ptr<NotifySocket>> NotifySocket::Create() {
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return ErrnoError("socket");
  // Binding just the family "autobinds": the kernel picks a free abstract name.
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  socklen_t len = sizeof(sa_family_t);
  const int on = 1;  // the sender's pid comes with each message (SCM_CREDENTIALS)
  if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) != 0 ||
      bind(fd, reinterpret_cast<const sockaddr*>(&addr), len) != 0 ||
      (len = sizeof(addr), getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len)) != 0) {
    absl::Status status = ErrnoError("binding the notify socket");
    close(fd);
    return status;
  }
  std::string name(addr.sun_path + 1, len - offsetof(sockaddr_un, sun_path) - 1);
  return std::unique_ptr<NotifySocket>(new NotifySocket(fd, "@" + name));
}

NotifySocket::~NotifySocket() { close(fd_); }

bool NotifySocket::ReceivedReady(pid_t sender) {
  bool ready = false;
  std::vector<char> buffer(4096);
  while (true) {
    iovec iov{buffer.data(), buffer.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred))];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    const ssize_t n = recvmsg(fd_, &msg, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ready;
    const cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    if (cmsg == nullptr || cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_CREDENTIALS) {
      continue;
    }
    ucred cred;
    std::memcpy(&cred, CMSG_DATA(cmsg), sizeof(cred));
    if (cred.pid != sender) continue;
    for (absl::string_view line : absl::StrSplit(absl::string_view(buffer.data(), n), '\n')) {
      ready = ready || line == kReady;
    }
  }
}

}  // namespace protomesh::ready_notify
