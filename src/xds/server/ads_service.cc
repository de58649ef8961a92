#include "src/xds/server/ads_service.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace protomesh::xds::server {
namespace {

using discovery::DiscoveryRequest;
using discovery::DiscoveryResponse;

// The REST-style unary fetch: the current resources of one type, all of
// them or the named ones, for the node's cluster.
grpc::ServerUnaryReactor* Fetch(grpc::CallbackServerContext* context,
                                const DiscoveryRequest& request, DiscoveryResponse* response,
                                StreamRegistry* registry, ServiceKind service) {
  auto* reactor = context->DefaultReactor();
  const int type = static_cast<int>(service) - 1;
  const std::string& type_url = TypeOrder()[type];
  if (request.node().cluster().empty()) {
    reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                 "the request must carry node.cluster"));
    return reactor;
  }
  if (!request.type_url().empty() && request.type_url() != type_url) {
    reactor->Finish(grpc::Status(
        grpc::StatusCode::INVALID_ARGUMENT,
        absl::StrCat("this service serves only ", type_url, ", not ", request.type_url())));
    return reactor;
  }
  ServedSnapshotPtr snapshot = registry->cache()->Get(request.node().cluster());
  const ServedType& served = *snapshot->types[type];
  response->set_version_info(served.version);
  response->set_type_url(type_url);
  bool wildcard = request.resource_names().empty();
  for (const auto& name : request.resource_names()) wildcard = wildcard || name == "*";
  if (wildcard) {
    for (const auto& resource : *served.resources) *response->add_resources() = resource->resource;
  } else {
    for (const auto& name : request.resource_names()) {
      if (auto resource = served.Find(name)) *response->add_resources() = resource->resource;
    }
  }
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

// `text` as a JSON string literal. Protobuf strings are valid UTF-8, so
// only quotes, backslashes and control characters need escaping.
std::string Quote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          absl::StrAppendFormat(&out, "\\u%04x", static_cast<int>(c));
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

const char* Bool(bool flag) { return flag ? "true" : "false"; }

std::string QuotedList(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) absl::StrAppend(&out, i ? ", " : "", Quote(items[i]));
  return out + "]";
}

}  // namespace

SotwReactor* AdsService::StreamAggregatedResources(grpc::CallbackServerContext* context) {
  return StartSotwStream(context, registry_, ServiceKind::kAds);
}
DeltaReactor* AdsService::DeltaAggregatedResources(grpc::CallbackServerContext* context) {
  return StartDeltaStream(context, registry_, ServiceKind::kAds);
}

SotwReactor* CdsService::StreamClusters(grpc::CallbackServerContext* context) {
  return StartSotwStream(context, registry_, ServiceKind::kCds);
}
DeltaReactor* CdsService::DeltaClusters(grpc::CallbackServerContext* context) {
  return StartDeltaStream(context, registry_, ServiceKind::kCds);
}
grpc::ServerUnaryReactor* CdsService::FetchClusters(grpc::CallbackServerContext* context,
                                                    const DiscoveryRequest* request,
                                                    DiscoveryResponse* response) {
  return Fetch(context, *request, response, registry_, ServiceKind::kCds);
}

SotwReactor* EdsService::StreamEndpoints(grpc::CallbackServerContext* context) {
  return StartSotwStream(context, registry_, ServiceKind::kEds);
}
DeltaReactor* EdsService::DeltaEndpoints(grpc::CallbackServerContext* context) {
  return StartDeltaStream(context, registry_, ServiceKind::kEds);
}
grpc::ServerUnaryReactor* EdsService::FetchEndpoints(grpc::CallbackServerContext* context,
                                                     const DiscoveryRequest* request,
                                                     DiscoveryResponse* response) {
  return Fetch(context, *request, response, registry_, ServiceKind::kEds);
}

SotwReactor* LdsService::StreamListeners(grpc::CallbackServerContext* context) {
  return StartSotwStream(context, registry_, ServiceKind::kLds);
}
DeltaReactor* LdsService::DeltaListeners(grpc::CallbackServerContext* context) {
  return StartDeltaStream(context, registry_, ServiceKind::kLds);
}
grpc::ServerUnaryReactor* LdsService::FetchListeners(grpc::CallbackServerContext* context,
                                                     const DiscoveryRequest* request,
                                                     DiscoveryResponse* response) {
  return Fetch(context, *request, response, registry_, ServiceKind::kLds);
}

SotwReactor* RdsService::StreamRoutes(grpc::CallbackServerContext* context) {
  return StartSotwStream(context, registry_, ServiceKind::kRds);
}
DeltaReactor* RdsService::DeltaRoutes(grpc::CallbackServerContext* context) {
  return StartDeltaStream(context, registry_, ServiceKind::kRds);
}
grpc::ServerUnaryReactor* RdsService::FetchRoutes(grpc::CallbackServerContext* context,
                                                  const DiscoveryRequest* request,
                                                  DiscoveryResponse* response) {
  return Fetch(context, *request, response, registry_, ServiceKind::kRds);
}

XdsServer::XdsServer(SnapshotCache* cache, XdsServerMetrics* metrics)
    : registry_(cache, metrics),
      ads_(&registry_),
      cds_(&registry_),
      eds_(&registry_),
      lds_(&registry_),
      rds_(&registry_) {}

void XdsServer::RegisterServices(grpc::ServerBuilder& builder) {
  builder.RegisterService(&ads_);
  builder.RegisterService(&cds_);
  builder.RegisterService(&eds_);
  builder.RegisterService(&lds_);
  builder.RegisterService(&rds_);
}

std::vector<StreamStatus> XdsServer::Streams() const { return registry_.Status(); }

void XdsServer::Shutdown() {
  registry_.Shutdown(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the xDS server is shutting down"));
}

std::string XdsServer::ConfigDump() const {
  std::string out = "{\n  \"streams\": [";
  const std::vector<StreamStatus> streams = Streams();
  for (size_t i = 0; i < streams.size(); ++i) {
    const StreamStatus& stream = streams[i];
    absl::StrAppend(&out, i ? ",\n" : "\n", "    {\n",
                    "      \"stream_id\": ", stream.id, ",\n",
                    "      \"node_id\": ", Quote(stream.node_id), ",\n",
                    "      \"cluster\": ", Quote(stream.cluster), ",\n",
                    "      \"service\": ", Quote(stream.service), ",\n",
                    "      \"variant\": ", Quote(stream.variant), ",\n",
                    "      \"peer\": ", Quote(stream.peer), ",\n",
                    "      \"writing\": ", Bool(stream.writing), ",\n",
                    "      \"pending\": ", Bool(stream.pending), ",\n",
                    "      \"types\": {");
    for (size_t j = 0; j < stream.types.size(); ++j) {
      const TypeStatus& type = stream.types[j];
      absl::StrAppend(&out, j ? ",\n" : "\n", "        ", Quote(type.type_url), ": {\n",
                      "          \"wildcard\": ", Bool(type.wildcard), ",\n",
                      "          \"names\": ", QuotedList(type.names), ",\n",
                      "          \"sent_version\": ", Quote(type.sent_version), ",\n",
                      "          \"sent_nonce\": ", Quote(type.sent_nonce), ",\n",
                      "          \"acked_version\": ", Quote(type.acked_version), ",\n",
                      "          \"acks\": ", type.acks, ",\n",
                      "          \"nacks\": ", type.nacks, ",\n",
                      "          \"rejected\": ", Bool(type.rejected), ",\n");
      if (type.nacks > 0) {
        absl::StrAppend(&out, "          \"last_nack\": {\"version\": ",
                        Quote(type.last_nack_version), ", \"nonce\": ",
                        Quote(type.last_nack_nonce), ", \"error\": ",
                        Quote(type.last_nack_error), "},\n");
      }
      absl::StrAppend(&out, "          \"resources\": [");
      for (size_t k = 0; k < type.resources.size(); ++k) {
        absl::StrAppend(&out, k ? "," : "", "\n            {\"name\": ",
                        Quote(type.resources[k].first), ", \"version\": ",
                        Quote(type.resources[k].second), "}");
      }
      absl::StrAppend(&out, type.resources.empty() ? "]\n" : "\n          ]\n", "        }");
    }
    absl::StrAppend(&out, stream.types.empty() ? "}\n" : "\n      }\n", "    }");
  }
  absl::StrAppend(&out, streams.empty() ? "]\n}\n" : "\n  ]\n}\n");
  return out;
}

void XdsServer::AddAdminHandlers(admin::AdminServer& admin) {
  admin.Handle("/config_dump", [this] {
    admin::HttpResponse response;
    response.content_type = "application/json";
    response.body = ConfigDump();
    return response;
  });
}

}  // namespace protomesh::xds::server
