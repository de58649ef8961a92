#pragma once
// A mutation is what one write RPC asks for: a Put, a Drop, or an Apply of
// several of them. It commits all or nothing, under one revision.
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "api/types/v1/resource.pb.h"

namespace protomesh::store {

struct PutOp {
  protomesh::types::v1::Resource resource;  // validated, id lowercased
  std::string content_hash;                 // ContentHash(resource)
  std::optional<int64_t> expected_revision;
};

struct DropOp {
  std::string namespace_;
  std::vector<std::string> ids;  // validated, lowercased, unique
  std::map<std::string, int64_t> expected_revisions;
};

using Operation = std::variant<PutOp, DropOp>;

struct Mutation {
  std::vector<Operation> operations;
};

struct PutOutcome {
  protomesh::types::v1::Version version;
  bool created = false;
  bool unchanged = false;
};

struct DropOutcome {
  std::vector<std::string> dropped_ids;
};

struct MutationResult {
  int64_t revision = 0;  // 0 when nothing changed
  std::vector<std::variant<PutOutcome, DropOutcome>> outcomes;  // one per operation
};

using MutationCallback = std::function<void(absl::StatusOr<MutationResult>)>;

}  // namespace protomesh::store
