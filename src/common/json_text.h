#pragma once
// JSON string quoting for the JSON log format. Internal to src/common.
#include <string>
#include <string_view>

namespace protomesh::logging::internal {

// `text` as a quoted JSON string literal. Control characters, quotes and
// backslashes are escaped; bytes that are not valid UTF-8 become U+FFFD so
// the output is always valid JSON.
std::string JsonString(std::string_view text);

}  // namespace protomesh::logging::internal
