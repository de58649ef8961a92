#include "tests/support/change_log.h"

#include <algorithm>

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"

namespace protomesh::testing {

std::vector<LoggedChange> ChangesInDatabase(const std::string& url, const std::string& ns,
                                            int64_t after) {
  pqxx::connection connection(url);
  pqxx::read_transaction tx(connection);
  std::vector<LoggedChange> changes;
  for (const auto& row : tx.exec_params(
           "SELECT revision, id::text, dropped FROM changes WHERE namespace = $1 AND revision > $2 "
           "ORDER BY revision, id",
           ns, after)) {
    changes.push_back({row[0].as<int64_t>(), row[1].c_str(), row[2].as<bool>()});
  }
  return changes;
}

std::map<std::string, std::string> StateInDatabase(const std::string& url, const std::string& ns) {
  pqxx::connection connection(url);
  pqxx::read_transaction tx(connection);
  std::map<std::string, std::string> state;
  for (const auto& row :
       tx.exec_params("SELECT id::text, sha256 FROM resources WHERE namespace = $1", ns)) {
    state[row[0].c_str()] = row[1].c_str();
  }
  return state;
}

int64_t HeadInDatabase(const std::string& url) {
  pqxx::connection connection(url);
  pqxx::read_transaction tx(connection);
  return tx.exec1("SELECT revision FROM store_revision")[0].as<int64_t>();
}

WatchedHistory Flatten(
    const std::vector<protomesh::services::v1::WatchResourcesResponse>& responses) {
  WatchedHistory history;
  bool live = false;
  int64_t last = 0;
  for (const auto& response : responses) {
    if (!live) {
      for (const auto& r : response.updated_resources()) history.state[r.id()] = r.version().sha256_hash();
      if (response.end_of_list()) {
        live = true;
        history.snapshot_revision = last = response.revision();
      }
      continue;
    }
    if (response.end_of_list()) continue;
    if (response.revision() <= last && history.error.empty()) {
      history.error = absl::StrCat("revision ", response.revision(), " came after ", last);
    }
    last = response.revision();
    std::vector<LoggedChange> batch;
    for (const auto& r : response.updated_resources()) {
      batch.push_back({response.revision(), r.id(), false});
      history.state[r.id()] = r.version().sha256_hash();
    }
    for (const auto& r : response.dropped_resources()) {
      batch.push_back({response.revision(), r.id(), true});
      history.state.erase(r.id());
    }
    std::sort(batch.begin(), batch.end(),
              [](const auto& a, const auto& b) { return a.id < b.id; });
    history.changes.insert(history.changes.end(), batch.begin(), batch.end());
  }
  return history;
}

}  // namespace protomesh::testing
