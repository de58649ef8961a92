#include "tests/xds/support/node_routing_client.h"

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace protomesh::testing {
namespace {

// Loading grpc-js and grpc-js-xds takes a moment on a busy machine.
constexpr auto kStartTimeout = std::chrono::seconds(30);
// xds_client.js gives each call a 2 s deadline.
constexpr auto kCallTimeout = std::chrono::seconds(2);

// A reply line: {"backends":{"a":1},"failures":0,"last_error":""}, or
// {"error":"..."}.
absl::StatusOr<CallTally> ParseTally(const std::string& line) {
  google::protobuf::Struct reply;
  if (!google::protobuf::util::JsonStringToMessage(line, &reply).ok()) {
    return absl::InternalError(absl::StrCat("xds_client.js replied with something else: ", line));
  }
  const auto& fields = reply.fields();
  if (auto error = fields.find("error"); error != fields.end()) {
    return absl::InternalError(absl::StrCat("xds_client.js: ", error->second.string_value()));
  }
  CallTally tally;
  if (auto backends = fields.find("backends"); backends != fields.end()) {
    for (const auto& [name, count] : backends->second.struct_value().fields()) {
      tally.backends[name] = static_cast<int>(count.number_value());
    }
  }
  if (auto failures = fields.find("failures"); failures != fields.end()) {
    tally.failures = static_cast<int>(failures->second.number_value());
  }
  if (auto last_error = fields.find("last_error"); last_error != fields.end()) {
    tally.last_error = last_error->second.string_value();
  }
  return tally;
}

}  // namespace

absl::StatusOr<std::unique_ptr<NodeRoutingClient>> NodeRoutingClient::Start(
    const std::string& target, const std::string& bootstrap) {
  auto process =
      ChildProcess::StartInteractive({PROTOMESH_NODE_BIN, PROTOMESH_NODE_CLIENT_JS, target},
                                     {{"GRPC_XDS_BOOTSTRAP_CONFIG", bootstrap}});
  if (!process.ok()) return process.status();
  auto ready = (*process)->ReadLine(kStartTimeout);
  if (!ready.ok()) return ready.status();
  if (*ready != "ready") {
    return absl::InternalError(absl::StrCat("xds_client.js said ", *ready, " instead of ready"));
  }
  return std::unique_ptr<NodeRoutingClient>(new NodeRoutingClient(*std::move(process)));
}

absl::StatusOr<CallTally> NodeRoutingClient::Call(int count) {
  if (auto written = process_->WriteLine(absl::StrCat("call ", count)); !written.ok()) {
    return written;
  }
  auto line = process_->ReadLine(count * kCallTimeout + std::chrono::seconds(10));
  if (!line.ok()) return line.status();
  return ParseTally(*line);
}

}  // namespace protomesh::testing
