#pragma once
// protomeshctl's commands. Each returns OK or an error whose code picks the
// exit code (see errors.h); what it prints goes to out (results) and err
// (notes).
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "src/ctl/document.h"
#include "src/ctl/settings.h"
#include "src/ctl/store_client.h"
#include "src/ctl/type_registry.h"

namespace protomesh::ctl {

struct CommandContext {
  const Settings& settings;
  const TypeRegistry& registry;
  const DocumentCodec& codec;
  StoreClient& store;
  std::istream& in;
  std::ostream& out;
  std::ostream& err;
};

struct ApplyOptions {
  std::vector<std::string> files;  // files, directories, "-"
  bool recursive = false;
  bool dry_run = false;
  bool prune = false;
  std::vector<std::string> prune_types;
  std::string prune_prefix;
  bool prune_all = false;
};
// All documents in one Apply (one transaction): created / updated /
// unchanged per resource, and with --prune the drops of what the files no
// longer contain, in the same transaction.
absl::Status RunApply(CommandContext& context, const ApplyOptions& options);

struct GetOptions {
  std::vector<std::string> names;
  std::vector<std::string> ids;
  std::vector<std::string> types;
  std::string name_prefix;
  std::string output = "table";
};
// Named resources (or by id), or the whole namespace when none is named.
absl::Status RunGet(CommandContext& context, const GetOptions& options);

struct DeleteOptions {
  std::vector<std::string> names;
  std::vector<std::string> ids;
  std::vector<std::string> files;
  bool recursive = false;
  bool ignore_not_found = false;
};
// One transaction; when anything asked for is missing, nothing is deleted
// (unless --ignore-not-found).
absl::Status RunDelete(CommandContext& context, const DeleteOptions& options);

struct WatchOptions {
  std::vector<std::string> types;
  std::optional<int64_t> since;
  std::string output = "table";
};
// Prints the namespace's state, then every change, until interrupted; with
// --since N, every change after revision N instead of the state.
absl::Status RunWatch(CommandContext& context, const WatchOptions& options);

struct HistoryOptions {
  std::string name;
  std::string id;
  std::string output = "table";
};
absl::Status RunHistory(CommandContext& context, const HistoryOptions& options);

struct RollbackOptions {
  std::string name;
  std::string id;
  int64_t to_revision = 0;
};
// Puts the resource as it was at a revision, as a new change.
absl::Status RunRollback(CommandContext& context, const RollbackOptions& options);

struct XdsStatusOptions {
  std::string output = "table";
};
// What the protomesh-xds server at --xds-server serves: the resources it
// could not serve as stored, and each connected client's sync state.
absl::Status RunXdsStatus(CommandContext& context, const XdsStatusOptions& options);

}  // namespace protomesh::ctl
