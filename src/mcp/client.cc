#include "basalt/mcp/client.h"

#include "basalt/core/log.h"
#include "basalt/providers/http/http_client.h"
#include "basalt/providers/http/sse_parser.h"

#include <boost/json.hpp>

#include <algorithm>
#include <set>

namespace basalt::mcp {

namespace json = boost::json;
namespace http = providers::http;

namespace {

/// Error::code of a JSON-RPC error answer (the server understood and refused).
constexpr std::string_view kRpcErrorCode = "mcp_rpc_error";
/// Internal: the server forgot our session (HTTP 404 with a session id).
constexpr std::string_view kSessionGoneCode = "mcp_session_gone";
constexpr std::size_t kSnippet = 300;
constexpr std::size_t kMaxSessionId = 1024;

bool caseInsensitivePrefix(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    const char a = static_cast<char>(std::tolower(static_cast<unsigned char>(s[i])));
    if (a != prefix[i]) return false;
  }
  return true;
}

/// A short, printable excerpt of a body for an error message.
std::string snippet(std::string_view body) {
  std::string out;
  for (char c : body.substr(0, kSnippet)) {
    const auto u = static_cast<unsigned char>(c);
    out.push_back(u < 0x20 || u == 0x7f ? ' ' : c);
  }
  if (body.size() > kSnippet) out += "...";
  return out;
}

/// Cuts `text` to at most `max` bytes on a UTF-8 boundary.
std::string capUtf8(std::string_view text, std::size_t max) {
  if (text.size() <= max) return std::string(text);
  std::size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0U) == 0x80U) --cut;
  return std::string(text.substr(0, cut));
}

bool validToolName(std::string_view name, std::size_t max) {
  if (name.empty() || name.size() > max) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f;
  });
}

bool validSessionId(std::string_view id) {
  if (id.empty() || id.size() > kMaxSessionId) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x21 && u <= 0x7e;
  });
}

std::string str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

bool sameId(const json::value& v, std::int64_t id) {
  if (v.is_int64()) return v.as_int64() == id;
  if (v.is_uint64()) return v.as_uint64() == static_cast<std::uint64_t>(id);
  return false;
}

/// MCP content blocks -> result blocks.
void convertContent(const json::value* content, ToolResult& out) {
  if (content == nullptr || !content->is_array()) return;
  for (const json::value& b : content->as_array()) {
    if (!b.is_object()) continue;
    const json::object& o = b.as_object();
    const std::string type = str(o, "type");
    ResultBlock rb;
    if (type == "text") {
      rb.text = str(o, "text");
    } else if (type == "image") {
      rb.kind = ResultBlock::Kind::kImage;
      rb.media_type = str(o, "mimeType");
      rb.data = str(o, "data");
      if (rb.media_type.empty() || rb.data.empty()) continue;
    } else if (type == "audio") {
      rb.text = "[audio content (" + str(o, "mimeType") + ") omitted]";
    } else if (type == "resource") {
      const json::value* r = o.if_contains("resource");
      if (r == nullptr || !r->is_object()) continue;
      const json::object& ro = r->as_object();
      const std::string uri = str(ro, "uri");
      const std::string mime = str(ro, "mimeType");
      if (const json::value* t = ro.if_contains("text"); t != nullptr && t->is_string()) {
        rb.text = "[resource " + uri + "]\n" + std::string(t->as_string());
      } else if (mime.starts_with("image/") && !str(ro, "blob").empty()) {
        rb.kind = ResultBlock::Kind::kImage;
        rb.media_type = mime;
        rb.data = str(ro, "blob");
      } else {
        rb.text = "[binary resource " + uri + (mime.empty() ? "" : " (" + mime + ")") + " omitted]";
      }
    } else if (type == "resource_link") {
      std::string name = str(o, "name");
      rb.text = "[resource link: " + (name.empty() ? "" : name + " ") + str(o, "uri");
      if (std::string d = str(o, "description"); !d.empty()) rb.text += " — " + d;
      rb.text += "]";
    } else {
      continue;
    }
    out.content.push_back(std::move(rb));
  }
}

}  // namespace

bool isAuthFailure(const Error& error) {
  return error.code == kAuthFailedCode;
}

struct McpClient::Impl {
  http::BaseUrl base;
  std::string target;  ///< path + query of the endpoint
  std::string label;   ///< origin + path, for messages (no query: it may hold secrets)
  std::unique_ptr<http::HttpClient> http;
  ClientOptions options;
  std::string token;
  std::string session_id;
  std::string protocol;
  std::string server_name;
  int generation = 0;
  std::int64_t next_id = 1;

  Error connectError(std::string message) const {
    Error e{ErrorKind::kUpstreamError, "MCP server " + label + ": " + std::move(message)};
    e.code = std::string(kConnectFailedCode);
    return e;
  }
  Error authError(int status, std::string_view body) const {
    Error e{ErrorKind::kUnauthenticated, "MCP server " + label + " refused the credentials (HTTP " +
                                             std::to_string(status) + ")" +
                                             (body.empty() ? std::string() : ": " + snippet(body))};
    e.code = std::string(kAuthFailedCode);
    e.upstream_status = status;
    return e;
  }
  /// A transport error of the upstream client, reworded (its message names host:port only).
  Error transportError(const Error& e) const {
    if (e.kind == ErrorKind::kCancelled) return e;
    Error out =
        connectError(e.kind == ErrorKind::kUpstreamTimeout ? "timed out: " + e.message : e.message);
    out.kind = e.kind == ErrorKind::kUpstreamTimeout ? ErrorKind::kUpstreamTimeout
                                                     : ErrorKind::kUpstreamError;
    return out;
  }

  http::Request request(std::string method, std::string body) const {
    http::Request r;
    r.method = std::move(method);
    r.target = target;
    r.headers.push_back({"accept", "application/json, text/event-stream"});
    if (!body.empty()) r.headers.push_back({"content-type", "application/json"});
    if (!token.empty()) r.headers.push_back({"authorization", "Bearer " + token});
    if (!session_id.empty()) r.headers.push_back({"mcp-session-id", session_id});
    if (!protocol.empty()) r.headers.push_back({"mcp-protocol-version", protocol});
    r.body = std::move(body);
    return r;
  }

  Task<Result<json::value>> exchange(std::string_view method, json::object params,
                                     bool capture_session);
  Task<Result<json::value>> rpc(std::string_view method, json::object params);
  Task<Result<void>> notify(std::string_view method);
  Task<Result<void>> initialize();
  Task<void> answerServerRequest(const json::object& incoming, http::Deadline deadline);
  /// Handles one JSON-RPC message (or batch) from the server: a response to `id` is stored in
  /// `out`; server requests are answered; notifications are ignored.
  Task<Result<bool>> handle(const json::value& message, std::int64_t id, std::string_view method,
                            http::Deadline deadline, Result<json::value>& out);
};

Task<void> McpClient::Impl::answerServerRequest(const json::object& incoming,
                                                http::Deadline deadline) {
  const std::string method = str(incoming, "method");
  json::object answer{{"jsonrpc", "2.0"}, {"id", incoming.at("id")}};
  if (method == "ping") {
    answer["result"] = json::object{};
  } else {
    // Basalt declares no client capabilities: sampling, elicitation and roots are refused.
    answer["error"] =
        json::object{{"code", -32601},
                     {"message", "Basalt's MCP client does not support '" + snippet(method) + "'"}};
  }
  http::Request r = request("POST", json::serialize(answer));
  const http::Deadline d = std::min(deadline, http::Clock::now() + std::chrono::seconds(5));
  Result<http::Response> sent = co_await http->send(std::move(r), d);
  if (!sent) {
    log::debug("MCP server {}: answering {} failed: {}", label, method, sent.error().message);
  }
}

Task<Result<bool>> McpClient::Impl::handle(const json::value& message, std::int64_t id,
                                           std::string_view method, http::Deadline deadline,
                                           Result<json::value>& out) {
  if (message.is_array()) {
    bool found = false;
    for (const json::value& m : message.as_array()) {
      Task<Result<bool>> one = handle(m, id, method, deadline, out);
      Result<bool> r = co_await std::move(one);
      if (!r) co_return r;
      found = found || *r;
    }
    co_return found;
  }
  if (!message.is_object()) co_return false;
  const json::object& o = message.as_object();
  const json::value* mid = o.if_contains("id");
  if (o.contains("method")) {
    if (mid != nullptr && !mid->is_null()) {
      Task<void> answer = answerServerRequest(o, deadline);
      co_await std::move(answer);
    }
    co_return false;  // a notification: ignored
  }
  if (mid == nullptr || !sameId(*mid, id)) co_return false;
  if (const json::value* err = o.if_contains("error"); err != nullptr) {
    std::string text = "error";
    std::int64_t code = 0;
    if (err->is_object()) {
      text = str(err->as_object(), "message");
      if (const json::value* c = err->as_object().if_contains("code"); c && c->is_int64()) {
        code = c->as_int64();
      }
    }
    Error e = connectError(std::string(method) + " failed: " + snippet(text) + " (JSON-RPC " +
                           std::to_string(code) + ")");
    e.code = std::string(kRpcErrorCode);
    out = e;
    co_return true;
  }
  const json::value* result = o.if_contains("result");
  if (result == nullptr) {
    out = connectError(std::string(method) + ": a response with neither result nor error");
  } else {
    out = *result;
  }
  co_return true;
}

Task<Result<json::value>> McpClient::Impl::exchange(std::string_view method, json::object params,
                                                    bool capture_session) {
  const std::int64_t id = next_id++;
  json::object msg{
      {"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}};
  const http::Deadline deadline = http::Clock::now() + options.request_timeout;
  http::Request req = request("POST", json::serialize(msg));
  Result<http::ResponseStream> opened = co_await http->open(std::move(req), deadline);
  if (!opened) co_return transportError(opened.error());
  http::ResponseStream& stream = *opened;
  const int status = stream.status();
  if (status == 401 || status == 403) {
    Result<std::string> body = co_await stream.readAll(4096);
    co_return authError(status, body ? *body : std::string());
  }
  if (status == 404 && !session_id.empty()) {
    stream.close();
    Error gone = connectError("the server no longer knows session (HTTP 404)");
    gone.code = std::string(kSessionGoneCode);
    co_return gone;
  }
  if (status < 200 || status > 299) {
    Result<std::string> body = co_await stream.readAll(4096);
    Error e = connectError(std::string(method) + ": HTTP " + std::to_string(status) +
                           (body && !body->empty() ? ": " + snippet(*body) : std::string()));
    e.upstream_status = status;
    co_return e;
  }
  if (capture_session) {
    const std::string* sid = stream.header("mcp-session-id");
    if (sid != nullptr) {
      if (!validSessionId(*sid)) {
        stream.close();
        co_return connectError("initialize: the Mcp-Session-Id header is not visible ASCII");
      }
      session_id = *sid;
    }
  }
  const std::string* ctype = stream.header("content-type");
  const std::string content_type = ctype != nullptr ? *ctype : std::string();
  Result<json::value> out = connectError(std::string(method) + ": no response");
  if (caseInsensitivePrefix(content_type, "application/json")) {
    Result<std::string> body = co_await stream.readAll(options.max_response_bytes);
    if (!body) {
      if (body.error().message.find("is larger than") != std::string::npos) {
        co_return connectError(std::string(method) + ": the response exceeds " +
                               std::to_string(options.max_response_bytes) + " bytes");
      }
      co_return transportError(body.error());
    }
    boost::system::error_code ec;
    json::value v = json::parse(*body, ec);
    if (ec) co_return connectError(std::string(method) + ": the response is not JSON");
    Task<Result<bool>> h = handle(v, id, method, deadline, out);
    Result<bool> found = co_await std::move(h);
    if (!found) co_return found.error();
    if (!*found) co_return connectError(std::string(method) + ": no response with our id");
    co_return out;
  }
  if (!caseInsensitivePrefix(content_type, "text/event-stream")) {
    stream.close();
    co_return connectError(std::string(method) + ": unexpected content-type '" +
                           snippet(content_type) + "'");
  }
  http::SseParser parser(options.max_response_bytes);
  std::vector<http::SseEvent> events;
  std::size_t total = 0;
  bool ended = false;
  while (!ended) {
    Result<std::string_view> piece = co_await stream.read();
    if (!piece) co_return transportError(piece.error());
    events.clear();
    if (piece->empty()) {
      parser.finish(events);
      ended = true;
    } else {
      total += piece->size();
      if (total > options.max_response_bytes) {
        stream.close();
        co_return connectError(std::string(method) + ": the response exceeds " +
                               std::to_string(options.max_response_bytes) + " bytes");
      }
      if (Result<void> fed = parser.feed(*piece, events); !fed) {
        stream.close();
        co_return connectError(std::string(method) + ": bad event stream: " + fed.error().message);
      }
    }
    for (const http::SseEvent& ev : events) {
      if (ev.data.empty() || (!ev.event.empty() && ev.event != "message")) continue;
      boost::system::error_code ec;
      json::value v = json::parse(ev.data, ec);
      if (ec) continue;  // not a JSON-RPC message: skipped
      Task<Result<bool>> h = handle(v, id, method, deadline, out);
      Result<bool> found = co_await std::move(h);
      if (!found) co_return found.error();
      if (*found) {
        if (!ended) stream.close();
        co_return out;
      }
    }
  }
  co_return connectError(std::string(method) + ": the event stream ended without a response");
}

Task<Result<void>> McpClient::Impl::notify(std::string_view method) {
  json::object msg{{"jsonrpc", "2.0"}, {"method", method}};
  const http::Deadline deadline = http::Clock::now() + options.request_timeout;
  http::Request req = request("POST", json::serialize(msg));
  Result<http::Response> r = co_await http->send(std::move(req), deadline);
  if (!r) co_return transportError(r.error());
  if (r->status == 401 || r->status == 403) co_return authError(r->status, r->body);
  if (r->status < 200 || r->status > 299) {
    co_return connectError(std::string(method) + ": HTTP " + std::to_string(r->status));
  }
  co_return Result<void>{};
}

Task<Result<void>> McpClient::Impl::initialize() {
  session_id.clear();
  protocol.clear();
  json::object params{{"protocolVersion", kProtocolVersion},
                      {"capabilities", json::object{}},
                      {"clientInfo", json::object{{"name", options.client_name},
                                                  {"version", options.client_version}}}};
  Task<Result<json::value>> call = exchange("initialize", std::move(params), true);
  Result<json::value> result = co_await std::move(call);
  if (!result) {
    Error e = result.error();
    // A stateless (2026-07-28) server has no initialize: it answers 404/-32601 or, for our
    // version, UnsupportedProtocolVersion (-32022). Say so rather than "HTTP 404".
    const bool unknown_method = e.upstream_status == 404 || e.upstream_status == 405 ||
                                e.message.find("JSON-RPC -32601)") != std::string::npos ||
                                e.message.find("JSON-RPC -32022)") != std::string::npos;
    if (unknown_method && e.code != kAuthFailedCode) {
      e.message +=
          " (the server does not take 'initialize': it may speak the stateless "
          "2026-07-28 revision; Basalt supports 2025-11-25 and 2025-06-18)";
    }
    co_return e;
  }
  if (!result->is_object()) co_return connectError("initialize: the result is not an object");
  const json::object& r = result->as_object();
  const std::string version = str(r, "protocolVersion");
  if (version != kProtocolVersion && version != kProtocolVersionFallback) {
    session_id.clear();
    co_return connectError("the server speaks MCP protocol version '" + snippet(version) +
                           "'; Basalt supports " + std::string(kProtocolVersion) + " and " +
                           std::string(kProtocolVersionFallback));
  }
  protocol = version;
  if (const json::value* info = r.if_contains("serverInfo"); info && info->is_object()) {
    server_name = capUtf8(str(info->as_object(), "name"), 256);
  }
  ++generation;
  Task<Result<void>> n = notify("notifications/initialized");
  Result<void> sent = co_await std::move(n);
  if (!sent) co_return sent.error();
  co_return Result<void>{};
}

Task<Result<json::value>> McpClient::Impl::rpc(std::string_view method, json::object params) {
  const bool had_session = !session_id.empty();
  Task<Result<json::value>> first = exchange(method, params, false);
  Result<json::value> r = co_await std::move(first);
  if (r || !had_session || r.error().code != kSessionGoneCode) co_return r;
  // The server forgot the session (restart, expiry): initialize again, once, and retry.
  log::info("MCP server {}: session expired, re-initializing", label);
  Task<Result<void>> init = initialize();
  Result<void> again = co_await std::move(init);
  if (!again) co_return again.error();
  Task<Result<json::value>> second = exchange(method, std::move(params), false);
  Result<json::value> retried = co_await std::move(second);
  if (!retried && retried.error().code == kSessionGoneCode) {
    co_return connectError(std::string(method) + ": the server lost the new session too");
  }
  co_return retried;
}

// ---- McpClient -----------------------------------------------------------------------------

Result<std::unique_ptr<McpClient>> McpClient::create(std::string_view url, ClientOptions options,
                                                     std::string bearer_token) {
  if (url.find('#') != std::string_view::npos) {
    return Error::invalid("MCP server URL must not have a fragment");
  }
  std::string_view query;
  std::string_view without_query = url;
  if (std::size_t q = url.find('?'); q != std::string_view::npos) {
    query = url.substr(q);
    without_query = url.substr(0, q);
  }
  Result<http::BaseUrl> base = http::parseBaseUrl(without_query);
  if (!base) return Error::invalid("MCP server URL: " + base.error().message);
  http::ClientOptions ho;
  ho.connect_timeout = options.connect_timeout;
  ho.max_response_body = options.max_response_bytes;
  ho.extra_ca_pem = options.extra_ca_pem;
  ho.max_idle_connections = 4;
  Result<std::unique_ptr<http::HttpClient>> client = http::HttpClient::create(*base, ho);
  if (!client) return client.error();
  auto impl = std::make_unique<Impl>();
  impl->base = *base;
  impl->target = (base->path.empty() ? std::string("/") : base->path) + std::string(query);
  impl->label = base->origin() + base->path;
  impl->http = std::move(*client);
  impl->options = std::move(options);
  impl->token = std::move(bearer_token);
  return std::unique_ptr<McpClient>(new McpClient(std::move(impl)));
}

McpClient::McpClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
McpClient::~McpClient() = default;

Task<Result<void>> McpClient::connect() {
  Task<Result<void>> init = impl_->initialize();
  Result<void> r = co_await std::move(init);
  co_return r;
}

Task<Result<std::vector<Tool>>> McpClient::listTools() {
  Impl& c = *impl_;
  std::vector<Tool> tools;
  std::set<std::string> names;
  std::string cursor;
  for (int page = 0; page < c.options.max_list_pages; ++page) {
    json::object params;
    if (!cursor.empty()) params["cursor"] = cursor;
    Task<Result<json::value>> call = c.rpc("tools/list", std::move(params));
    Result<json::value> r = co_await std::move(call);
    if (!r) co_return r.error();
    if (!r->is_object()) co_return c.connectError("tools/list: the result is not an object");
    const json::object& o = r->as_object();
    const json::value* list = o.if_contains("tools");
    if (list == nullptr || !list->is_array()) {
      co_return c.connectError("tools/list: the result has no tools array");
    }
    for (const json::value& t : list->as_array()) {
      if (tools.size() >= c.options.max_tools) break;
      if (!t.is_object()) continue;
      const json::object& to = t.as_object();
      Tool tool;
      tool.name = str(to, "name");
      if (!validToolName(tool.name, c.options.max_name_length)) {
        log::warn("MCP server {}: tool name '{}' is invalid; skipped", c.label,
                  snippet(capUtf8(tool.name, 64)));
        continue;
      }
      if (!names.insert(tool.name).second) continue;
      tool.title = capUtf8(str(to, "title"), 256);
      tool.description = capUtf8(str(to, "description"), c.options.max_description_bytes);
      if (const json::value* s = to.if_contains("inputSchema"); s != nullptr && s->is_object()) {
        json::object schema = s->as_object();
        if (!schema.contains("type")) schema["type"] = "object";
        std::string text = json::serialize(schema);
        if (text.size() > c.options.max_schema_bytes) {
          log::warn("MCP server {}: tool '{}' has a {}-byte input schema; skipped", c.label,
                    tool.name, text.size());
          continue;
        }
        tool.input_schema_json = std::move(text);
      }
      tools.push_back(std::move(tool));
    }
    cursor = str(o, "nextCursor");
    if (cursor.empty() || tools.size() >= c.options.max_tools) co_return tools;
  }
  log::warn("MCP server {}: tools/list still had pages after {}; the rest is ignored", c.label,
            c.options.max_list_pages);
  co_return tools;
}

Task<Result<ToolResult>> McpClient::callTool(std::string_view name,
                                             std::string_view arguments_json) {
  Impl& c = *impl_;
  json::object args;
  if (!arguments_json.empty()) {
    boost::system::error_code ec;
    json::value v = json::parse(arguments_json, ec);
    if (ec || !v.is_object()) co_return Error::invalid("tool arguments must be a JSON object");
    args = std::move(v.as_object());
  }
  json::object params{{"name", name}, {"arguments", std::move(args)}};
  Task<Result<json::value>> call = c.rpc("tools/call", std::move(params));
  Result<json::value> r = co_await std::move(call);
  if (!r) co_return r.error();
  if (!r->is_object()) co_return c.connectError("tools/call: the result is not an object");
  const json::object& o = r->as_object();
  ToolResult out;
  if (const json::value* e = o.if_contains("isError"); e != nullptr && e->is_bool()) {
    out.is_error = e->as_bool();
  }
  convertContent(o.if_contains("content"), out);
  const json::value* structured = o.if_contains("structuredContent");
  if (structured != nullptr && !structured->is_null()) {
    const bool has_text = std::any_of(out.content.begin(), out.content.end(), [](const auto& b) {
      return b.kind == ResultBlock::Kind::kText;
    });
    if (!has_text) out.content.push_back({ResultBlock::Kind::kText, json::serialize(*structured)});
  }
  co_return out;
}

Task<void> McpClient::close() {
  Impl& c = *impl_;
  if (c.session_id.empty()) co_return;
  http::Request req = c.request("DELETE", {});
  const http::Deadline deadline = http::Clock::now() + std::chrono::seconds(5);
  Result<http::Response> r = co_await c.http->send(std::move(req), deadline);
  if (!r) log::debug("MCP server {}: ending the session: {}", c.label, r.error().message);
  c.session_id.clear();
}

const std::string& McpClient::protocolVersion() const {
  return impl_->protocol;
}
const std::string& McpClient::sessionId() const {
  return impl_->session_id;
}
int McpClient::generation() const {
  return impl_->generation;
}
const std::string& McpClient::serverName() const {
  return impl_->server_name;
}
void McpClient::setBearerToken(std::string token) {
  impl_->token = std::move(token);
}

}  // namespace basalt::mcp
