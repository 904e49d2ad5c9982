#pragma once
/// Maps method + path to an endpoint. The server hands every request here (Handler); the
/// composition root registers the endpoints.

#include "basalt/core/async.h"
#include "basalt/core/exchange.h"

#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace basalt::pipeline {

using Endpoint = std::function<Task<void>(HttpRequest&, Responder&)>;

class Router final : public Handler {
 public:
  /// Exact path match.
  void add(std::string method, std::string path, Endpoint endpoint);
  /// Paths starting with `prefix` (tried in registration order after exact matches).
  void addPrefix(std::string method, std::string prefix, Endpoint endpoint);
  /// Answers unknown paths and wrong methods (default: OpenAI-shaped 404/405).
  void setFallback(std::function<Task<void>(HttpRequest&, Responder&, int status)> fallback);

  Task<void> handle(HttpRequest& request, Responder& responder) override;

 private:
  struct PrefixRoute {
    std::string method;
    std::string prefix;
    Endpoint endpoint;
  };
  std::unordered_map<std::string, std::vector<std::pair<std::string, Endpoint>>> exact_;
  std::vector<PrefixRoute> prefixes_;
  std::function<Task<void>(HttpRequest&, Responder&, int)> fallback_;
};

}  // namespace basalt::pipeline
