#include "basalt/pipeline/router.h"

namespace basalt::pipeline {

void Router::add(std::string method, std::string path, Endpoint endpoint) {
  exact_[std::move(path)].emplace_back(std::move(method), std::move(endpoint));
}

void Router::addPrefix(std::string method, std::string prefix, Endpoint endpoint) {
  prefixes_.push_back({std::move(method), std::move(prefix), std::move(endpoint)});
}

void Router::setFallback(std::function<Task<void>(HttpRequest&, Responder&, int)> fallback) {
  fallback_ = std::move(fallback);
}

Task<void> Router::handle(HttpRequest& request, Responder& responder) {
  const std::string_view path = request.path();
  bool path_known = false;
  if (auto it = exact_.find(std::string(path)); it != exact_.end()) {
    path_known = true;
    for (auto& [method, endpoint] : it->second) {
      if (method == request.method) {
        co_await endpoint(request, responder);
        co_return;
      }
    }
  }
  for (const PrefixRoute& route : prefixes_) {
    if (path.substr(0, route.prefix.size()) == route.prefix) {
      path_known = true;
      if (route.method == request.method) {
        co_await route.endpoint(request, responder);
        co_return;
      }
    }
  }
  const int status = path_known ? 405 : 404;
  if (fallback_) {
    co_await fallback_(request, responder, status);
  } else {
    // Locals, not braced temporaries: GCC 12 miscompiles array temporaries in co_await operands.
    std::string body = status == 404 ? "not found\n" : "method not allowed\n";
    Headers headers{{"content-type", "text/plain"}};
    co_await responder.send(status, std::move(headers), std::move(body));
  }
}

}  // namespace basalt::pipeline
