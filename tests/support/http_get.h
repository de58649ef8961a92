#pragma once
// A plain HTTP GET against a loopback port, for tests of admin endpoints.
#include <string>
#include <utility>

namespace protomesh::testing {

// GET http://127.0.0.1:`port``path`: {status, body}, or {0, ""} when there
// was no answer (connect timeout 1 s, read timeout 5 s).
std::pair<int, std::string> HttpGet(int port, const std::string& path);

}  // namespace protomesh::testing
