#include "src/ctl/document.h"

#include <map>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/time_util.h"
#include "src/common/namespace_rule.h"
#include "src/common/uuid.h"
#include "src/ctl/resource_id.h"
#include "src/ctl/yaml_json.h"

namespace protomesh::ctl {
namespace {

using protomesh::types::v1::Resource;

constexpr const char* kDocumentFields[] = {"kind", "namespace", "name", "id", "spec", "status"};
constexpr size_t kMaxNameBytes = 253;
std::string Quote(const std::string& text) { return absl::StrCat("\"", text, "\""); }

}  // namespace

std::string NamespaceProblem(const std::string& ns) {
  if (IsValidNamespace(ns)) return "";
  return absl::StrCat("namespace ", Quote(ns),
                      " is not a DNS label (1 to 63 lowercase letters, digits or '-', starting and "
                      "ending with a letter or digit)");
}

absl::StatusOr<std::vector<Document>> DocumentCodec::Read(
    const std::vector<SourceDocument>& sources, const DocumentDefaults& defaults) const {
  std::vector<Document> documents;
  std::vector<std::string> errors;
  std::map<std::pair<std::string, std::string>, const Document*> by_key;  // (ns, id)
  for (const SourceDocument& source : sources) {
    Problems problems;
    std::optional<Document> document = ReadOne(source, defaults, problems);
    for (const Problem& problem : problems) {
      errors.push_back(absl::StrCat(DocumentName(source), " (line ", problem.line, "): ",
                                    problem.message));
    }
    if (document.has_value()) documents.push_back(std::move(*document));
  }
  for (const Document& document : documents) {
    const Resource& resource = document.resource;
    auto [it, inserted] = by_key.emplace(std::make_pair(resource.namespace_(), resource.id()), &document);
    if (!inserted) {
      errors.push_back(absl::StrCat(DocumentName(document.source), " (line ", document.line,
                                    "): resource ", resource.namespace_(), "/", resource.name(),
                                    " (id ", resource.id(), ") is also ",
                                    DocumentName(it->second->source),
                                    "; a resource can be applied once per invocation"));
    }
  }
  if (!errors.empty()) return absl::InvalidArgumentError(absl::StrJoin(errors, "\n"));
  return documents;
}

std::optional<Document> DocumentCodec::ReadOne(const SourceDocument& source,
                                               const DocumentDefaults& defaults,
                                               Problems& problems) const {
  const YAML::Node& node = source.node;
  const int line = LineOf(node);
  if (!node.IsMap()) {
    problems.push_back({line, absl::StrCat("a document is a mapping with kind, namespace, name, id "
                                           "and spec; got ",
                                           node.IsSequence() ? "a list" : "a scalar")});
    return std::nullopt;
  }
  std::map<std::string, YAML::Node> fields;
  size_t before = problems.size();
  for (const auto& entry : node) {
    std::string key = entry.first.IsScalar() ? entry.first.Scalar() : "";
    bool known = false;
    for (const char* field : kDocumentFields) known = known || key == field;
    if (!known) {
      problems.push_back({LineOf(entry.first),
                          absl::StrCat("unknown field ", Quote(key),
                                       " in the document; known fields: kind, namespace, name, "
                                       "id, spec, status")});
      continue;
    }
    if (!fields.emplace(key, entry.second).second) {
      problems.push_back({LineOf(entry.first), absl::StrCat("field ", Quote(key), " is given twice")});
    }
  }
  // The text of a scalar field; empty when absent.
  auto text_of = [&](const char* name) -> std::string {
    auto it = fields.find(name);
    if (it == fields.end() || it->second.IsNull()) return "";
    if (!it->second.IsScalar()) {
      problems.push_back({LineOf(it->second), absl::StrCat(Quote(name), " must be a string")});
      return "";
    }
    return it->second.Scalar();
  };
  auto line_of = [&](const char* name) {
    auto it = fields.find(name);
    return it == fields.end() ? line : LineOf(it->second);
  };

  Document document;
  document.source = source;
  document.line = line;
  Resource& resource = document.resource;

  std::string name = text_of("name");
  if (name.empty()) {
    problems.push_back({line, "the document has no name"});
  } else if (name.size() > kMaxNameBytes) {
    problems.push_back({line_of("name"), absl::StrCat("name is ", name.size(), " bytes; at most ",
                                                      kMaxNameBytes, " are allowed")});
  } else {
    for (unsigned char c : name) {
      if (c < 0x20 || c == 0x7f) {
        problems.push_back({line_of("name"), "name must not contain control characters"});
        break;
      }
    }
  }
  resource.set_name(name);

  std::string ns = text_of("namespace");
  if (ns.empty()) {
    ns = defaults.namespace_;
  } else if (defaults.namespace_explicit && ns != defaults.namespace_) {
    problems.push_back({line_of("namespace"),
                        absl::StrCat("the document's namespace ", Quote(ns),
                                     " differs from --namespace ", Quote(defaults.namespace_))});
  }
  if (std::string problem = NamespaceProblem(ns); !problem.empty()) {
    problems.push_back({line_of("namespace"), problem});
  }
  resource.set_namespace_(ns);

  std::string id = text_of("id");
  if (id.empty()) {
    resource.set_id(DeriveResourceId(ns, name));
  } else if (auto parsed = uuid::Parse(id); parsed.ok()) {
    resource.set_id(uuid::Format(*parsed));
  } else {
    problems.push_back({line_of("id"), absl::StrCat("id ", Quote(id),
                                                    " is not a UUID (like "
                                                    "123e4567-e89b-12d3-a456-426614174000); leave "
                                                    "it out to derive one from namespace and name")});
  }

  std::string kind_name = text_of("kind");
  auto spec = fields.find("spec");
  std::string kinds = absl::StrJoin(registry_.KindNames(), ", ");
  if (!kind_name.empty()) {
    document.kind = registry_.FindKind(kind_name);
    if (document.kind == nullptr) {
      problems.push_back({line_of("kind"), absl::StrCat("unknown kind ", Quote(kind_name),
                                                        "; known kinds: ", kinds)});
    }
  }
  if (spec == fields.end() || spec->second.IsNull()) {
    problems.push_back({line, "the document has no spec"});
  } else {
    const YAML::Node& spec_node = spec->second;
    bool has_type = spec_node.IsMap() && spec_node["@type"].IsDefined();
    std::optional<google::protobuf::Any> any;
    if (document.kind != nullptr) {
      if (has_type) {
        problems.push_back({LineOf(spec_node),
                            absl::StrCat("the spec has \"@type\" and the document has kind ",
                                         document.kind->name, ": give one or the other")});
      } else {
        any = specs_.EncodeKind(*document.kind, spec_node, problems);
      }
    } else if (kind_name.empty()) {
      if (!has_type) {
        problems.push_back({LineOf(spec_node),
                            absl::StrCat("the document has no kind and its spec no \"@type\"; "
                                         "give a kind (",
                                         kinds, ") or a spec \"@type\"")});
      } else {
        any = specs_.EncodeAny(spec_node, problems);
      }
    }
    if (any.has_value()) *resource.mutable_spec() = std::move(*any);
  }
  if (problems.size() > before) return std::nullopt;
  return document;
}

absl::StatusOr<YAML::Node> DocumentCodec::Write(const Resource& resource, bool with_status) const {
  auto decoded = specs_.Decode(resource.spec());
  if (!decoded.ok()) {
    return absl::Status(decoded.status().code(),
                        absl::StrCat(resource.namespace_(), "/", resource.name(), ": ",
                                     decoded.status().message()));
  }
  YAML::Node node(YAML::NodeType::Map);
  if (decoded->kind != nullptr) node["kind"] = StringNode(decoded->kind->name);
  node["namespace"] = StringNode(resource.namespace_());
  node["name"] = StringNode(resource.name());
  node["id"] = StringNode(resource.id());
  node["spec"] = decoded->spec;
  if (with_status && resource.has_version()) {
    YAML::Node status(YAML::NodeType::Map);
    status["revision"] = PlainNode(std::to_string(resource.version().index()));
    status["sha256_hash"] = StringNode(resource.version().sha256_hash());
    status["timestamp"] =
        StringNode(google::protobuf::util::TimeUtil::ToString(resource.version().timestamp()));
    node["status"] = status;
  }
  return node;
}

std::string DocumentCodec::KindName(const Resource& resource) const {
  if (const Kind* kind = registry_.KindOf(resource.spec()); kind != nullptr) return kind->name;
  const std::string& url = resource.spec().type_url();
  size_t slash = url.rfind('/');
  return slash == std::string::npos ? url : url.substr(slash + 1);
}

std::string DocumentCodec::Label(const Resource& resource) const {
  std::string kind = KindName(resource);
  if (registry_.FindKind(kind) != nullptr) kind = absl::AsciiStrToLower(kind);
  return absl::StrCat(kind, "/", resource.name());
}

}  // namespace protomesh::ctl
