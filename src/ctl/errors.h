#pragma once
// protomeshctl's exit codes, which scripts may rely on, and how an
// absl::Status maps onto them.
#include <string>

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace protomesh::ctl {

enum ExitCode : int {
  kExitOk = 0,
  // The store answered with an error, or could not be reached.
  kExitStoreError = 1,
  // Bad flags, arguments or settings.
  kExitUsage = 2,
  // An input file is malformed or invalid (or the store rejected its
  // content as INVALID_ARGUMENT); nothing was written.
  kExitInvalidInput = 3,
  // What get, delete, history or rollback was asked for does not exist.
  kExitNotFound = 4,
  // A compare-and-swap failed (ABORTED): something changed concurrently;
  // nothing was written.
  kExitConflict = 5,
};

// The lines `--help` prints about exit codes.
inline constexpr const char* kExitCodeHelp =
    "Exit codes:\n"
    "  0  success\n"
    "  1  store or transport error (the gRPC status is printed, e.g. UNAVAILABLE: ...)\n"
    "  2  usage error: bad flags, arguments or settings\n"
    "  3  invalid input: a file is malformed or invalid; nothing was written\n"
    "  4  not found: the resource (or revision) asked for does not exist\n"
    "  5  conflict: something changed concurrently (ABORTED); nothing was written\n";

// A usage error (exit code 2).
absl::Status UsageError(std::string message);

// INVALID_ARGUMENT: 3 (usage errors: 2), NOT_FOUND: 4, ABORTED: 5, other
// errors: 1.
int ExitCodeOf(const absl::Status& status);

// A gRPC error from the store, its code in words: "UNAVAILABLE: failed to
// connect to all addresses (server localhost:6680)". `tls`: whether the
// channel used TLS; a plaintext connection that the server closed gets a
// second line saying that it may want TLS.
absl::Status StoreError(const grpc::Status& status, const std::string& server, bool tls);

}  // namespace protomesh::ctl
