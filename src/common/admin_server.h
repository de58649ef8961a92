#pragma once
// The admin HTTP port every binary has: /healthz (the process is up),
// /readyz (its dependencies are reachable: 200 or 503 with the reason),
// /metrics (Prometheus text), plus any handler a component adds.
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "src/common/metrics.h"

namespace protomesh::admin {

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

class AdminServer {
 public:
  using ReadinessCheck = std::function<absl::Status()>;
  using Handler = std::function<HttpResponse()>;

  // listen: "host:port"; port 0 picks a free port (see port()). Starts
  // serving on a background thread before returning.
  static absl::StatusOr<std::unique_ptr<AdminServer>> Start(
      const std::string& listen, const metrics::Registry* registry,
      ReadinessCheck readiness);
  ~AdminServer();  // Stops serving.

  // Adds a GET handler; call before traffic arrives or from any thread.
  void Handle(const std::string& path, Handler handler);
  int port() const;
  void Stop();

 private:
  AdminServer();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace protomesh::admin
