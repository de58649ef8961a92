#pragma once
// Reads the truth straight from the store's database, to check what
// watchers saw against what was committed.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "api/services/v1/resource_store.pb.h"

namespace protomesh::testing {

struct LoggedChange {
  int64_t revision = 0;
  std::string id;
  bool dropped = false;
  bool operator==(const LoggedChange&) const = default;
};

// Every change of `ns` after `after`, in (revision, id) order.
std::vector<LoggedChange> ChangesInDatabase(const std::string& url, const std::string& ns,
                                            int64_t after = 0);
// id -> sha256 of every live resource of `ns`.
std::map<std::string, std::string> StateInDatabase(const std::string& url, const std::string& ns);
int64_t HeadInDatabase(const std::string& url);

// What a watch stream delivered after its end_of_list, flattened in the
// same order, plus the state it ends up with (snapshot + changes replayed).
struct WatchedHistory {
  int64_t snapshot_revision = 0;
  std::vector<LoggedChange> changes;
  std::map<std::string, std::string> state;  // id -> sha256
  std::string error;  // non-empty when revisions went backwards or repeated
};
WatchedHistory Flatten(const std::vector<protomesh::services::v1::WatchResourcesResponse>& responses);

}  // namespace protomesh::testing
