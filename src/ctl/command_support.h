#pragma once
// What several commands share: reading input files, finding resources by
// name, printing resources.
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "api/types/v1/resource.pb.h"
#include "src/ctl/commands.h"
#include "src/ctl/output.h"

namespace protomesh::ctl {

// Loads and reads `files` with the settings' namespace as the default.
// An empty result is fine here; the caller decides.
absl::StatusOr<std::vector<Document>> ReadInput(CommandContext& context,
                                                const std::vector<std::string>& files,
                                                bool recursive);

// "httpingress/public-ingress (ns default)".
std::string Describe(const CommandContext& context, const protomesh::types::v1::Resource& resource);

// The live resources of `ns` named exactly `name`.
absl::StatusOr<std::vector<protomesh::types::v1::Resource>> FindByName(CommandContext& context,
                                                                       const std::string& ns,
                                                                       const std::string& name);

// The usage error for a name that matches more than one resource of `ns`;
// `remedy` says what to do, e.g. "give one with --id".
absl::Status AmbiguousNameError(const std::string& ns, const std::string& name,
                                const std::vector<protomesh::types::v1::Resource>& found,
                                const std::string& remedy);

// The id for a resource given by name or id, for history and rollback:
// --id as given; a name of a live resource its id (a usage error when the
// name is ambiguous); else the id derived from the name, so that dropped
// resources can be found too.
absl::StatusOr<std::string> ResolveId(CommandContext& context, const std::string& name,
                                      const std::string& id);

// A UUID given on the command line, lowercased; a usage error otherwise.
absl::StatusOr<std::string> ParseIdFlag(const std::string& id);

// Resources as documents (yaml, json) or a table; `as_list` prints JSON as
// an array. Resources whose type is not registered are reported on err and
// make the result an error after the others are printed.
absl::Status PrintResources(CommandContext& context,
                            const std::vector<protomesh::types::v1::Resource>& resources,
                            OutputFormat format, bool as_list);

}  // namespace protomesh::ctl
