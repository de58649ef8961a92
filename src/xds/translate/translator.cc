// Translate(): classifies the store's resources, runs the stages (one file
// each) in dependency order, then hashes and freezes one snapshot per node
// cluster. Shared helpers of the stages live here too.
#include "src/xds/translate/translator.h"

#include "src/common/proto_bytes.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <algorithm>
#include <memory>
#include <tuple>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "api/types/v1/envoy.pb.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "src/xds/envoy_descriptors.h"
#include "src/xds/translate/internal.h"

namespace protomesh::xds {
namespace translate {
namespace {

namespace pb = google::protobuf;
using types::v1::NetworkingNode;
using types::v1::Resource;

std::string Sha256Hex(absl::string_view bytes) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

// The full name in a type URL ("type.googleapis.com/a.b.C" -> "a.b.C").
absl::string_view TypeName(absl::string_view type_url) {
  size_t slash = type_url.rfind('/');
  return slash == absl::string_view::npos ? type_url : type_url.substr(slash + 1);
}

}  // namespace

void ParsedSpecs::Begin() {
  ++generation_;
  extra_.clear();
}

const ParsedSpecs::Parsed& ParsedSpecs::Get(const Resource& resource) {
  static const Parsed kIgnored;
  const pb::Any& spec = resource.spec();
  Kind kind = Kind::kIgnored;
  if (TypeName(spec.type_url()) == NetworkingNode::descriptor()->full_name()) {
    kind = Kind::kNetworkingNode;
  } else if (IsRawSpec(spec)) {
    kind = Kind::kRaw;
  }
  if (kind == Kind::kIgnored) return kIgnored;

  Parsed& kept = by_id_[resource.id()];
  if (kept.generation != 0 && kept.type_url == spec.type_url() && kept.value == spec.value()) {
    kept.generation = generation_;
    return kept;
  }
  // Another version of a resource this translation already uses must not
  // replace it: the Inputs refer to it.
  Parsed* parsed = &kept;
  if (kept.generation == generation_) {
    parsed = extra_.emplace_back(std::make_unique<Parsed>()).get();
  }
  *parsed = Parsed{};
  parsed->kind = kind;
  parsed->type_url = spec.type_url();
  parsed->value = spec.value();
  parsed->generation = generation_;
  if (kind == Kind::kNetworkingNode) {
    NetworkingNode node;
    if (node.ParseFromString(spec.value())) parsed->node = std::move(node);
  } else {
    absl::StatusOr<RawResource> raw = ParseRaw(resource);
    if (raw.ok()) {
      raw->resource = nullptr;
      parsed->raw = *std::move(raw);
    } else {
      parsed->raw_error = std::string(raw.status().message());
      types::v1::EnvoyResource wrapper;
      if (spec.UnpackTo(&wrapper)) parsed->raw_error_scope = wrapper.xds_cluster_name();
    }
  }
  return *parsed;
}

void ParsedSpecs::Sweep() {
  for (auto it = by_id_.begin(); it != by_id_.end();) {
    it = it->second.generation == generation_ ? std::next(it) : by_id_.erase(it);
  }
}

Inputs Classify(const ResourceRefs& resources, Errors& errors, ParsedSpecs& specs) {
  std::vector<const Resource*> sorted = resources;
  std::sort(sorted.begin(), sorted.end(), [](const Resource* a, const Resource* b) {
    return std::tie(a->name(), a->id()) < std::tie(b->name(), b->id());
  });

  specs.Begin();
  Inputs inputs;
  for (const Resource* resource : sorted) {
    const ParsedSpecs::Parsed& parsed = specs.Get(*resource);
    if (parsed.kind == ParsedSpecs::Kind::kNetworkingNode) {
      if (!parsed.node) {
        errors.Report(*resource, "the spec does not parse as a NetworkingNode");
        continue;
      }
      const NetworkingNode& node = *parsed.node;
      switch (node.networking_node_case()) {
        case NetworkingNode::kHttpIngress:
          inputs.node_clusters.insert(node.http_ingress().xds_cluster_name());
          inputs.ingresses.push_back({resource, node.http_ingress()});
          break;
        case NetworkingNode::kService:
          inputs.node_clusters.insert(node.service().xds_cluster_name());
          inputs.services.push_back({resource, node.service()});
          break;
        case NetworkingNode::kRoutingPolicy:
          inputs.node_clusters.insert(node.routing_policy().xds_cluster_name());
          inputs.policies.push_back({resource, node.routing_policy()});
          break;
        case NetworkingNode::kInstanceSet:
          inputs.instance_sets.push_back({resource, node.instance_set()});
          break;
        case NetworkingNode::NETWORKING_NODE_NOT_SET:
          errors.Report(*resource,
                        "the NetworkingNode sets none of http_ingress, service, routing_policy "
                        "and instance_set");
          break;
      }
    } else if (parsed.kind == ParsedSpecs::Kind::kRaw) {
      if (!parsed.raw) {
        errors.Report(*resource, parsed.raw_error);
        // Its scope still names a node cluster, when it can be read.
        if (!parsed.raw_error_scope.empty()) inputs.node_clusters.insert(parsed.raw_error_scope);
        continue;
      }
      RawResource raw = *parsed.raw;
      raw.resource = resource;
      if (!raw.xds_cluster_name.empty()) inputs.node_clusters.insert(raw.xds_cluster_name);
      inputs.raw.push_back(std::move(raw));
    }
  }
  specs.Sweep();
  return inputs;
}

namespace {

std::string TypeVersion(const std::map<std::string, XdsResourcePtr>& resources) {
  std::string pairs;
  for (const auto& [name, resource] : resources) {
    absl::StrAppend(&pairs, name.size(), ":", name, resource->version, "\n");
  }
  return Sha256Hex(pairs);
}

}  // namespace

NodeSnapshotPtr Freeze(NodeBuild& build) {
  auto snapshot = std::make_shared<NodeSnapshot>();
  const std::pair<const char*, std::map<std::string, Entry>*> types[] = {
      {kClusterType, &build.clusters},
      {kEndpointType, &build.endpoints},
      {kListenerType, &build.listeners},
      {kRouteType, &build.routes}};
  for (const auto& [type_url, entries] : types) {
    auto& resources = snapshot->resources[type_url];
    for (auto& [name, entry] : *entries) {
      auto resource = std::make_shared<XdsResource>();
      resource->name = name;
      resource->version = ContentVersion(entry.any);
      resource->resource = std::move(entry.any);
      resources.emplace(name, std::move(resource));
    }
    snapshot->type_versions[type_url] = TypeVersion(resources);
  }
  return snapshot;
}

void RunStages(const Inputs& inputs, Nodes& nodes, Errors& errors) {
  TranslateServices(inputs, nodes, errors);
  AddRaw(inputs, kClusterType, nodes, errors);
  TranslateListeners(inputs, nodes, errors);
  AddRaw(inputs, kListenerType, nodes, errors);
  TranslateRoutes(inputs, nodes, errors);
  AddRaw(inputs, kRouteType, nodes, errors);
  TranslateEndpoints(inputs, nodes, errors);
  AddRaw(inputs, kEndpointType, nodes, errors);
  AddEmptyEndpoints(nodes);
}

void Errors::Report(const Resource& resource, std::string message) {
  errors_.push_back(
      TranslationError{resource.namespace_(), resource.id(), resource.name(), std::move(message)});
}

pb::Any Pack(const pb::Message& message) {
  pb::Any any;
  any.set_type_url(absl::StrCat(kAnyPrefix, message.GetDescriptor()->full_name()));
  any.set_value(SerializeDeterministic(message));
  return any;
}

absl::StatusOr<pb::Any> Canonical(const pb::Any& any) {
  const pb::Descriptor* descriptor =
      EnvoyDescriptorPool().FindMessageTypeByName(std::string(TypeName(any.type_url())));
  if (descriptor == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("unknown Envoy type ", any.type_url()));
  }
  static pb::DynamicMessageFactory* factory = new pb::DynamicMessageFactory(&EnvoyDescriptorPool());
  std::unique_ptr<pb::Message> message(factory->GetPrototype(descriptor)->New());
  if (!message->ParseFromString(any.value())) {
    return absl::InvalidArgumentError(
        absl::StrCat("the bytes do not parse as ", descriptor->full_name()));
  }
  pb::Any canonical;
  canonical.set_type_url(absl::StrCat(kAnyPrefix, descriptor->full_name()));
  canonical.set_value(SerializeDeterministic(*message));
  return canonical;
}

const Entry* Claim(std::map<std::string, Entry>& entries, const std::string& name, Entry entry) {
  auto [it, inserted] = entries.try_emplace(name, std::move(entry));
  return inserted ? nullptr : &it->second;
}

std::string Owner(absl::string_view kind, const Resource& resource) {
  return absl::StrCat(kind, " \"", resource.name(), "\"");
}

absl::Status CheckDuration(const pb::Duration& duration, absl::string_view what, bool positive) {
  constexpr int64_t kMaxSeconds = 315576000000;  // 10,000 years, as protobuf's bound
  const bool well_formed = duration.seconds() >= -kMaxSeconds &&
                           duration.seconds() <= kMaxSeconds && duration.nanos() > -1000000000 &&
                           duration.nanos() < 1000000000 &&
                           !(duration.seconds() > 0 && duration.nanos() < 0) &&
                           !(duration.seconds() < 0 && duration.nanos() > 0);
  if (!well_formed)
    return absl::InvalidArgumentError(absl::StrCat(what, " is not a valid duration"));
  const bool negative = duration.seconds() < 0 || duration.nanos() < 0;
  const bool zero = duration.seconds() == 0 && duration.nanos() == 0;
  if (negative || (positive && zero)) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, positive ? " must be positive" : " must not be negative"));
  }
  return absl::OkStatus();
}

bool IsHeaderName(absl::string_view name) {
  if (!name.empty() && name.front() == ':') name.remove_prefix(1);
  if (name.empty()) return false;
  for (char c : name) {
    const bool token = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                       absl::string_view("!#$%&'*+-.^_|~`").find(c) != absl::string_view::npos;
    if (!token) return false;
  }
  return true;
}

bool IsHeaderValue(absl::string_view value) {
  return value.find_first_of(absl::string_view("\0\r\n", 3)) == absl::string_view::npos;
}

}  // namespace translate

std::string ContentVersion(const google::protobuf::Any& resource) {
  if (!resource.GetReflection()->GetUnknownFields(resource).empty()) {
    return translate::Sha256Hex(SerializeDeterministic(resource));
  }
  // The deterministic serialization of an Any is its type_url and value
  // fields, in that order, each left out when empty: hash those pieces as
  // they are rather than copy the resource into a serialization first.
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(),
                                                                  &EVP_MD_CTX_free);
  EVP_DigestInit_ex(context.get(), EVP_sha256(), nullptr);
  auto field = [&](int number, const std::string& bytes) {
    if (bytes.empty()) return;
    uint8_t header[1 + 5];  // a tag byte and a varint32 of up to 5 bytes
    header[0] = static_cast<uint8_t>(number << 3 | 2);  // length-delimited
    uint8_t* end = google::protobuf::io::CodedOutputStream::WriteVarint32ToArray(
        static_cast<uint32_t>(bytes.size()), header + 1);
    EVP_DigestUpdate(context.get(), header, static_cast<size_t>(end - header));
    EVP_DigestUpdate(context.get(), bytes.data(), bytes.size());
  };
  field(google::protobuf::Any::kTypeUrlFieldNumber, resource.type_url());
  field(google::protobuf::Any::kValueFieldNumber, resource.value());
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(context.get(), digest, &length);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), length));
}

ResourceRefs RefsOf(const std::vector<types::v1::Resource>& resources) {
  ResourceRefs refs;
  refs.reserve(resources.size());
  for (const auto& resource : resources) refs.push_back(&resource);
  return refs;
}

Translation Translate(const std::vector<types::v1::Resource>& resources, int64_t revision) {
  return Translate(RefsOf(resources), revision);
}

Translation Translate(const ResourceRefs& resources, int64_t revision) {
  using namespace translate;  // NOLINT: the stages
  Errors errors;
  ParsedSpecs specs;
  Inputs inputs = Classify(resources, errors, specs);
  Nodes nodes;
  for (const std::string& node_cluster : inputs.node_clusters) nodes[node_cluster];

  RunStages(inputs, nodes, errors);

  Translation translation;
  translation.revision = revision;
  for (auto& [node_cluster, build] : nodes) translation.snapshots[node_cluster] = Freeze(build);
  translation.errors = errors.Take();
  return translation;
}

}  // namespace protomesh::xds
