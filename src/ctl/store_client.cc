#include "src/ctl/store_client.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "src/ctl/errors.h"
#include "src/ctl/grpc_channel.h"

namespace protomesh::ctl {
namespace {

constexpr int kPageSize = 1000;

}  // namespace

absl::StatusOr<std::unique_ptr<StoreClient>> StoreClient::Create(const Settings& settings) {
  auto channel = CreateChannel(settings, settings.server);
  if (!channel.ok()) return channel.status();
  return std::unique_ptr<StoreClient>(
      new StoreClient(*channel, settings.server, UsesTls(settings), settings.timeout));
}

StoreClient::StoreClient(std::shared_ptr<grpc::Channel> channel, std::string server, bool tls,
                         absl::Duration timeout)
    : channel_(std::move(channel)),
      stub_(svc::ResourceStore::NewStub(channel_)),
      server_(std::move(server)),
      tls_(tls),
      timeout_(timeout) {}

void StoreClient::SetDeadline(grpc::ClientContext& context) const {
  if (timeout_ > absl::ZeroDuration()) {
    context.set_deadline(absl::ToChronoTime(absl::Now() + timeout_));
  }
}

absl::Status StoreClient::Error(const grpc::Status& status) const {
  return StoreError(status, server_, tls_);
}

absl::StatusOr<svc::ApplyResponse> StoreClient::Apply(const svc::ApplyRequest& request) {
  grpc::ClientContext context;
  SetDeadline(context);
  svc::ApplyResponse response;
  grpc::Status status = stub_->Apply(&context, request, &response);
  if (!status.ok()) return Error(status);
  return response;
}

absl::StatusOr<protomesh::types::v1::Resource> StoreClient::Get(const std::string& ns,
                                                                const std::string& id,
                                                                int64_t revision) {
  grpc::ClientContext context;
  SetDeadline(context);
  svc::GetResourceRequest request;
  request.set_namespace_(ns);
  request.set_resource_id(id);
  request.set_revision(revision);
  svc::GetResourceResponse response;
  grpc::Status status = stub_->Get(&context, request, &response);
  if (!status.ok()) return Error(status);
  return response.resource();
}

absl::StatusOr<StoreClient::Listing> StoreClient::List(const std::string& ns,
                                                       const std::vector<std::string>& type_urls,
                                                       const std::string& name_prefix,
                                                       int64_t revision) {
  Listing listing;
  svc::ListResourcesRequest request;
  request.set_namespace_(ns);
  request.set_page_size(kPageSize);
  for (const std::string& url : type_urls) request.add_type_urls(url);
  request.set_name_prefix(name_prefix);
  request.set_revision(revision);
  do {
    grpc::ClientContext context;
    SetDeadline(context);
    svc::ListResourcesResponse response;
    grpc::Status status = stub_->List(&context, request, &response);
    if (!status.ok()) return Error(status);
    for (auto& resource : *response.mutable_resources()) {
      listing.resources.push_back(std::move(resource));
    }
    listing.revision = response.revision();
    request.set_page_token(response.next_page_token());
  } while (!request.page_token().empty());
  return listing;
}

absl::StatusOr<std::vector<svc::ResourceChange>> StoreClient::History(const std::string& ns,
                                                                      const std::string& id) {
  std::vector<svc::ResourceChange> changes;
  svc::ResourceHistoryRequest request;
  request.set_namespace_(ns);
  request.set_resource_id(id);
  request.set_page_size(kPageSize);
  do {
    grpc::ClientContext context;
    SetDeadline(context);
    svc::ResourceHistoryResponse response;
    grpc::Status status = stub_->History(&context, request, &response);
    if (!status.ok()) return Error(status);
    for (auto& change : *response.mutable_changes()) changes.push_back(std::move(change));
    request.set_page_token(response.next_page_token());
  } while (!request.page_token().empty());
  return changes;
}

std::unique_ptr<grpc::ClientReader<svc::WatchResourcesResponse>> StoreClient::Watch(
    grpc::ClientContext& context, const svc::WatchResourcesRequest& request) {
  return stub_->Watch(&context, request);
}

}  // namespace protomesh::ctl
