#pragma once
// Ids of resources whose document names none: the UUIDv5 of
// "<namespace>/<name>" in uuid::kProtomeshNamespace. Applying the same
// document twice addresses the same resource; renaming it makes a new one.
#include <string>
#include <string_view>

namespace protomesh::ctl {

std::string DeriveResourceId(std::string_view ns, std::string_view name);

}  // namespace protomesh::ctl
