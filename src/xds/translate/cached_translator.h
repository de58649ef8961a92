#pragma once
// Translation that redoes only the node clusters whose inputs changed.
//
// Translate() gives what xds::Translate() gives for the same resources (the
// errors possibly in another order). What a node cluster is served depends
// only on its own inputs: the resources scoped to it, the raw resources
// scoped to no node cluster, and the instance sets that name a service or
// raw EDS cluster it could have. Those inputs are kept, byte for byte, with
// the snapshot and errors they gave; a node cluster whose inputs are the
// same again keeps them. A change to one node cluster's resources, or to an
// instance set only its services use, translates that node cluster alone.
// Only new or changed specs are parsed again.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "src/xds/translate/translator.h"
#include "src/xds/xds_snapshot.h"

namespace protomesh::xds {
namespace translate {
class ParsedSpecs;
}

class CachedTranslator {
 public:
  CachedTranslator();
  ~CachedTranslator();
  CachedTranslator(CachedTranslator&&) noexcept;
  CachedTranslator& operator=(CachedTranslator&&) noexcept;

  Translation Translate(const ResourceRefs& resources, int64_t revision);

  // Node clusters translated (not taken from the cache) by the last call.
  const std::vector<std::string>& last_translated() const { return last_translated_; }

 private:
  // A resource as a node cluster's translation read it.
  struct Input {
    std::string namespace_, id, name, type_url, value;
  };
  struct NodeCluster {
    std::vector<Input> inputs;
    NodeSnapshotPtr snapshot;
    std::vector<TranslationError> errors;
  };

  std::map<std::string, NodeCluster> node_clusters_;
  std::unique_ptr<translate::ParsedSpecs> specs_;
  std::vector<std::string> last_translated_;
};

}  // namespace protomesh::xds
