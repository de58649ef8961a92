#pragma once
// What a binary was built from: the project version (CMake's
// project(VERSION)), the git commit of the source tree at build time, and
// the gRPC and protobuf versions it was built with. The commit is
// regenerated at every build (src/common/build_info.cmake); only
// build_info.cc depends on it.
#include <string>

namespace protomesh::metrics {
class Registry;
}

namespace protomesh::build_info {

// "0.1.0".
std::string Version();
// The short commit, "-dirty" appended when tracked files had changes;
// "unknown" when the source was not a git checkout.
std::string Commit();
// The line of --version: "protomesh-store 0.1.0 (commit 1a2b3c4, built with
// gRPC 1.51.1, protobuf 3.21.12)".
std::string VersionLine(const std::string& program);
// Adds the gauge protomesh_build_info{version,commit}, always 1, as
// Prometheus exporters do.
void RegisterMetric(metrics::Registry& registry);

}  // namespace protomesh::build_info
