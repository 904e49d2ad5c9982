#include "basalt/mock/mock_upstream.h"

#include "basalt/core/log.h"
#include "basalt/mock/script.h"
#include "dialect.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>

namespace basalt::mock {
namespace {

namespace json = boost::json;

/// Distinct paths tracked by /mock/stats; the rest are counted under "(other)" so a client
/// probing random paths cannot grow the map without bound.
constexpr std::size_t kMaxStatPaths = 1024;

Task<void> sleepFor(std::chrono::microseconds d) {
  if (d.count() <= 0) co_return;
  boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor);
  timer.expires_after(d);
  co_await timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int hi = hexValue(s[i + 1]);
      int lo = hexValue(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

/// The path segment after `marker` (e.g. "/deployments/"), or empty.
std::string_view segmentAfter(std::string_view path, std::string_view marker) {
  auto at = path.find(marker);
  if (at == std::string_view::npos) return {};
  std::string_view rest = path.substr(at + marker.size());
  return rest.substr(0, rest.find('/'));
}

std::string plainError(int status, std::string_view message) {
  return openAIErrorJson(status, message);
}

Headers jsonHeaders() {
  return {{"content-type", "application/json"}};
}

Task<void> sendJson(Responder& responder, int status, std::string body) {
  // (Headers built outside the coroutine body: GCC 12 miscompiles braced lists in co_await.)
  co_await responder.send(status, jsonHeaders(), std::move(body));
}

Task<void> sendReply(Responder& responder, Reply r) {
  co_await responder.send(r.status, std::move(r.headers), std::move(r.body));
}

/// GET /v1/models[/{id}]: a shape that satisfies the OpenAI SDK, the Anthropic SDK and Codex.
std::pair<int, std::string> modelsReply(std::string_view path, std::string_view query,
                                        const std::vector<std::string>& models) {
  auto entry = [](const std::string& id) {
    return json::object{{"id", id},
                        {"object", "model"},
                        {"type", "model"},
                        {"created", kCreated},
                        {"created_at", "2023-11-14T22:13:20Z"},
                        {"owned_by", "mock-upstream"},
                        {"display_name", id}};
  };
  if (auto slash = path.rfind("/models/"); slash != std::string_view::npos) {
    std::string id = percentDecode(path.substr(slash + 8));
    for (const auto& m : models) {
      if (m == id) return {200, json::serialize(entry(m))};
    }
    return {404, plainError(404, "The model '" + id + "' does not exist")};
  }
  json::array data;
  for (const auto& m : models) data.push_back(entry(m));
  json::object body;
  body["object"] = "list";
  body["data"] = std::move(data);
  body["has_more"] = false;
  body["first_id"] = models.empty() ? "" : models.front();
  body["last_id"] = models.empty() ? "" : models.back();
  if (query.find("client_version") != std::string_view::npos) {
    body["models"] = json::array();  // Codex's catalog shape: no metadata, it uses its fallback
  }
  return {200, json::serialize(body)};
}

/// The GET /mock/last-request body.
std::string lastRequestJson(const HttpRequest& request, const json::value& body_json) {
  json::object headers;
  for (const auto& h : request.headers) headers[h.name] = h.value;
  json::object last;
  last["method"] = request.method;
  last["target"] = request.target;
  last["headers"] = std::move(headers);
  if (body_json.is_null()) {
    last["body"] = request.body;
  } else {
    last["body"] = body_json;
  }
  return json::serialize(last);
}

std::string countTokensJson(std::size_t input_chars) {
  json::object o;
  o["input_tokens"] = static_cast<std::int64_t>((input_chars + 3) / 4);
  return json::serialize(o);
}

/// Builds the reply plan: defaults, then the directive, then the deterministic usage.
Plan buildPlan(const MockInput& in, const SplitText& split, const Directive& d,
               const MockOptions& o, std::uint64_t seq) {
  Plan p;
  p.model = in.model;
  p.seq = seq;
  p.stream = in.stream;
  p.include_usage = in.include_usage;
  const bool call_tool = d.tool.has_value() && !in.ends_with_tool_result;
  if (d.reply && !d.echo) {
    p.text = *d.reply;
  } else if (call_tool && !d.echo) {
    p.text.clear();
  } else if (!o.reply.empty() && !d.echo) {
    p.text = o.reply;
  } else if (in.ends_with_tool_result) {
    p.text = "Tool result: " + in.tool_result_text;
  } else {
    p.text = "You said: " + split.text;
  }
  if (call_tool) {
    for (int i = 0; i < d.tools; ++i) p.tool_calls.push_back({*d.tool, d.args.value_or("{}")});
  }
  p.reasoning = d.reasoning.value_or("");
  const int chunk = d.chunk.value_or(o.chunk);
  p.text_chunks = chunkText(p.text, chunk);
  p.reasoning_chunks = chunkText(p.reasoning, chunk);

  p.reasoning_tokens = countWords(p.reasoning);
  std::int64_t out = p.reasoning_tokens + countWords(p.text);
  for (const auto& c : p.tool_calls) out += countWords(c.args);
  p.input_tokens = d.usage_in.value_or(static_cast<std::int64_t>((in.input_chars + 3) / 4));
  p.output_tokens = d.usage_out.value_or(out);
  p.reasoning_tokens = std::min(p.reasoning_tokens, p.output_tokens);

  p.latency_ms = d.latency_ms.value_or(o.latency_ms);
  p.tokens_per_s = d.tokens_per_s.value_or(o.tokens_per_s);
  int status = d.status.value_or(o.status);
  if (status == 200) status = 0;
  if (d.error_after || d.drop_after) {
    // A mid-stream failure: `status` picks the kind of error event, not a pre-stream error.
    p.error_after = d.error_after.value_or(-1);
    p.drop_after = d.drop_after.value_or(-1);
    p.mid_error_status = status > 0 ? status : 500;
  } else {
    p.status = status;
  }
  return p;
}

/// Where a model call goes: the dialect and what the path says.
struct Route {
  const Dialect* dialect = nullptr;  ///< null: no such route
  PathInfo path;
  bool count_tokens = false;  ///< Anthropic /v1/messages/count_tokens
};

Route route(std::string_view path) {
  Route r;
  if (auto at = path.find("/model/"); at != std::string_view::npos) {
    std::string_view rest = path.substr(at + 7);
    auto slash = rest.find('/');
    std::string_view op = slash == std::string_view::npos ? "" : rest.substr(slash);
    if (op == "/converse" || op == "/converse-stream") {
      r.dialect = &bedrockDialect();
      r.path.model = percentDecode(rest.substr(0, slash));
      r.path.stream = op == "/converse-stream";
    }
  } else if (path.ends_with("/chat/completions")) {
    r.dialect = &openAIChatDialect();
    r.path.model = percentDecode(segmentAfter(path, "/deployments/"));
  } else if (path.ends_with("/responses")) {
    r.dialect = &openAIResponsesDialect();
  } else if (path.ends_with("/messages/count_tokens")) {
    r.dialect = &anthropicDialect();
    r.count_tokens = true;
  } else if (path.ends_with("/messages")) {
    r.dialect = &anthropicDialect();
  }
  return r;
}

/// Index of the frame before which an error_after/drop_after of `n` cuts the stream: the
/// (n+1)-th content frame, or the first tail frame when there are n content frames or fewer.
std::size_t cutIndex(const std::vector<Frame>& frames, int n) {
  int seen = 0;
  for (std::size_t i = 0; i < frames.size(); ++i) {
    if (frames[i].content) {
      if (seen == n) return i;
      ++seen;
    }
  }
  for (std::size_t i = 0; i < frames.size(); ++i) {
    if (frames[i].tail) return i;
  }
  return frames.size();
}

/// Writes a streamed plan: pacing, coalescing and the injected mid-stream failures.
Task<void> streamPlan(Responder& responder, const Dialect& dialect, const Plan& plan) {
  StreamReply s = dialect.stream(plan);
  const bool inject = plan.error_after >= 0 || plan.drop_after >= 0;
  const std::size_t cut =
      inject ? cutIndex(s.frames, plan.error_after >= 0 ? plan.error_after : plan.drop_after)
             : s.frames.size();
  if (!co_await responder.startStream(200, std::move(s.headers))) co_return;
  const auto interval = std::chrono::microseconds(
      plan.tokens_per_s > 0 ? static_cast<std::int64_t>(1e6 / plan.tokens_per_s) : 0);
  // Unpaced frames are coalesced into one write; a paced stream flushes before each wait.
  std::string pending;
  bool first_paced = true;
  for (std::size_t i = 0; i < cut; ++i) {
    const Frame& f = s.frames[i];
    if (f.paced && interval.count() > 0) {
      if (!first_paced) {
        if (!pending.empty() && !co_await responder.write(pending)) co_return;
        pending.clear();
        co_await sleepFor(interval);
        if (responder.clientGone()) co_return;
      }
      first_paced = false;
    }
    pending += f.bytes;
  }
  if (plan.error_after >= 0) pending += dialect.streamError(plan.mid_error_status, plan, cut);
  if (!pending.empty() && !co_await responder.write(pending)) co_return;
  // drop_after: return without endStream. The transport then ends the exchange; the client
  // sees a stream without its terminal event (an abort once the transport offers one).
  if (plan.drop_after >= 0 && plan.error_after < 0) co_return;
  co_await responder.endStream();
}

/// Counts one open stream for its lifetime (also when the coroutine is cancelled or throws).
class OpenGauge {
 public:
  OpenGauge(std::atomic<std::int64_t>& n, bool active) : n_(active ? &n : nullptr) {
    if (n_ != nullptr) n_->fetch_add(1);
  }
  ~OpenGauge() {
    if (n_ != nullptr) n_->fetch_sub(1);
  }
  OpenGauge(const OpenGauge&) = delete;
  OpenGauge& operator=(const OpenGauge&) = delete;

 private:
  std::atomic<std::int64_t>* n_;
};

/// What a model call resolved to before any waiting: an immediate reply, or a plan.
struct Prepared {
  std::optional<Reply> reply;
  Plan plan;
};

Prepared prepare(const HttpRequest& request, const Route& r, const MockOptions& options,
                 std::uint64_t seq, std::string& last_request) {
  const Dialect& dialect = *r.dialect;
  Prepared out;
  boost::system::error_code ec;
  json::value body = json::parse(request.body, ec);
  if (ec) body = nullptr;
  last_request = lastRequestJson(request, body);
  if (request.method != "POST") {
    out.reply = dialect.error(405, "mock-upstream: use POST", seq);
    return out;
  }
  if (body.is_null()) {
    out.reply = dialect.error(400, "mock-upstream: the body is not valid JSON", seq);
    return out;
  }
  auto input = dialect.parse(body, r.path);
  if (!input) {
    out.reply = dialect.error(400, input.error().message, seq);
    return out;
  }
  if (r.count_tokens) {
    out.reply = jsonReply(200, countTokensJson(input->input_chars));
    return out;
  }
  SplitText split = splitDirective(input->last_user_text);
  Directive directive;
  if (split.directive) {
    auto parsed = parseDirective(*split.directive);
    if (!parsed) {
      out.reply = dialect.error(400, parsed.error().message, seq);
      return out;
    }
    directive = std::move(*parsed);
  }
  out.plan = buildPlan(*input, split, directive, options, seq);
  return out;
}

}  // namespace

namespace detail {
struct MockState {
  std::atomic<std::uint64_t> seq{0};
  std::atomic<std::uint64_t> requests{0};
  mutable std::mutex mu;
  std::map<std::string, std::uint64_t, std::less<>> by_path;  // guarded by mu
  std::string last_request;                                   // guarded by mu (JSON text)
  std::string last_authorization;                             // guarded by mu
  std::atomic<std::int64_t> open_streams{0};
  int count_fd = -1;

  void record(std::string_view method, std::string_view path) {
    requests.fetch_add(1, std::memory_order_relaxed);
    {
      std::lock_guard lock(mu);
      if (auto it = by_path.find(path); it != by_path.end()) {
        ++it->second;
      } else if (by_path.size() < kMaxStatPaths) {
        by_path.emplace(std::string(path), 1);
      } else {
        ++by_path["(other)"];
      }
    }
    if (count_fd >= 0) {
      std::string line;
      line.reserve(method.size() + path.size() + 2);
      line.append(method).append(" ").append(path).append("\n");
      // O_APPEND makes each short write atomic with respect to other threads and processes.
      [[maybe_unused]] auto n = ::write(count_fd, line.data(), line.size());
    }
  }

  void reset() {
    std::lock_guard lock(mu);
    by_path.clear();
    last_request.clear();
    last_authorization.clear();
    requests = 0;
  }

  std::string lastRequest() const {
    std::lock_guard lock(mu);
    return last_request;
  }
};
}  // namespace detail

MockUpstream::MockUpstream(MockOptions options)
    : options_(std::move(options)), state_(std::make_unique<detail::MockState>()) {
  if (!options_.count_file.empty()) {
    state_->count_fd =
        ::open(options_.count_file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (state_->count_fd < 0) log::warn("mock-upstream: cannot open {}", options_.count_file);
  }
}

MockUpstream::~MockUpstream() {
  if (state_->count_fd >= 0) ::close(state_->count_fd);
}

std::uint64_t MockUpstream::requestCount() const {
  return state_->requests.load();
}

std::string MockUpstream::statsJson() const {
  json::object by_path;
  {
    std::lock_guard lock(state_->mu);
    for (const auto& [path, n] : state_->by_path) by_path[path] = n;
  }
  json::object o;
  o["requests"] = state_->requests.load();
  o["by_path"] = std::move(by_path);
  o["open_streams"] = state_->open_streams.load();
  {
    std::lock_guard lock(state_->mu);
    o["last_authorization"] = state_->last_authorization;
  }
  return json::serialize(o);
}

Task<void> MockUpstream::handle(HttpRequest& request, Responder& responder) {
  const std::string_view path = request.path();
  detail::MockState& st = *state_;

  if (path == "/healthz") {
    co_await sendJson(responder, 200, R"({"status":"ok"})");
    co_return;
  }
  if (path.starts_with("/mock/")) {
    if (path == "/mock/stats" && request.method == "GET") {
      co_await sendJson(responder, 200, statsJson());
    } else if (path == "/mock/stats" && request.method == "DELETE") {
      st.reset();
      co_await sendJson(responder, 200, statsJson());
    } else if (path == "/mock/last-request" && request.method == "GET") {
      std::string body = st.lastRequest();
      if (body.empty()) {
        co_await sendJson(responder, 404, plainError(404, "no model request seen yet"));
      } else {
        co_await sendJson(responder, 200, std::move(body));
      }
    } else {
      co_await sendJson(responder, 404, plainError(404, "unknown mock admin route"));
    }
    co_return;
  }

  st.record(request.method, path);
  if (path.ends_with("/models") || path.find("/models/") != std::string_view::npos) {
    if (request.method != "GET") {
      co_await sendJson(responder, 405, plainError(405, "method not allowed"));
      co_return;
    }
    auto [status, body] = modelsReply(path, request.query(), options_.models);
    co_await sendJson(responder, status, std::move(body));
    co_return;
  }
  const Route r = route(path);
  if (r.dialect == nullptr) {
    co_await sendJson(responder, 404,
                      plainError(404, "mock-upstream: no route for " + std::string(path)));
    co_return;
  }

  const std::uint64_t seq = st.seq.fetch_add(1, std::memory_order_relaxed) + 1;
  std::string last_request;
  Prepared prepared = prepare(request, r, options_, seq, last_request);
  {
    const std::string* authorization = request.header("authorization");
    std::lock_guard lock(st.mu);
    if (!last_request.empty()) st.last_request = std::move(last_request);
    st.last_authorization = authorization != nullptr ? *authorization : std::string();
  }
  if (prepared.reply) {
    co_await sendReply(responder, std::move(*prepared.reply));
    co_return;
  }
  const Plan& plan = prepared.plan;
  const Dialect& dialect = *r.dialect;
  // Streams in progress, from the first wait to the last byte (or the client going away).
  OpenGauge open(st.open_streams, plan.stream);
  co_await sleepFor(std::chrono::milliseconds(plan.latency_ms));
  if (responder.clientGone()) co_return;
  if (plan.status > 0) {
    co_await sendReply(responder, dialect.error(plan.status, statusMessage(plan.status), seq));
  } else if (plan.stream) {
    co_await streamPlan(responder, dialect, plan);
  } else if (plan.drop_after >= 0) {
    // Half of the body, then the connection ends without the rest.
    Reply full = dialect.reply(plan);
    if (!co_await responder.startStream(200, std::move(full.headers))) co_return;
    co_await responder.write(std::string_view(full.body).substr(0, full.body.size() / 2));
    // No endStream: see streamPlan.
  } else if (plan.error_after >= 0) {
    co_await sendReply(
        responder, dialect.error(plan.mid_error_status, statusMessage(plan.mid_error_status), seq));
  } else {
    co_await sendReply(responder, dialect.reply(plan));
  }
}

}  // namespace basalt::mock
