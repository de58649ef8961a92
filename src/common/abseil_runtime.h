#pragma once
// Process-wide abseil settings for the servers' main().
#include "absl/synchronization/mutex.h"

namespace protomesh {

// Debian builds abseil without NDEBUG, which leaves absl::Mutex's deadlock
// detection on: every lock, ours and gRPC's (grpc_core::Mutex is an
// absl::Mutex), then records its place in a process-wide lock graph under
// one global lock. In protomesh-xds with 10 000 streams that was about a
// tenth of the server's CPU during a push (bench/RESULTS.md). Servers turn
// it off; the tests keep it on.
inline void DisableMutexDeadlockDetection() {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
}

}  // namespace protomesh
