#include "tests/support/http_get.h"

#include <httplib.h>

namespace protomesh::testing {

std::pair<int, std::string> HttpGet(int port, const std::string& path) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(1, 0);
  client.set_read_timeout(5, 0);
  auto result = client.Get(path.c_str());
  if (!result) return {0, ""};
  return {result->status, result->body};
}

}  // namespace protomesh::testing
