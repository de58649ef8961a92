#pragma once
// Telling a supervisor that a program is ready, by systemd's notify protocol
// (sd_notify): the supervisor names a Unix datagram socket in $NOTIFY_SOCKET
// (a path, or "@name" for the abstract namespace) and the program sends
// "READY=1" to it once it serves. protomesh-all-in-one uses it to start
// protomesh-xds only once the store serves; under systemd it is what
// Type=notify waits for.
#include <sys/types.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace protomesh::ready_notify {

// Returns $NOTIFY_SOCKET (empty when unset) and removes it from the
// environment, so that the programs we start (the embedded PostgreSQL speaks
// the same protocol) cannot report ready in our place. Call it first thing
// in main(), before any thread starts.
std::string TakeNotifySocket();

// Sends "READY=1" to `socket`, a $NOTIFY_SOCKET value; nothing when empty.
absl::Status NotifyReady(const std::string& socket);

// The supervisor's side: a socket in the abstract namespace, bound to a name
// the kernel picks, to pass to one child as $NOTIFY_SOCKET.
class NotifySocket {
 public:
  static absl::StatusOr<std::unique_ptr<NotifySocket>> Create();
  ~NotifySocket();
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;

  // The value for $NOTIFY_SOCKET.
  const std::string& address() const { return address_; }
  // Readable (poll) when messages arrived.
  int fd() const { return fd_; }
  // Reads the messages that arrived; true if one that `sender` sent says
  // READY=1 (anyone else's are ignored).
  bool ReceivedReady(pid_t sender);

 private:
  NotifySocket(int fd, std::string address) : fd_(fd), address_(std::move(address)) {}
  const int fd_;
  const std::string address_;
};

}  // namespace protomesh::ready_notify
