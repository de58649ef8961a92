#include "src/ctl/resource_id.h"

#include "src/common/uuid.h"

namespace protomesh::ctl {

std::string DeriveResourceId(std::string_view ns, std::string_view name) {
  std::string key(ns);
  key.push_back('/');
  key.append(name);
  return uuid::Format(uuid::V5(uuid::kProtomeshNamespace, key));
}

}  // namespace protomesh::ctl
