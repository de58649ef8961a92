#pragma once
// The message types protomeshctl can read and write, and the short kinds.
//
// Types come from a descriptor pool layered over protobuf's generated pool,
// so our own types (protomesh.types.v1) and the well-known types are there
// from the start, and more can be added from a FileDescriptorSet (Envoy's
// API is added this way). Any message of the
// pool can be a spec through "@type"; a kind is a short name for a spec
// type, optionally wrapped in an envelope message: `kind: HttpIngress` is a
// NetworkingNode with http_ingress set.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "google/protobuf/any.pb.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/util/type_resolver.h"

namespace protomesh::ctl {

inline constexpr char kTypeUrlPrefix[] = "type.googleapis.com/";

struct Kind {
  std::string name;                                   // "HttpIngress"
  const google::protobuf::Descriptor* body = nullptr;  // what `spec:` holds
  // The type the store keeps: the envelope, or body itself.
  const google::protobuf::Descriptor* spec_type = nullptr;
  // The envelope's field holding body; nullptr when stored as itself.
  const google::protobuf::FieldDescriptor* envelope_field = nullptr;
};

class TypeRegistry {
 public:
  // Our types and kinds: HttpIngress, Service, RoutingPolicy and InstanceSet
  // in a NetworkingNode, Trigger in a Process, GatewayPolicy and
  // EnvoyResource as themselves; and Envoy's API (every type of the closure
  // protomesh-xds uses) with the kinds EnvoyCluster, EnvoyListener,
  // EnvoyRouteConfiguration and EnvoyClusterLoadAssignment, stored as
  // themselves.
  static std::unique_ptr<TypeRegistry> CreateDefault();
  ~TypeRegistry();
  TypeRegistry(const TypeRegistry&) = delete;
  TypeRegistry& operator=(const TypeRegistry&) = delete;

  // Adds the files of a FileDescriptorSet (as `protoc --include_imports
  // --descriptor_set_out` writes it: dependencies first). Files the pool
  // already has, identical, are skipped.
  absl::Status AddFiles(const google::protobuf::FileDescriptorSet& files);
  absl::Status AddSerializedFiles(std::string_view serialized_file_descriptor_set);

  // Registers a kind. `spec_type` is a message's full name; with
  // `envelope_field`, the kind's body is that (message) field of spec_type.
  absl::Status AddKind(std::string name, std::string_view spec_type,
                       std::string_view envelope_field = "");
  // A spec type to name in errors and help (kinds' types are named anyway).
  absl::Status AddSpecType(std::string_view full_name);

  // By name, ignoring case; nullptr when unknown.
  const Kind* FindKind(std::string_view name) const;
  // Kind names, sorted.
  std::vector<std::string> KindNames() const;
  // Registered spec types' full names (kinds' and AddSpecType's), sorted.
  std::vector<std::string> SpecTypeNames() const;

  const google::protobuf::Descriptor* FindMessage(std::string_view full_name) const;
  // nullptr unless the URL is kTypeUrlPrefix + a message of the pool.
  const google::protobuf::Descriptor* FindMessageByTypeUrl(std::string_view type_url) const;
  static std::string TypeUrl(const google::protobuf::Descriptor* type);

  // The kind a stored spec is written as: its type is a kind's spec type and,
  // for an envelope, that kind's field is the one set. nullptr otherwise.
  const Kind* KindOf(const google::protobuf::Any& spec) const;

  // A new, empty message of `type` (generated class when there is one).
  std::unique_ptr<google::protobuf::Message> NewMessage(
      const google::protobuf::Descriptor* type) const;

  const google::protobuf::DescriptorPool& pool() const { return *pool_; }
  // Resolves kTypeUrlPrefix URLs against pool(), for protobuf's JSON mapping.
  google::protobuf::util::TypeResolver& resolver() const { return *resolver_; }

 private:
  TypeRegistry();

  std::unique_ptr<google::protobuf::DescriptorPool> pool_;
  std::unique_ptr<google::protobuf::util::TypeResolver> resolver_;
  std::unique_ptr<google::protobuf::DynamicMessageFactory> factory_;
  std::vector<Kind> kinds_;
  std::vector<std::string> spec_types_;
};

}  // namespace protomesh::ctl
