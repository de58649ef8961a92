#include "src/xds/server/ads_service.h"

#include "absl/strings/str_cat.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

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

google::protobuf::Value StringValue(const std::string& text) {
  google::protobuf::Value value;
  value.set_string_value(text);
  return value;
}

google::protobuf::Value NumberValue(double number) {
  google::protobuf::Value value;
  value.set_number_value(number);
  return value;
}

google::protobuf::Value BoolValue(bool flag) {
  google::protobuf::Value value;
  value.set_bool_value(flag);
  return value;
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
  google::protobuf::Struct dump;
  auto* streams = (*dump.mutable_fields())["streams"].mutable_list_value();
  for (const StreamStatus& stream : Streams()) {
    auto& fields = *streams->add_values()->mutable_struct_value()->mutable_fields();
    fields["stream_id"] = NumberValue(static_cast<double>(stream.id));
    fields["node_id"] = StringValue(stream.node_id);
    fields["cluster"] = StringValue(stream.cluster);
    fields["service"] = StringValue(stream.service);
    fields["variant"] = StringValue(stream.variant);
    fields["peer"] = StringValue(stream.peer);
    fields["writing"] = BoolValue(stream.writing);
    auto& types = *fields["types"].mutable_struct_value()->mutable_fields();
    for (const TypeStatus& type : stream.types) {
      auto& t = *types[type.type_url].mutable_struct_value()->mutable_fields();
      t["wildcard"] = BoolValue(type.wildcard);
      auto* names = t["names"].mutable_list_value();
      for (const auto& name : type.names) *names->add_values() = StringValue(name);
      t["sent_version"] = StringValue(type.sent_version);
      t["sent_nonce"] = StringValue(type.sent_nonce);
      t["acked_version"] = StringValue(type.acked_version);
      t["acks"] = NumberValue(static_cast<double>(type.acks));
      t["nacks"] = NumberValue(static_cast<double>(type.nacks));
      t["rejected"] = BoolValue(type.rejected);
      if (type.nacks > 0) {
        auto& nack = *t["last_nack"].mutable_struct_value()->mutable_fields();
        nack["version"] = StringValue(type.last_nack_version);
        nack["nonce"] = StringValue(type.last_nack_nonce);
        nack["error"] = StringValue(type.last_nack_error);
      }
      auto* resources = t["resources"].mutable_list_value();
      for (const auto& [name, version] : type.resources) {
        auto& r = *resources->add_values()->mutable_struct_value()->mutable_fields();
        r["name"] = StringValue(name);
        r["version"] = StringValue(version);
      }
    }
  }
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(dump, &json, options);
  return json;
}

}  // namespace protomesh::xds::server
