#pragma once
// What the write batcher tells the change feed of its own process: the
// changes it has just committed, so that the feed publishes them without
// reading them back from the database.
#include <cstdint>
#include <vector>

#include "src/store/store_reader.h"

namespace protomesh::store {

// Every change of revisions first_revision..last_revision: one transaction,
// which numbered exactly those revisions.
struct CommittedChanges {
  int64_t first_revision = 0;
  int64_t last_revision = 0;
  // In (revision, namespace, id) order, exactly as the change log holds them.
  std::vector<ChangeRecord> records;
};

class CommitListener {
 public:
  virtual ~CommitListener() = default;
  // Called after the commit, before the writers get their replies.
  virtual void Committed(CommittedChanges changes) = 0;
  // A transaction of this process may have committed without the batcher
  // learning what it wrote (the connection was lost during the call):
  // the listener must find those changes in the database.
  virtual void CommitOutcomeUnknown() = 0;
};

}  // namespace protomesh::store
