#include "src/ctl/type_registry.h"

#include <algorithm>
#include <cstdlib>
#include <tuple>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "api/types/v1/gateway.pb.h"
#include "api/types/v1/envoy.pb.h"
#include "api/types/v1/networking.pb.h"
#include "api/types/v1/process.pb.h"
#include "google/protobuf/util/type_resolver_util.h"
#include "src/xds/envoy_api/descriptor_set.h"

namespace protomesh::ctl {
namespace {

namespace pb = google::protobuf;

absl::string_view Absl(std::string_view s) { return absl::string_view(s.data(), s.size()); }

}  // namespace

TypeRegistry::TypeRegistry()
    : pool_(std::make_unique<pb::DescriptorPool>(pb::DescriptorPool::generated_pool())),
      resolver_(pb::util::NewTypeResolverForDescriptorPool("type.googleapis.com", pool_.get())),
      factory_(std::make_unique<pb::DynamicMessageFactory>(pool_.get())) {
  factory_->SetDelegateToGeneratedFactory(true);
}

TypeRegistry::~TypeRegistry() = default;

std::unique_ptr<TypeRegistry> TypeRegistry::CreateDefault() {
  auto registry = std::unique_ptr<TypeRegistry>(new TypeRegistry());
  // Naming the generated classes links their descriptors into the binary.
  const std::string networking_node = types::v1::NetworkingNode::descriptor()->full_name();
  const std::string process = types::v1::Process::descriptor()->full_name();
  const std::string gateway_policy = types::v1::GatewayPolicy::descriptor()->full_name();
  const std::string envoy_resource = types::v1::EnvoyResource::descriptor()->full_name();
  // Envoy's API, so raw Envoy resources (and the typed configs inside them)
  // can be applied from YAML.
  if (!registry->AddSerializedFiles(xds::EnvoyApiDescriptorSet()).ok()) std::abort();
  for (const auto& [kind, type, field] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"HttpIngress", networking_node, "http_ingress"},
           {"Service", networking_node, "service"},
           {"RoutingPolicy", networking_node, "routing_policy"},
           {"InstanceSet", networking_node, "instance_set"},
           {"GatewayPolicy", gateway_policy, ""},
           {"Trigger", process, "trigger"},
           {"EnvoyResource", envoy_resource, ""},
           {"EnvoyCluster", "envoy.config.cluster.v3.Cluster", ""},
           {"EnvoyListener", "envoy.config.listener.v3.Listener", ""},
           {"EnvoyRouteConfiguration", "envoy.config.route.v3.RouteConfiguration", ""},
           {"EnvoyClusterLoadAssignment", "envoy.config.endpoint.v3.ClusterLoadAssignment", ""}}) {
    absl::Status status = registry->AddKind(kind, type, field);
    // Our own types and the embedded Envoy API: a failure here is a bug in
    // this list.
    if (!status.ok()) std::abort();
  }
  return registry;
}

absl::Status TypeRegistry::AddFiles(const pb::FileDescriptorSet& files) {
  for (const pb::FileDescriptorProto& file : files.file()) {
    if (pool_->BuildFile(file) == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cannot add ", file.name(),
          " to the type registry: it conflicts with a file already there, or a dependency is "
          "missing or comes after it"));
    }
  }
  return absl::OkStatus();
}

absl::Status TypeRegistry::AddSerializedFiles(std::string_view serialized) {
  pb::FileDescriptorSet files;
  if (!files.ParseFromArray(serialized.data(), static_cast<int>(serialized.size()))) {
    return absl::InvalidArgumentError("not a serialized google.protobuf.FileDescriptorSet");
  }
  return AddFiles(files);
}

absl::Status TypeRegistry::AddKind(std::string name, std::string_view spec_type,
                                   std::string_view envelope_field) {
  if (FindKind(name) != nullptr) {
    return absl::AlreadyExistsError(absl::StrCat("kind ", name, " is already registered"));
  }
  Kind kind;
  kind.name = std::move(name);
  kind.spec_type = FindMessage(spec_type);
  if (kind.spec_type == nullptr) {
    return absl::NotFoundError(absl::StrCat("kind ", kind.name, ": no message type ", Absl(spec_type)));
  }
  kind.body = kind.spec_type;
  if (!envelope_field.empty()) {
    kind.envelope_field = kind.spec_type->FindFieldByName(std::string(envelope_field));
    if (kind.envelope_field == nullptr || kind.envelope_field->is_repeated() ||
        kind.envelope_field->message_type() == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("kind ", kind.name, ": ", Absl(spec_type),
                                                     " has no singular message field ",
                                                     Absl(envelope_field)));
    }
    kind.body = kind.envelope_field->message_type();
  }
  kinds_.push_back(std::move(kind));
  return absl::OkStatus();
}

absl::Status TypeRegistry::AddSpecType(std::string_view full_name) {
  if (FindMessage(full_name) == nullptr) {
    return absl::NotFoundError(absl::StrCat("no message type ", Absl(full_name)));
  }
  spec_types_.emplace_back(full_name);
  return absl::OkStatus();
}

const Kind* TypeRegistry::FindKind(std::string_view name) const {
  for (const Kind& kind : kinds_) {
    if (absl::EqualsIgnoreCase(Absl(kind.name), Absl(name))) return &kind;
  }
  return nullptr;
}

std::vector<std::string> TypeRegistry::KindNames() const {
  std::vector<std::string> names;
  for (const Kind& kind : kinds_) names.push_back(kind.name);
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> TypeRegistry::SpecTypeNames() const {
  std::vector<std::string> names = spec_types_;
  for (const Kind& kind : kinds_) names.push_back(kind.spec_type->full_name());
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

const pb::Descriptor* TypeRegistry::FindMessage(std::string_view full_name) const {
  return pool_->FindMessageTypeByName(std::string(full_name));
}

const pb::Descriptor* TypeRegistry::FindMessageByTypeUrl(std::string_view type_url) const {
  constexpr std::string_view prefix = kTypeUrlPrefix;
  if (type_url.substr(0, prefix.size()) != prefix) return nullptr;
  return FindMessage(type_url.substr(prefix.size()));
}

std::string TypeRegistry::TypeUrl(const pb::Descriptor* type) {
  return absl::StrCat(kTypeUrlPrefix, type->full_name());
}

const Kind* TypeRegistry::KindOf(const pb::Any& spec) const {
  const pb::Descriptor* type = FindMessageByTypeUrl(spec.type_url());
  if (type == nullptr) return nullptr;
  std::unique_ptr<pb::Message> envelope;
  for (const Kind& kind : kinds_) {
    if (kind.spec_type != type) continue;
    if (kind.envelope_field == nullptr) return &kind;
    if (envelope == nullptr) {
      envelope = NewMessage(type);
      if (!envelope->ParseFromString(spec.value())) return nullptr;
    }
    if (envelope->GetReflection()->HasField(*envelope, kind.envelope_field)) return &kind;
  }
  return nullptr;
}

std::unique_ptr<pb::Message> TypeRegistry::NewMessage(const pb::Descriptor* type) const {
  return std::unique_ptr<pb::Message>(factory_->GetPrototype(type)->New());
}

}  // namespace protomesh::ctl
