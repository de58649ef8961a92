#include "src/xds/xds_status_service.h"

#include <map>
#include <string>

namespace protomesh::xds {

namespace services = protomesh::services::v1;

services::GetXdsStatusResponse XdsStatusService::Status() const {
  services::GetXdsStatusResponse status;
  status.set_namespace_(controller_->namespace_name());
  status.set_synced(controller_->synced());
  status.set_revision(controller_->revision());
  status.set_resource_count(static_cast<int64_t>(controller_->resource_count()));
  for (const ResourceIssue& issue : controller_->issues()) {
    services::XdsResourceIssue* out = status.add_issues();
    out->set_namespace_(issue.namespace_);
    out->set_id(issue.id);
    out->set_name(issue.name);
    out->set_type_url(issue.type_url);
    out->set_revision(issue.revision);
    out->set_message(issue.message);
    out->set_serving_revision(issue.serving_revision);
    out->set_kind(issue.kind);
  }

  std::map<std::string, server::ServedSnapshotPtr> snapshots;  // by node cluster
  for (const server::StreamStatus& stream : server_->Streams()) {
    services::XdsClientStatus* client = status.add_clients();
    client->set_node_id(stream.node_id);
    client->set_node_cluster(stream.cluster);
    client->set_service(stream.service);
    client->set_variant(stream.variant);
    client->set_peer(stream.peer);
    auto [snapshot, inserted] = snapshots.try_emplace(stream.cluster);
    if (inserted) snapshot->second = cache_->Get(stream.cluster);
    for (const server::TypeStatus& type : stream.types) {
      services::XdsClientTypeStatus* out = client->add_types();
      out->set_type_url(type.type_url);
      const int index = server::TypeIndex(type.type_url);
      if (index >= 0 && snapshot->second->types[index] != nullptr) {
        out->set_current_version(snapshot->second->types[index]->version);
      }
      out->set_sent_version(type.sent_version);
      out->set_acked_version(type.acked_version);
      out->set_acks(type.acks);
      out->set_nacks(type.nacks);
      out->set_rejected(type.rejected);
      out->set_last_nack_error(type.last_nack_error);
      out->set_last_nack_version(type.last_nack_version);
      out->set_resource_count(static_cast<uint32_t>(type.resources.size()));
    }
  }
  return status;
}

grpc::ServerUnaryReactor* XdsStatusService::GetXdsStatus(
    grpc::CallbackServerContext* context, const services::GetXdsStatusRequest*,
    services::GetXdsStatusResponse* response) {
  *response = Status();
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace protomesh::xds
