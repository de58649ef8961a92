// protomeshctl xds-status: what a protomesh-xds server serves, in the manner
// of istioctl proxy-status: the resources it could not serve as stored, and
// per connected client whether each resource type is in sync.
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "api/services/v1/xds_status.grpc.pb.h"
#include "google/protobuf/util/json_util.h"
#include "src/ctl/commands.h"
#include "src/ctl/errors.h"
#include "src/ctl/grpc_channel.h"
#include "src/ctl/output.h"

namespace protomesh::ctl {
namespace {

// The short name of an xDS type URL: "CDS" for clusters, and so on.
std::string TypeShortName(const std::string& type_url) {
  if (type_url.ends_with(".Cluster")) return "CDS";
  if (type_url.ends_with(".ClusterLoadAssignment")) return "EDS";
  if (type_url.ends_with(".Listener")) return "LDS";
  if (type_url.ends_with(".RouteConfiguration")) return "RDS";
  return type_url;
}

// SYNCED: the client accepted what the server serves now. NACKED: it
// rejected the latest response and runs an older version. SENT: the current
// version is on its way or not acknowledged yet. STALE: the current version
// is not sent yet.
std::string SyncState(const svc::XdsClientTypeStatus& type) {
  if (type.rejected()) return "NACKED";
  if (!type.acked_version().empty() && type.acked_version() == type.current_version()) {
    return "SYNCED";
  }
  if (type.sent_version() == type.current_version()) return "SENT";
  return "STALE";
}

std::string ShortVersion(const std::string& version) { return version.substr(0, 12); }

void PrintTable(const std::string& server, const svc::GetXdsStatusResponse& status,
                std::ostream& out) {
  out << "xDS server " << server << ": namespace " << status.namespace_() << ", revision "
      << status.revision() << ", " << status.resource_count() << " resource(s), "
      << (status.synced() ? "synced with the store" : "NOT synced with the store yet") << "\n";

  out << "\n";
  if (status.issues().empty()) {
    out << "Every resource is served as stored.\n";
  } else {
    out << "Resources not served as stored (" << status.issues_size() << "):\n";
    Table table({"NAME", "KIND", "REVISION", "SERVING", "PROBLEM"});
    for (const svc::XdsResourceIssue& issue : status.issues()) {
      table.AddRow({issue.name(), issue.kind(), absl::StrCat(issue.revision()),
                    issue.serving_revision() != 0
                        ? absl::StrCat("revision ", issue.serving_revision())
                        : "nothing",
                    issue.message()});
    }
    table.Print(out);
  }

  out << "\n";
  if (status.clients().empty()) {
    out << "No xDS clients are connected.\n";
    return;
  }
  out << "Clients (" << status.clients_size() << "):\n";
  Table table({"NODE", "CLUSTER", "STREAM", "CDS", "EDS", "LDS", "RDS", "PEER"});
  std::vector<std::string> nacks;
  for (const svc::XdsClientStatus& client : status.clients()) {
    std::vector<std::string> row = {client.node_id(), client.node_cluster(),
                                    absl::StrCat(client.service(), "/", client.variant()),
                                    "-", "-", "-", "-", client.peer()};
    for (const svc::XdsClientTypeStatus& type : client.types()) {
      const std::string name = TypeShortName(type.type_url());
      const int column = name == "CDS" ? 3 : name == "EDS" ? 4 : name == "LDS" ? 5 : name == "RDS" ? 6 : -1;
      if (column >= 0) row[column] = SyncState(type);
      if (type.nacks() > 0) {
        nacks.push_back(absl::StrCat(client.node_id(), " ", name, ": rejected version ",
                                     ShortVersion(type.last_nack_version()), ": ",
                                     type.last_nack_error()));
      }
    }
    table.AddRow(std::move(row));
  }
  table.Print(out);
  if (!nacks.empty()) {
    out << "\nLast rejections (NACK):\n";
    for (const std::string& line : nacks) out << "  " << line << "\n";
  }
}

}  // namespace

absl::Status RunXdsStatus(CommandContext& context, const XdsStatusOptions& options) {
  auto format = ParseOutputFormat(options.output);
  if (!format.ok()) return format.status();
  const std::string& server = context.settings.xds_server;
  auto channel = CreateChannel(context.settings, server);
  if (!channel.ok()) return channel.status();
  auto stub = svc::XdsStatus::NewStub(*channel);
  grpc::ClientContext call;
  if (context.settings.timeout > absl::ZeroDuration()) {
    call.set_deadline(absl::ToChronoTime(absl::Now() + context.settings.timeout));
  }
  svc::GetXdsStatusResponse status;
  grpc::Status result = stub->GetXdsStatus(&call, svc::GetXdsStatusRequest(), &status);
  if (!result.ok()) return StoreError(result, server, UsesTls(context.settings));

  if (*format == OutputFormat::kTable) {
    PrintTable(server, status, context.out);
    return absl::OkStatus();
  }
  std::string json;
  google::protobuf::util::JsonPrintOptions print;
  print.preserve_proto_field_names = true;
  if (auto s = google::protobuf::util::MessageToJsonString(status, &json, print); !s.ok()) {
    return absl::InternalError(absl::StrCat("cannot print the status: ", s.ToString()));
  }
  YAML::Node document = YAML::Load(json);
  if (*format == OutputFormat::kYaml) {
    PrintYamlDocument(document, context.out);
  } else {
    PrintJson({document}, false, context.out);
  }
  return absl::OkStatus();
}

}  // namespace protomesh::ctl
