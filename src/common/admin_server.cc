#include "src/common/admin_server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace protomesh::admin {
namespace {

constexpr char kMetricsContentType[] =
    "text/plain; version=0.0.4; charset=utf-8";

struct HostPort {
  std::string host;
  int port = 0;
};

absl::StatusOr<HostPort> SplitHostPort(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  HostPort result;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(listen.substr(colon + 1), &result.port) ||
      result.port < 0 || result.port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid admin listen address \"", listen,
        "\": expected host:port, e.g. 127.0.0.1:9090 (port 0 picks one)"));
  }
  result.host = listen.substr(0, colon);
  if (result.host.size() >= 2 && result.host.front() == '[' &&
      result.host.back() == ']') {
    result.host = result.host.substr(1, result.host.size() - 2);
  }
  if (result.host.empty()) result.host = "0.0.0.0";
  return result;
}

}  // namespace

struct AdminServer::Impl {
  httplib::Server server;
  std::thread thread;
  std::atomic<bool> listen_returned{false};
  std::mutex stop_mu;
  int port = 0;

  std::mutex handlers_mu;
  std::map<std::string, Handler> handlers;

  void Dispatch(const httplib::Request& request, httplib::Response& response) {
    Handler handler;
    {
      std::lock_guard lock(handlers_mu);
      const auto it = handlers.find(request.path);
      if (it != handlers.end()) handler = it->second;
    }
    HttpResponse result;
    if (handler) {
      result = handler();
    } else {
      result.status = 404;
      result.body = absl::StrCat("no handler for ", request.path, "\n");
    }
    response.status = result.status;
    response.set_content(result.body, result.content_type.c_str());
  }
};

AdminServer::AdminServer() : impl_(std::make_unique<Impl>()) {}

AdminServer::~AdminServer() { Stop(); }

absl::StatusOr<std::unique_ptr<AdminServer>> AdminServer::Start(
    const std::string& listen, const metrics::Registry* registry,
    ReadinessCheck readiness) {
  absl::StatusOr<HostPort> address = SplitHostPort(listen);
  if (!address.ok()) return address.status();

  std::unique_ptr<AdminServer> admin(new AdminServer());
  Impl& impl = *admin->impl_;
  impl.handlers["/healthz"] = [] { return HttpResponse{.body = "ok"}; };
  impl.handlers["/readyz"] = [readiness = std::move(readiness)] {
    const absl::Status status = readiness ? readiness() : absl::OkStatus();
    if (status.ok()) return HttpResponse{.body = "ok"};
    return HttpResponse{.status = 503, .body = std::string(status.message())};
  };
  impl.handlers["/metrics"] = [registry] {
    return HttpResponse{.content_type = kMetricsContentType,
                        .body = registry ? registry->Render() : ""};
  };

  impl.server.Get(".*", [&impl](const httplib::Request& request,
                                httplib::Response& response) {
    impl.Dispatch(request, response);
  });
  // A few workers are plenty for probes and scrapes, and an idle keep-alive
  // connection should not hold up Stop() for long.
  impl.server.new_task_queue = [] { return new httplib::ThreadPool(4); };
  impl.server.set_keep_alive_timeout(1);
  // httplib's default adds SO_REUSEPORT, which would let a second process
  // share the port silently; SO_REUSEADDR alone still allows quick restarts.
  impl.server.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });

  errno = 0;
  if (address->port == 0) {
    impl.port = impl.server.bind_to_any_port(address->host);
  } else {
    impl.port = impl.server.bind_to_port(address->host, address->port)
                    ? address->port
                    : -1;
  }
  if (impl.port < 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on admin address ", listen, ": ",
                     errno != 0 ? std::strerror(errno) : "bind failed"));
  }

  impl.thread = std::thread([&impl] {
    impl.server.listen_after_bind();
    impl.listen_returned = true;
  });
  // httplib's stop() is a no-op until the accept loop runs, so wait for it
  // here; otherwise an early Stop() would leave the thread serving forever.
  while (!impl.server.is_running() && !impl.listen_returned) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return admin;
}

void AdminServer::Handle(const std::string& path, Handler handler) {
  std::lock_guard lock(impl_->handlers_mu);
  impl_->handlers[path] = std::move(handler);
}

int AdminServer::port() const { return impl_->port; }

void AdminServer::Stop() {
  std::lock_guard lock(impl_->stop_mu);
  if (!impl_->thread.joinable()) return;
  impl_->server.stop();
  impl_->thread.join();
}

}  // namespace protomesh::admin
