#include "src/store/pg_errors.h"

#include <pqxx/pqxx>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace protomesh::store {
namespace {
constexpr absl::string_view kConnectionLossPrefix = "database unavailable";
}

absl::Status StatusFromCurrentException(absl::string_view what) {
  try {
    throw;
  } catch (const pqxx::in_doubt_error& e) {
    return InDoubtError(what, e.what());
  } catch (const pqxx::broken_connection& e) {
    return absl::UnavailableError(absl::StrCat(kConnectionLossPrefix, " while ", what, ": ", e.what()));
  } catch (const pqxx::sql_error& e) {
    const std::string& state = e.sqlstate();
    // Class 08: connection exception; 57P: operator intervention (shutdown).
    if (absl::StartsWith(state, "08") || absl::StartsWith(state, "57P")) {
      return absl::UnavailableError(
          absl::StrCat(kConnectionLossPrefix, " while ", what, ": ", e.what()));
    }
    if (absl::StartsWith(state, "22")) {
      return absl::InvalidArgumentError(absl::StrCat("the database rejected a value while ",
                                                     what, ": ", e.what()));
    }
    return absl::InternalError(
        absl::StrCat("database error while ", what, " (SQLSTATE ", state, "): ", e.what()));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("error while ", what, ": ", e.what()));
  }
}

absl::Status InDoubtError(absl::string_view what, absl::string_view detail) {
  return absl::UnavailableError(absl::StrCat(
      kConnectionLossPrefix, " while ", what,
      ": the connection was lost during commit, so the write may or may not have been "
      "applied; read it back before retrying: ",
      detail));
}

bool IsConnectionLoss(const absl::Status& status) {
  return status.code() == absl::StatusCode::kUnavailable &&
         absl::StartsWith(status.message(), kConnectionLossPrefix);
}

}  // namespace protomesh::store
