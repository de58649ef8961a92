#include "src/ctl/errors.h"

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "src/common/tls_credentials.h"

namespace protomesh::ctl {
namespace {

constexpr char kUsagePayload[] = "type.protomesh.io/ctl.UsageError";

}  // namespace

absl::Status UsageError(std::string message) {
  absl::Status status = absl::InvalidArgumentError(message);
  status.SetPayload(kUsagePayload, absl::Cord("usage"));
  return status;
}

int ExitCodeOf(const absl::Status& status) {
  if (status.ok()) return kExitOk;
  if (status.GetPayload(kUsagePayload).has_value()) return kExitUsage;
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
      return kExitInvalidInput;
    case absl::StatusCode::kNotFound:
      return kExitNotFound;
    case absl::StatusCode::kAborted:
      return kExitConflict;
    default:
      return kExitStoreError;
  }
}

absl::Status StoreError(const grpc::Status& status, const std::string& server, bool tls) {
  auto code = static_cast<absl::StatusCode>(status.error_code());
  std::string message = absl::StrCat(absl::StatusCodeToString(code), ": ", status.error_message());
  if (code == absl::StatusCode::kUnavailable || code == absl::StatusCode::kDeadlineExceeded) {
    absl::StrAppend(&message, " (server ", server, ")");
  }
  // What a TLS server does to a plaintext client (gRPC says no more).
  if (!tls && code == absl::StatusCode::kUnavailable &&
      tls::ClosedLikeATlsServer(status.error_message())) {
    absl::StrAppend(&message, "\nthe server closed a plaintext connection: if it serves TLS, ",
                    "give --tls-ca-file (and --tls-cert-file and --tls-key-file for mTLS)");
  }
  return absl::Status(code, message);
}

}  // namespace protomesh::ctl
