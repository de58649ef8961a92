#include "src/common/build_info.h"

#include "absl/strings/str_cat.h"
#include "build_info_values.h"  // Generated in the build tree.
#include "src/common/metrics.h"

namespace protomesh::build_info {

std::string Version() { return PROTOMESH_VERSION; }

std::string Commit() { return PROTOMESH_COMMIT; }

std::string VersionLine(const std::string& program) {
  return absl::StrCat(program, " ", PROTOMESH_VERSION, " (commit ", PROTOMESH_COMMIT,
                      ", built with gRPC ", PROTOMESH_GRPC_VERSION, ", protobuf ",
                      PROTOMESH_PROTOBUF_VERSION, ")");
}

void RegisterMetric(metrics::Registry& registry) {
  registry
      .AddGauge("protomesh_build_info",
                "The version and commit this binary was built from (always 1)",
                {"version", "commit"})
      .WithLabels({PROTOMESH_VERSION, PROTOMESH_COMMIT})
      .Set(1);
}

}  // namespace protomesh::build_info
