#include "src/ctl/spec_codec.h"

#include <charconv>
#include <cstdint>
#include <limits>
#include <map>
#include <regex>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/util/json_util.h"
#include "src/ctl/yaml_json.h"

namespace protomesh::ctl {
namespace {

namespace pb = google::protobuf;
using pb::FieldDescriptor;

constexpr std::string_view kOurPackage = "protomesh.types.v1.";

std::string Quote(const std::string& text) {
  constexpr size_t kMax = 80;
  if (text.size() > kMax) return absl::StrCat("\"", text.substr(0, kMax), "...\"");
  return absl::StrCat("\"", text, "\"");
}

// How a value reads in a message: `"abc"`, `a mapping`, `a list`.
std::string Describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return Quote(node.Scalar());
    default:
      return "null";
  }
}

bool IsWrapper(const std::string& name) {
  static const char* const kWrappers[] = {
      "google.protobuf.DoubleValue", "google.protobuf.FloatValue",  "google.protobuf.Int64Value",
      "google.protobuf.UInt64Value", "google.protobuf.Int32Value",  "google.protobuf.UInt32Value",
      "google.protobuf.BoolValue",   "google.protobuf.StringValue", "google.protobuf.BytesValue"};
  for (const char* wrapper : kWrappers) {
    if (name == wrapper) return true;
  }
  return false;
}

// Types whose JSON is not an object of their fields; inside an Any they sit
// under "value".
bool HasOwnJsonForm(const std::string& name) {
  return IsWrapper(name) || name == "google.protobuf.Duration" ||
         name == "google.protobuf.Timestamp" || name == "google.protobuf.FieldMask" ||
         name == "google.protobuf.Struct" || name == "google.protobuf.Value" ||
         name == "google.protobuf.ListValue" || name == "google.protobuf.Any";
}

// By proto name ("listen_port") or JSON name ("listenPort"), as protobuf's
// JSON parser accepts both.
const FieldDescriptor* FindField(const pb::Descriptor* type, const std::string& key) {
  if (const FieldDescriptor* field = type->FindFieldByName(key); field != nullptr) return field;
  for (int i = 0; i < type->field_count(); ++i) {
    if (type->field(i)->json_name() == key) return type->field(i);
  }
  return nullptr;
}

std::string FieldWhat(const FieldDescriptor* field) {
  return absl::StrCat("field \"", field->name(), "\"");
}

std::string KnownFields(const pb::Descriptor* type) {
  std::vector<std::string> names;
  for (int i = 0; i < type->field_count(); ++i) names.push_back(type->field(i)->name());
  if (names.empty()) return "it has no fields";
  return absl::StrCat("known fields: ", absl::StrJoin(names, ", "));
}

bool ParseInteger(const std::string& text, bool is_unsigned, int bits, std::string& json,
                  bool& out_of_range) {
  static const std::regex integer_re(R"([-+]?[0-9]+)");
  out_of_range = false;
  if (!std::regex_match(text, integer_re)) return false;
  const char* begin = text.data() + (text[0] == '+' ? 1 : 0);
  const char* end = text.data() + text.size();
  if (is_unsigned) {
    uint64_t value = 0;
    auto [ptr, ec] = std::from_chars(begin, end, value);
    if (text[0] == '-' || ec != std::errc() || ptr != end ||
        (bits == 32 && value > std::numeric_limits<uint32_t>::max())) {
      out_of_range = true;
      return true;
    }
    json = bits == 64 ? absl::StrCat("\"", value, "\"") : absl::StrCat(value);
    return true;
  }
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(begin, end, value);
  if (ec != std::errc() || ptr != end ||
      (bits == 32 && (value > std::numeric_limits<int32_t>::max() ||
                      value < std::numeric_limits<int32_t>::min()))) {
    out_of_range = true;
    return true;
  }
  json = bits == 64 ? absl::StrCat("\"", value, "\"") : absl::StrCat(value);
  return true;
}

bool ParseFloat(const std::string& text, std::string& json) {
  static const std::regex number_re(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
  if (std::regex_match(text, number_re)) {
    json = JsonNumber(text, ScalarType::kFloat);
    return true;
  }
  if (text == "NaN" || text == ".nan" || text == ".NaN" || text == ".NAN") {
    json = "\"NaN\"";
    return true;
  }
  if (text == "Infinity" || text == ".inf" || text == ".Inf" || text == ".INF" || text == "+.inf") {
    json = "\"Infinity\"";
    return true;
  }
  if (text == "-Infinity" || text == "-.inf" || text == "-.Inf" || text == "-.INF") {
    json = "\"-Infinity\"";
    return true;
  }
  return false;
}

}  // namespace

std::string SpecCodec::DisplayName(const pb::Descriptor* type) {
  if (type == nullptr) return "";
  const std::string& name = type->full_name();
  if (name.rfind(kOurPackage, 0) == 0) return name.substr(kOurPackage.size());
  return name;
}

std::string SpecCodec::UnknownTypeMessage(const std::string& type_url) const {
  std::string registered = absl::StrJoin(registry_.SpecTypeNames(), ", ");
  if (type_url.rfind(kTypeUrlPrefix, 0) != 0) {
    return absl::StrCat("\"@type\" must be ", kTypeUrlPrefix,
                        "<message full name>, as in ", kTypeUrlPrefix,
                        "protomesh.types.v1.NetworkingNode; got ", Quote(type_url));
  }
  return absl::StrCat("unknown type ", Quote(type_url),
                      " in \"@type\"; spec types: ", registered,
                      " (any message of the type registry may be named)");
}

void SpecCodec::MessageJson(const YAML::Node& node, const pb::Descriptor* type,
                            const std::string& what, std::string& out, Problems& problems) const {
  const std::string& name = type->full_name();
  if (node.IsNull()) {
    out += "null";
    return;
  }
  if (name == "google.protobuf.Any") {
    AnyJson(node, what, out, problems);
    return;
  }
  if (IsWrapper(name)) {
    ScalarJson(node, type->FindFieldByNumber(1), what, out, problems);
    return;
  }
  if (name == "google.protobuf.Struct" || name == "google.protobuf.Value" ||
      name == "google.protobuf.ListValue") {
    bool fits = name == "google.protobuf.Value" ||
                (name == "google.protobuf.Struct" ? node.IsMap() : node.IsSequence());
    if (!fits) {
      problems.push_back({LineOf(node), absl::StrCat(what, " expects ",
                                                     node.IsMap() ? "a list" : "a mapping",
                                                     " (", name, "); got ", Describe(node))});
      out += "null";
      return;
    }
    AppendJson(node, out);
    return;
  }
  if (name == "google.protobuf.Duration" || name == "google.protobuf.Timestamp" ||
      name == "google.protobuf.FieldMask") {
    if (!node.IsScalar()) {
      problems.push_back({LineOf(node), absl::StrCat(what, " expects a string (", name,
                                                     "); got ", Describe(node))});
      out += "null";
      return;
    }
    const std::string& text = node.Scalar();
    if (name == "google.protobuf.Duration") {
      static const std::regex duration_re(R"(-?[0-9]+(\.[0-9]{1,9})?s)");
      if (!std::regex_match(text, duration_re)) {
        problems.push_back(
            {LineOf(node), absl::StrCat(what, " expects a duration in seconds with an \"s\" suffix, "
                                              "like \"2s\" or \"0.250s\"; got ",
                                        Quote(text))});
      }
    } else if (name == "google.protobuf.Timestamp") {
      absl::Time time;
      std::string error;
      if (!absl::ParseTime(absl::RFC3339_full, text, &time, &error)) {
        problems.push_back({LineOf(node), absl::StrCat(what,
                                                       " expects an RFC 3339 timestamp, like "
                                                       "\"2024-01-31T12:00:00Z\"; got ",
                                                       Quote(text))});
      }
    }
    out += JsonQuote(text);
    return;
  }
  if (!node.IsMap()) {
    problems.push_back({LineOf(node), absl::StrCat(what, " expects a mapping (",
                                                   DisplayName(type), "); got ", Describe(node))});
    out += "null";
    return;
  }
  out.push_back('{');
  FieldsJson(node, type, /*skip_type=*/false, /*first=*/true, out, problems);
  out.push_back('}');
}

void SpecCodec::FieldsJson(const YAML::Node& node, const pb::Descriptor* type, bool skip_type,
                           bool first, std::string& out, Problems& problems) const {
  std::map<const FieldDescriptor*, std::string> seen;             // field -> key as spelled
  std::map<const pb::OneofDescriptor*, const FieldDescriptor*> oneofs;  // oneof -> field set
  for (const auto& entry : node) {
    const YAML::Node& key = entry.first;
    if (!key.IsScalar()) {
      problems.push_back({LineOf(key), absl::StrCat("a key of ", DisplayName(type),
                                                    " is not a string")});
      continue;
    }
    const std::string& key_text = key.Scalar();
    if (skip_type && key_text == "@type") continue;
    const FieldDescriptor* field = FindField(type, key_text);
    if (field == nullptr) {
      problems.push_back({LineOf(key), absl::StrCat("unknown field ", Quote(key_text), " in ",
                                                    DisplayName(type), "; ", KnownFields(type))});
      continue;
    }
    if (auto [it, inserted] = seen.emplace(field, key_text); !inserted) {
      problems.push_back({LineOf(key), absl::StrCat("field \"", field->name(), "\" of ",
                                                    DisplayName(type), " is given twice")});
      continue;
    }
    if (const pb::OneofDescriptor* oneof = field->real_containing_oneof();
        oneof != nullptr && !entry.second.IsNull()) {
      auto [it, inserted] = oneofs.emplace(oneof, field);
      if (!inserted) {
        problems.push_back(
            {LineOf(key), absl::StrCat("fields \"", it->second->name(), "\" and \"", field->name(),
                                       "\" of ", DisplayName(type),
                                       " are alternatives (oneof ", oneof->name(),
                                       "): give only one")});
        continue;
      }
    }
    if (!first) out.push_back(',');
    first = false;
    out += JsonQuote(field->name());
    out.push_back(':');
    FieldJson(entry.second, field, out, problems);
  }
}

void SpecCodec::AnyJson(const YAML::Node& node, const std::string& what, std::string& out,
                        Problems& problems) const {
  if (!node.IsMap()) {
    problems.push_back({LineOf(node), absl::StrCat(what, " expects a mapping with \"@type\" "
                                                         "(google.protobuf.Any); got ",
                                                   Describe(node))});
    out += "null";
    return;
  }
  YAML::Node type_node;
  for (const auto& entry : node) {
    if (entry.first.IsScalar() && entry.first.Scalar() == "@type") type_node = entry.second;
  }
  if (!type_node.IsDefined() || !type_node.IsScalar() || type_node.Scalar().empty()) {
    problems.push_back({LineOf(node), absl::StrCat(what, " is a google.protobuf.Any and needs "
                                                         "\"@type\", as in \"@type\": ",
                                                   kTypeUrlPrefix,
                                                   "protomesh.types.v1.NetworkingNode")});
    out += "null";
    return;
  }
  const std::string& type_url = type_node.Scalar();
  const pb::Descriptor* type = registry_.FindMessageByTypeUrl(type_url);
  if (type == nullptr) {
    problems.push_back({LineOf(type_node), UnknownTypeMessage(type_url)});
    out += "null";
    return;
  }
  out += "{\"@type\":";
  out += JsonQuote(type_url);
  if (HasOwnJsonForm(type->full_name())) {
    for (const auto& entry : node) {
      const std::string key = entry.first.IsScalar() ? entry.first.Scalar() : "";
      if (key == "@type") continue;
      if (key != "value") {
        problems.push_back({LineOf(entry.first),
                            absl::StrCat("unknown field ", Quote(key), " in an Any of ",
                                         type->full_name(), "; its JSON form is \"value\"")});
        continue;
      }
      out += ",\"value\":";
      MessageJson(entry.second, type, "\"value\"", out, problems);
    }
  } else {
    FieldsJson(node, type, /*skip_type=*/true, /*first=*/false, out, problems);
  }
  out.push_back('}');
}

void SpecCodec::FieldJson(const YAML::Node& node, const FieldDescriptor* field, std::string& out,
                          Problems& problems) const {
  if (node.IsNull()) {
    out += "null";
    return;
  }
  if (field->is_map()) {
    if (!node.IsMap()) {
      problems.push_back({LineOf(node), absl::StrCat(FieldWhat(field),
                                                     " is a map: expects a mapping; got ",
                                                     Describe(node))});
      out += "null";
      return;
    }
    const FieldDescriptor* value_field = field->message_type()->FindFieldByName("value");
    out.push_back('{');
    bool first = true;
    for (const auto& entry : node) {
      if (!first) out.push_back(',');
      first = false;
      out += JsonQuote(entry.first.IsScalar() ? entry.first.Scalar() : "");
      out.push_back(':');
      SingularJson(entry.second, value_field, out, problems);
    }
    out.push_back('}');
    return;
  }
  if (field->is_repeated()) {
    if (!node.IsSequence()) {
      problems.push_back({LineOf(node), absl::StrCat(FieldWhat(field),
                                                     " is a list: expects a sequence; got ",
                                                     Describe(node))});
      out += "null";
      return;
    }
    out.push_back('[');
    bool first = true;
    for (const auto& element : node) {
      if (!first) out.push_back(',');
      first = false;
      SingularJson(element, field, out, problems);
    }
    out.push_back(']');
    return;
  }
  SingularJson(node, field, out, problems);
}

void SpecCodec::SingularJson(const YAML::Node& node, const FieldDescriptor* field,
                             std::string& out, Problems& problems) const {
  if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
    MessageJson(node, field->message_type(), FieldWhat(field), out, problems);
  } else {
    ScalarJson(node, field, FieldWhat(field), out, problems);
  }
}

void SpecCodec::ScalarJson(const YAML::Node& node, const FieldDescriptor* field,
                           const std::string& what, std::string& out, Problems& problems) const {
  if (node.IsNull()) {
    out += "null";
    return;
  }
  if (field->enum_type() != nullptr && field->enum_type()->full_name() == "google.protobuf.NullValue") {
    out += "null";
    return;
  }
  if (!node.IsScalar()) {
    problems.push_back({LineOf(node), absl::StrCat(what, " expects a single value (",
                                                   field->type_name(), "); got ", Describe(node))});
    out += "null";
    return;
  }
  const std::string& text = node.Scalar();
  std::string json;
  bool out_of_range = false;
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      out += JsonQuote(text);
      return;
    case FieldDescriptor::CPPTYPE_BOOL:
      if (text == "true" || text == "True" || text == "TRUE") {
        out += "true";
      } else if (text == "false" || text == "False" || text == "FALSE") {
        out += "false";
      } else {
        problems.push_back({LineOf(node), absl::StrCat(what, " expects true or false; got ",
                                                       Quote(text))});
        out += "null";
      }
      return;
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_INT64:
    case FieldDescriptor::CPPTYPE_UINT32:
    case FieldDescriptor::CPPTYPE_UINT64: {
      bool is_unsigned = field->cpp_type() == FieldDescriptor::CPPTYPE_UINT32 ||
                         field->cpp_type() == FieldDescriptor::CPPTYPE_UINT64;
      int bits = field->cpp_type() == FieldDescriptor::CPPTYPE_INT32 ||
                         field->cpp_type() == FieldDescriptor::CPPTYPE_UINT32
                     ? 32
                     : 64;
      if (!ParseInteger(text, is_unsigned, bits, json, out_of_range)) {
        problems.push_back({LineOf(node), absl::StrCat(what, " expects an integer (",
                                                       field->type_name(), "); got ", Quote(text))});
        out += "null";
      } else if (out_of_range) {
        problems.push_back({LineOf(node), absl::StrCat(what, ": ", text, " is out of range for ",
                                                       field->type_name())});
        out += "null";
      } else {
        out += json;
      }
      return;
    }
    case FieldDescriptor::CPPTYPE_FLOAT:
    case FieldDescriptor::CPPTYPE_DOUBLE:
      if (!ParseFloat(text, json)) {
        problems.push_back({LineOf(node), absl::StrCat(what, " expects a number (",
                                                       field->type_name(), "); got ", Quote(text))});
        out += "null";
      } else {
        out += json;
      }
      return;
    case FieldDescriptor::CPPTYPE_ENUM: {
      const pb::EnumDescriptor* type = field->enum_type();
      static const std::regex number_re(R"(-?[0-9]+)");
      if (std::regex_match(text, number_re)) {
        out += text;  // proto3 enums are open: any number is kept
        return;
      }
      if (type->FindValueByName(text) != nullptr) {
        out += JsonQuote(text);
        return;
      }
      std::vector<std::string> allowed;
      for (int i = 0; i < type->value_count(); ++i) allowed.push_back(type->value(i)->name());
      std::string enum_name = type->full_name();
      if (enum_name.rfind(kOurPackage, 0) == 0) enum_name = enum_name.substr(kOurPackage.size());
      problems.push_back({LineOf(node), absl::StrCat("unknown value ", Quote(text), " for ", what,
                                                     " (", enum_name, "); allowed: ",
                                                     absl::StrJoin(allowed, ", "))});
      out += "null";
      return;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      break;
  }
  out += "null";
}

std::optional<std::string> SpecCodec::JsonToCanonical(const pb::Descriptor* type,
                                                      const std::string& json, int line,
                                                      Problems& problems) const {
  pb::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  std::string binary;
  auto status = pb::util::JsonToBinaryString(&registry_.resolver(), TypeRegistry::TypeUrl(type),
                                             json, &binary, options);
  if (!status.ok()) {
    problems.push_back({line, absl::StrCat("invalid ", DisplayName(type), ": ",
                                           std::string(status.message()))});
    return std::nullopt;
  }
  std::unique_ptr<pb::Message> message = registry_.NewMessage(type);
  if (!message->ParseFromString(binary)) {
    problems.push_back({line, absl::StrCat("invalid ", DisplayName(type),
                                           ": protobuf's JSON parser produced unreadable bytes")});
    return std::nullopt;
  }
  Canonicalize(*message);
  return SerializeDeterministic(*message);
}

void SpecCodec::Canonicalize(pb::Message& message) const {
  const pb::Reflection* reflection = message.GetReflection();
  if (message.GetDescriptor()->full_name() == "google.protobuf.Any") {
    const pb::Descriptor* any = message.GetDescriptor();
    const FieldDescriptor* type_url_field = any->FindFieldByNumber(1);
    const FieldDescriptor* value_field = any->FindFieldByNumber(2);
    const pb::Descriptor* type =
        registry_.FindMessageByTypeUrl(reflection->GetString(message, type_url_field));
    if (type == nullptr) return;
    std::unique_ptr<pb::Message> inner = registry_.NewMessage(type);
    if (!inner->ParseFromString(reflection->GetString(message, value_field))) return;
    Canonicalize(*inner);
    reflection->SetString(&message, value_field, SerializeDeterministic(*inner));
    return;
  }
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const FieldDescriptor* field : fields) {
    if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) continue;
    if (field->is_repeated()) {
      int size = reflection->FieldSize(message, field);
      for (int i = 0; i < size; ++i) {
        Canonicalize(*reflection->MutableRepeatedMessage(&message, field, i));
      }
    } else {
      Canonicalize(*reflection->MutableMessage(&message, field));
    }
  }
}

std::optional<std::string> SpecCodec::Encode(const YAML::Node& node, const pb::Descriptor* type,
                                             Problems& problems) const {
  std::string json;
  size_t before = problems.size();
  MessageJson(node, type, "spec", json, problems);
  if (problems.size() > before) return std::nullopt;
  return JsonToCanonical(type, json, LineOf(node), problems);
}

std::optional<pb::Any> SpecCodec::EncodeKind(const Kind& kind, const YAML::Node& body,
                                             Problems& problems) const {
  std::optional<std::string> bytes = Encode(body, kind.body, problems);
  if (!bytes.has_value()) return std::nullopt;
  pb::Any any;
  any.set_type_url(TypeRegistry::TypeUrl(kind.spec_type));
  if (kind.envelope_field == nullptr) {
    any.set_value(*bytes);
    return any;
  }
  std::unique_ptr<pb::Message> envelope = registry_.NewMessage(kind.spec_type);
  envelope->GetReflection()->MutableMessage(envelope.get(), kind.envelope_field)->ParseFromString(*bytes);
  any.set_value(SerializeDeterministic(*envelope));
  return any;
}

std::optional<pb::Any> SpecCodec::EncodeAny(const YAML::Node& spec, Problems& problems) const {
  std::optional<std::string> bytes =
      Encode(spec, pb::Any::descriptor(), problems);
  if (!bytes.has_value()) return std::nullopt;
  pb::Any any;
  if (!any.ParseFromString(*bytes)) {
    problems.push_back({LineOf(spec), "invalid spec: not a google.protobuf.Any"});
    return std::nullopt;
  }
  return any;
}

absl::StatusOr<SpecCodec::Decoded> SpecCodec::Decode(const pb::Any& spec) const {
  pb::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  Decoded decoded;
  decoded.kind = registry_.KindOf(spec);
  std::string json;
  if (decoded.kind != nullptr) {
    std::string body = spec.value();
    if (decoded.kind->envelope_field != nullptr) {
      std::unique_ptr<pb::Message> envelope = registry_.NewMessage(decoded.kind->spec_type);
      envelope->ParseFromString(spec.value());
      body = SerializeDeterministic(
          envelope->GetReflection()->GetMessage(*envelope, decoded.kind->envelope_field));
    }
    auto status = pb::util::BinaryToJsonString(&registry_.resolver(),
                                               TypeRegistry::TypeUrl(decoded.kind->body), body,
                                               &json, options);
    if (!status.ok()) {
      return absl::DataLossError(absl::StrCat("cannot print a ", decoded.kind->name, ": ",
                                              std::string(status.message())));
    }
  } else {
    if (registry_.FindMessageByTypeUrl(spec.type_url()) == nullptr) {
      return absl::NotFoundError(absl::StrCat("spec type ", spec.type_url(),
                                              " is not in the type registry"));
    }
    auto status = pb::util::BinaryToJsonString(&registry_.resolver(),
                                               TypeRegistry::TypeUrl(pb::Any::descriptor()),
                                               SerializeDeterministic(spec), &json, options);
    if (!status.ok()) {
      return absl::DataLossError(absl::StrCat("cannot print a spec of type ", spec.type_url(), ": ",
                                              std::string(status.message())));
    }
  }
  try {
    decoded.spec = YAML::Load(json);
  } catch (const YAML::Exception& e) {
    return absl::InternalError(absl::StrCat("cannot read protobuf's JSON back: ", e.what()));
  }
  return decoded;
}

}  // namespace protomesh::ctl
