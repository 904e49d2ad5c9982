#include "basalt/mcp/credential.h"

#include "basalt/providers/http/http_client.h"

#include <boost/json.hpp>

namespace basalt::mcp {

namespace json = boost::json;
namespace http = providers::http;

namespace {

std::string str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

/// application/x-www-form-urlencoded component encoding.
std::string formEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0 || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4U]);
      out.push_back(kHex[u & 0xFU]);
    }
  }
  return out;
}

std::string base64(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16U) |
                       (static_cast<unsigned char>(in[i + 1]) << 8U) |
                       static_cast<unsigned char>(in[i + 2]);
    out.push_back(kAlphabet[(v >> 18U) & 63U]);
    out.push_back(kAlphabet[(v >> 12U) & 63U]);
    out.push_back(kAlphabet[(v >> 6U) & 63U]);
    out.push_back(kAlphabet[v & 63U]);
  }
  if (i < in.size()) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16U;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8U;
    out.push_back(kAlphabet[(v >> 18U) & 63U]);
    out.push_back(kAlphabet[(v >> 12U) & 63U]);
    out.push_back(i + 1 < in.size() ? kAlphabet[(v >> 6U) & 63U] : '=');
    out.push_back('=');
  }
  return out;
}

Error refreshError(ErrorKind kind, std::string_view code, std::string message) {
  Error e{kind, "OAuth token refresh: " + std::move(message)};
  e.code = std::string(code);
  return e;
}

}  // namespace

Result<Credential> parseCredential(std::string_view auth_json,
                                   std::optional<SystemTime> expires_at) {
  boost::system::error_code ec;
  json::value v = json::parse(auth_json, ec);
  if (ec || !v.is_object()) return Error::invalid("credential auth is not a JSON object");
  const json::object& a = v.as_object();
  const std::string type = str(a, "type");
  Credential c;
  if (type == "static_bearer") {
    c.type = Credential::Type::kStaticBearer;
    c.token = str(a, "token");
  } else if (type == "mcp_oauth") {
    c.type = Credential::Type::kOAuth;
    c.token = str(a, "access_token");
    c.expires_at = expires_at;
    if (const json::value* r = a.if_contains("refresh"); r != nullptr && r->is_object()) {
      const json::object& ro = r->as_object();
      OAuthRefresh refresh;
      refresh.token_endpoint = str(ro, "token_endpoint");
      refresh.client_id = str(ro, "client_id");
      refresh.refresh_token = str(ro, "refresh_token");
      refresh.scope = str(ro, "scope");
      refresh.resource = str(ro, "resource");
      if (const json::value* t = ro.if_contains("token_endpoint_auth"); t && t->is_object()) {
        refresh.auth_method = str(t->as_object(), "type");
        refresh.client_secret = str(t->as_object(), "client_secret");
      }
      if (refresh.auth_method.empty()) refresh.auth_method = "none";
      if (!refresh.token_endpoint.empty() && !refresh.refresh_token.empty()) {
        c.refresh = std::move(refresh);
      }
    }
  } else {
    return Error::invalid("credential type '" + type + "' cannot authenticate to an MCP server");
  }
  if (c.token.empty()) return Error::invalid("credential has no token");
  return c;
}

bool expired(const Credential& credential, SystemTime now, std::chrono::seconds skew) {
  return credential.expires_at && now + skew >= *credential.expires_at;
}

Task<Result<RefreshedToken>> refreshAccessToken(const OAuthRefresh& refresh,
                                                const ClientOptions& options) {
  std::string_view url = refresh.token_endpoint;
  std::string_view query;
  if (std::size_t q = url.find('?'); q != std::string_view::npos) {
    query = url.substr(q);
    url = url.substr(0, q);
  }
  Result<http::BaseUrl> base = http::parseBaseUrl(url);
  if (!base) {
    co_return refreshError(ErrorKind::kUnauthenticated, kAuthFailedCode,
                           "bad token_endpoint: " + base.error().message);
  }
  http::ClientOptions ho;
  ho.connect_timeout = options.connect_timeout;
  ho.max_response_body = 64U << 10U;
  ho.extra_ca_pem = options.extra_ca_pem;
  Result<std::unique_ptr<http::HttpClient>> client = http::HttpClient::create(*base, ho);
  if (!client) co_return client.error();

  std::string body = "grant_type=refresh_token&refresh_token=" + formEncode(refresh.refresh_token);
  http::Request req;
  req.method = "POST";
  req.target = (base->path.empty() ? std::string("/") : base->path) + std::string(query);
  req.headers.push_back({"content-type", "application/x-www-form-urlencoded"});
  req.headers.push_back({"accept", "application/json"});
  if (refresh.auth_method == "client_secret_basic") {
    req.headers.push_back({"authorization", "Basic " + base64(formEncode(refresh.client_id) + ":" +
                                                              formEncode(refresh.client_secret))});
  } else {
    body += "&client_id=" + formEncode(refresh.client_id);
    if (refresh.auth_method == "client_secret_post") {
      body += "&client_secret=" + formEncode(refresh.client_secret);
    }
  }
  if (!refresh.scope.empty()) body += "&scope=" + formEncode(refresh.scope);
  if (!refresh.resource.empty()) body += "&resource=" + formEncode(refresh.resource);
  req.body = std::move(body);

  const http::Deadline deadline = http::Clock::now() + options.request_timeout;
  Result<http::Response> r = co_await (*client)->send(std::move(req), deadline);
  if (!r) {
    co_return refreshError(ErrorKind::kUpstreamError, kConnectFailedCode,
                           base->hostPort() + ": " + r.error().message);
  }
  boost::system::error_code ec;
  json::value v = json::parse(r->body, ec);
  const json::object empty;
  const json::object& o = !ec && v.is_object() ? v.as_object() : empty;
  if (r->status == 400 || r->status == 401 || r->status == 403) {
    // RFC 6749 §5.2: invalid_grant etc. The error code is safe to show; tokens are not in it.
    std::string err = str(o, "error");
    co_return refreshError(ErrorKind::kUnauthenticated, kAuthFailedCode,
                           "the token endpoint refused the refresh (HTTP " +
                               std::to_string(r->status) + (err.empty() ? "" : ", " + err) + ")");
  }
  if (r->status < 200 || r->status > 299) {
    co_return refreshError(ErrorKind::kUpstreamError, kConnectFailedCode,
                           "the token endpoint answered HTTP " + std::to_string(r->status));
  }
  RefreshedToken out;
  out.access_token = str(o, "access_token");
  if (out.access_token.empty()) {
    co_return refreshError(ErrorKind::kUnauthenticated, kAuthFailedCode,
                           "the token endpoint's answer has no access_token");
  }
  if (const json::value* e = o.if_contains("expires_in"); e != nullptr && e->is_number()) {
    out.expires_in = std::chrono::seconds(static_cast<std::int64_t>(e->to_number<double>()));
  }
  out.refresh_token = str(o, "refresh_token");
  co_return out;
}

}  // namespace basalt::mcp
