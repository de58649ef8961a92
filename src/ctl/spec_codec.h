#pragma once
// A resource's spec between its document form (a YAML node) and what the
// store keeps (a google.protobuf.Any), through protobuf's own JSON mapping.
//
// Encoding checks the node against the message's descriptor first, so that
// every problem is reported with its line: unknown fields (with the known
// ones), values of the wrong shape, unknown enum values (with the allowed
// ones), unknown "@type"s. It writes the JSON protobuf expects (YAML scalars
// typed by the field they fill), lets protobuf parse it, and serializes the
// result deterministically, nested Anys included, so equal content gives
// equal bytes whatever the order of the keys in the file.
#include <optional>
#include <string>

#include <yaml-cpp/yaml.h>

#include "absl/status/statusor.h"
#include "src/common/proto_bytes.h"
#include "google/protobuf/any.pb.h"
#include "src/ctl/problem.h"
#include "src/ctl/type_registry.h"

namespace protomesh::ctl {

class SpecCodec {
 public:
  explicit SpecCodec(const TypeRegistry& registry) : registry_(registry) {}

  // `body` holds the fields of kind.body; the result is a kind.spec_type.
  std::optional<google::protobuf::Any> EncodeKind(const Kind& kind, const YAML::Node& body,
                                                  Problems& problems) const;
  // `spec` is an Any in protobuf's JSON form: "@type" plus the fields (or
  // "value", for types with a JSON form of their own such as Duration).
  std::optional<google::protobuf::Any> EncodeAny(const YAML::Node& spec, Problems& problems) const;

  struct Decoded {
    const Kind* kind = nullptr;  // nullptr: `spec` is the "@type" form
    YAML::Node spec;
  };
  // A stored spec in the form EncodeKind or EncodeAny read back to the same
  // bytes: the kind form when the spec is one, else "@type". NOT_FOUND when
  // its type is not in the registry.
  absl::StatusOr<Decoded> Decode(const google::protobuf::Any& spec) const;

  // "HttpIngress", "HttpFilter.JwtAuthn" for our types; full names otherwise.
  static std::string DisplayName(const google::protobuf::Descriptor* type);
  // The message for an "@type" that names no registered message.
  std::string UnknownTypeMessage(const std::string& type_url) const;

 private:
  // Appends the JSON for `node` as a `type`; problems name it as `what`
  // (`field "connect_timeout"`, `spec`).
  void MessageJson(const YAML::Node& node, const google::protobuf::Descriptor* type,
                   const std::string& what, std::string& out, Problems& problems) const;
  // The "key": value pairs of a message's fields, each after a ',' unless
  // `first`; skips "@type" when asked.
  void FieldsJson(const YAML::Node& node, const google::protobuf::Descriptor* type, bool skip_type,
                  bool first, std::string& out, Problems& problems) const;
  void AnyJson(const YAML::Node& node, const std::string& what, std::string& out,
               Problems& problems) const;
  void FieldJson(const YAML::Node& node, const google::protobuf::FieldDescriptor* field,
                 std::string& out, Problems& problems) const;
  void SingularJson(const YAML::Node& node, const google::protobuf::FieldDescriptor* field,
                    std::string& out, Problems& problems) const;
  void ScalarJson(const YAML::Node& node, const google::protobuf::FieldDescriptor* field,
                  const std::string& what, std::string& out, Problems& problems) const;

  // JSON of a `type` to canonical bytes; a protobuf error becomes a problem
  // at `line`.
  std::optional<std::string> JsonToCanonical(const google::protobuf::Descriptor* type,
                                             const std::string& json, int line,
                                             Problems& problems) const;
  void Canonicalize(google::protobuf::Message& message) const;
  std::optional<std::string> Encode(const YAML::Node& node, const google::protobuf::Descriptor* type,
                                    Problems& problems) const;

  const TypeRegistry& registry_;
};

// Deterministic serialization: map entries sorted, fields in number order.
using ::protomesh::SerializeDeterministic;

}  // namespace protomesh::ctl
