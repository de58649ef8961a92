#pragma once
// JSON string literals, for the JSON log format and the JSON we write by hand.
#include <string>
#include <string_view>

namespace protomesh::json {

// `text` as a quoted JSON string literal. Control characters, quotes and
// backslashes are escaped; bytes that are not valid UTF-8 become U+FFFD so
// the output is always valid JSON.
std::string Quote(std::string_view text);

}  // namespace protomesh::json
