#pragma once
// libpqxx reports failures as exceptions; this is where they become statuses.
#include <exception>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"

namespace protomesh::store {

// Maps the exception being handled (call inside a catch block) to a status:
// a lost or refused connection is UNAVAILABLE (retry), a data error is
// INVALID_ARGUMENT, anything else INTERNAL. `what` says what was being done.
absl::Status StatusFromCurrentException(absl::string_view what);

// True when the status means the connection must be dropped and reopened.
bool IsConnectionLoss(const absl::Status& status);

// UNAVAILABLE for a write whose connection was lost while it committed, so
// that nobody knows whether it was applied; `detail` says how it was lost.
absl::Status InDoubtError(absl::string_view what, absl::string_view detail);

}  // namespace protomesh::store
