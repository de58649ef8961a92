#pragma once
// Resources as documents, the form people write and `get` prints:
//
//   kind: HttpIngress          # a short kind; or no kind and a spec with "@type"
//   namespace: default         # optional: --namespace, else "default"
//   name: public-ingress
//   id: 0b7e6a52-...           # optional: derived from namespace and name
//   spec:                      # the kind's message, in protobuf's JSON form
//     xds_cluster_name: edge
//   status:                    # written by get, ignored by apply
//     revision: 12
//
// Without kind, spec is a google.protobuf.Any in protobuf's JSON form:
//   spec: {"@type": type.googleapis.com/protomesh.types.v1.NetworkingNode, service: {...}}
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "absl/status/statusor.h"
#include "api/types/v1/resource.pb.h"
#include "src/ctl/document_loader.h"
#include "src/ctl/spec_codec.h"
#include "src/ctl/type_registry.h"

namespace protomesh::ctl {

struct Document {
  SourceDocument source;
  int line = 0;  // where the document starts
  protomesh::types::v1::Resource resource;  // namespace, id, name and spec
  const Kind* kind = nullptr;                // nullptr: written with "@type"
};

struct DocumentDefaults {
  std::string namespace_ = "default";  // for documents that name none
  // Set when the namespace was chosen explicitly (--namespace): a document
  // naming another one is then an error, as with kubectl.
  bool namespace_explicit = false;
};

class DocumentCodec {
 public:
  explicit DocumentCodec(const TypeRegistry& registry) : registry_(registry), specs_(registry) {}

  // Every document as a resource. When any is invalid, the error lists
  // every problem of every document, one per line, each as
  //   "FILE: document N (line L): MESSAGE"
  // and nothing is returned (INVALID_ARGUMENT). A resource (namespace and
  // id) given twice is a problem too.
  absl::StatusOr<std::vector<Document>> Read(const std::vector<SourceDocument>& sources,
                                             const DocumentDefaults& defaults) const;

  // The document of a stored resource, which Read turns back into the same
  // resource; `with_status` adds status (revision, sha256_hash, timestamp).
  absl::StatusOr<YAML::Node> Write(const protomesh::types::v1::Resource& resource,
                                   bool with_status = true) const;

  // "HttpIngress" for a kind, else the spec's message type ("protomesh.types.v1.NetworkingNode").
  std::string KindName(const protomesh::types::v1::Resource& resource) const;
  // "httpingress/public-ingress": the lowercase kind (or the type) and the name.
  std::string Label(const protomesh::types::v1::Resource& resource) const;

  const SpecCodec& specs() const { return specs_; }

 private:
  std::optional<Document> ReadOne(const SourceDocument& source, const DocumentDefaults& defaults,
                                  Problems& problems) const;

  const TypeRegistry& registry_;
  SpecCodec specs_;
};

// Checks shared with the store, so that a bad file fails before any write.
// A namespace is a DNS label; empty when fine, else why not.
std::string NamespaceProblem(const std::string& ns);

}  // namespace protomesh::ctl
