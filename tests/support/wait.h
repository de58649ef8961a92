#pragma once
#include <chrono>
#include <functional>

namespace protomesh::testing {

// Polls `condition` (with a short backoff, up to 20 ms) until it holds or
// `timeout` passes; returns whether it held. For conditions that no event
// can signal, such as a port opening in another process.
bool WaitUntil(const std::function<bool()>& condition,
               std::chrono::milliseconds timeout = std::chrono::seconds(10));

// A free TCP port on 127.0.0.1 (bound to port 0, then released).
int FreePort();

}  // namespace protomesh::testing
