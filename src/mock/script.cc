#include "basalt/mock/script.h"

#include <boost/json/parse.hpp>

#include <charconv>
#include <string>

namespace basalt::mock {
namespace {

bool isBlank(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && isBlank(s.front())) s.remove_prefix(1);
  while (!s.empty() && isBlank(s.back())) s.remove_suffix(1);
  return s;
}

Error directiveError(std::string message) {
  return Error::invalid("mock directive: " + std::move(message), {}, "mock_directive");
}

/// Reads a quoted value starting at s[i] (the quote). Escapes: \" \' \\ \n \t.
Result<std::string> readQuoted(std::string_view s, std::size_t& i) {
  const char quote = s[i++];
  std::string out;
  while (i < s.size()) {
    char c = s[i++];
    if (c == quote) return out;
    if (c == '\\' && i < s.size()) {
      char e = s[i++];
      switch (e) {
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        default:
          out += e;
          break;  // \" \' \\ and anything else verbatim
      }
      continue;
    }
    out += c;
  }
  return directiveError("unterminated quoted value");
}

/// Reads a bare JSON object/array value, balancing brackets outside JSON strings, so that
/// `args={"city": "Paris"}` works without quoting.
Result<std::string> readJsonBare(std::string_view s, std::size_t& i) {
  const std::size_t start = i;
  int depth = 0;
  bool in_string = false;
  for (; i < s.size(); ++i) {
    char c = s[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (--depth == 0) {
        ++i;
        return std::string(s.substr(start, i - start));
      }
    }
  }
  return directiveError("unbalanced JSON value");
}

template <class Int>
Result<Int> parseInt(std::string_view key, std::string_view v, Int lo, Int hi) {
  Int out{};
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || p != v.data() + v.size() || out < lo || out > hi) {
    return directiveError(std::string(key) + " must be an integer in [" + std::to_string(lo) +
                          ", " + std::to_string(hi) + "], got '" + std::string(v) + "'");
  }
  return out;
}

Result<double> parsePositiveDouble(std::string_view key, std::string_view v) {
  double out = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || p != v.data() + v.size() || !(out > 0) || out > 1e9) {
    return directiveError(std::string(key) + " must be a positive number, got '" + std::string(v) +
                          "'");
  }
  return out;
}

Result<void> apply(Directive& d, std::string_view key, std::string value) {
  constexpr int kMaxInt = 1 << 30;
  if (key == "reply") {
    d.reply = std::move(value);
  } else if (key == "reasoning") {
    d.reasoning = std::move(value);
  } else if (key == "tool") {
    if (value.empty()) return directiveError("tool needs a name");
    d.tool = std::move(value);
  } else if (key == "args") {
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(value, ec);
    if (ec || !v.is_object()) return directiveError("args must be a JSON object");
    d.args = std::move(value);
  } else if (key == "tools") {
    auto n = parseInt<int>(key, value, 1, 64);
    if (!n) return n.error();
    d.tools = *n;
  } else if (key == "status") {
    auto n = parseInt<int>(key, value, 0, 599);
    if (!n) return n.error();
    if (*n != 0 && *n < 100) return directiveError("status must be 0 or an HTTP status");
    d.status = *n;
  } else if (key == "error_after" || key == "drop_after" || key == "latency_ms" || key == "chunk") {
    auto n = parseInt<int>(key, value, 0, kMaxInt);
    if (!n) return n.error();
    if (key == "error_after") d.error_after = *n;
    if (key == "drop_after") d.drop_after = *n;
    if (key == "latency_ms") d.latency_ms = *n;
    if (key == "chunk") d.chunk = *n;
  } else if (key == "tokens_per_s") {
    auto x = parsePositiveDouble(key, value);
    if (!x) return x.error();
    d.tokens_per_s = *x;
  } else if (key == "usage") {
    auto comma = value.find(',');
    if (comma == std::string::npos) return directiveError("usage must be IN,OUT");
    constexpr std::int64_t kMaxTokens = std::int64_t{1} << 40;
    auto in =
        parseInt<std::int64_t>("usage IN", std::string_view(value).substr(0, comma), 0, kMaxTokens);
    if (!in) return in.error();
    auto out = parseInt<std::int64_t>("usage OUT", std::string_view(value).substr(comma + 1), 0,
                                      kMaxTokens);
    if (!out) return out.error();
    d.usage_in = *in;
    d.usage_out = *out;
  } else {
    return directiveError("unknown key '" + std::string(key) + "'");
  }
  return {};
}

}  // namespace

SplitText splitDirective(std::string_view text) {
  SplitText out;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t eol = text.find('\n', pos);
    std::size_t end = eol == std::string_view::npos ? text.size() : eol;
    std::string_view line = text.substr(pos, end - pos);
    std::string_view body = line;
    while (!body.empty() && (body.front() == ' ' || body.front() == '\t')) body.remove_prefix(1);
    if (body.starts_with("#mock") && (body.size() == 5 || isBlank(body[5]))) {
      out.directive = std::string(trim(body.substr(5)));
      std::string rest(text.substr(0, pos));
      if (eol != std::string_view::npos) rest.append(text.substr(eol + 1));
      out.text = std::string(trim(rest));
      return out;
    }
    if (eol == std::string_view::npos) break;
    pos = eol + 1;
  }
  out.text = std::string(trim(text));
  return out;
}

Result<Directive> parseDirective(std::string_view line) {
  Directive d;
  std::size_t i = 0;
  while (true) {
    while (i < line.size() && isBlank(line[i])) ++i;
    if (i >= line.size()) break;
    std::size_t key_start = i;
    while (i < line.size() && line[i] != '=' && !isBlank(line[i])) ++i;
    std::string_view key = line.substr(key_start, i - key_start);
    if (i >= line.size() || line[i] != '=') {
      if (key == "echo") {
        d.echo = true;
        continue;
      }
      return directiveError("expected key=value, got '" + std::string(key) + "'");
    }
    ++i;  // '='
    std::string value;
    if (i < line.size() && (line[i] == '"' || line[i] == '\'')) {
      auto v = readQuoted(line, i);
      if (!v) return v.error();
      value = std::move(*v);
    } else if (i < line.size() && (line[i] == '{' || line[i] == '[')) {
      auto v = readJsonBare(line, i);
      if (!v) return v.error();
      value = std::move(*v);
    } else {
      std::size_t start = i;
      while (i < line.size() && !isBlank(line[i])) ++i;
      value = std::string(line.substr(start, i - start));
    }
    if (i < line.size() && !isBlank(line[i])) {
      return directiveError("garbage after the value of '" + std::string(key) + "'");
    }
    if (key == "echo") {
      if (value != "1" && value != "true") return directiveError("echo takes no value");
      d.echo = true;
      continue;
    }
    auto r = apply(d, key, std::move(value));
    if (!r) return r.error();
  }
  if (d.args && !d.tool) return directiveError("args needs tool=NAME");
  return d;
}

}  // namespace basalt::mock

namespace basalt::mock {

const char* const kScriptHelp = R"(ENDPOINTS
  POST /v1/chat/completions (also /chat/completions, Azure .../deployments/D/chat/completions)
  POST /v1/responses                    OpenAI Responses (SSE events with sequence_number)
  POST /v1/messages                     Anthropic Messages (named SSE events)
  POST /v1/messages/count_tokens        {"input_tokens": N}
  POST /model/{modelId}/converse        Bedrock Converse
  POST /model/{modelId}/converse-stream Bedrock ConverseStream (application/vnd.amazon.eventstream)
  GET  /v1/models (also /models, /v1/models/{id})   the --models ids, OpenAI+Anthropic superset
  GET  /healthz                         {"status":"ok"}
  GET  /mock/stats                      {"requests": N, "by_path": {"/v1/messages": N, ...},
                                        "open_streams": N (streams in progress),
                                        "last_authorization": "<authorization header of the
                                        last model call>"}
  DELETE /mock/stats                    reset the counters
  GET  /mock/last-request               {"method","target","headers","body"} of the last model call
  Requests to /healthz and /mock/* are not counted. The request's "stream" flag (Bedrock: the
  -stream path) selects the streamed form. Replies echo the request's model; ids and
  "created" are deterministic (derived from a per-process request counter).

SCRIPT LANGUAGE
  Defaults come from the flags. A request overrides them with a directive line in the text of
  its LAST user message (the last user message that has text):
      #mock key=value key=value ...
  The line is removed from the text the mock echoes. Values are bare words, "double" or
  'single' quoted (escapes \" \' \\ \n \t), or bare JSON objects/arrays (balanced brackets,
  may contain spaces). Unknown keys and bad values fail the request with HTTP 400 and the
  vendor's error body ("mock directive: ...").

  reply="text"      reply with this text. Default: echo, "You said: " + the last user text
                    (without the directive line). When the conversation ends with tool results
                    (OpenAI role "tool", function_call_output, Anthropic tool_result, Bedrock
                    toolResult) the default is "Tool result: " + their text instead.
  echo              force the echo reply even when --reply is set.
  tool=NAME         reply with a call to tool NAME (OpenAI tool_calls / Responses function_call /
                    Anthropic tool_use / Bedrock toolUse), finish reason tool_calls / tool_use.
                    No text unless reply= is also given (then text first, then the call).
                    Ignored when the conversation ends with tool results, so agent loops end.
  args=JSON         the tool call's arguments, a JSON object (default {}).
  tools=N           N parallel calls to the same tool (1..64).
  status=CODE       fail with this HTTP status and the vendor's error body (OpenAI
                    {"error":{...}}, Anthropic {"type":"error",...}, Bedrock {"message"} with
                    x-amzn-ErrorType); 429 adds "retry-after: 1". status=200 or 0 succeeds
                    (overrides --status).
  error_after=N     stream normally, then after N reply content chunks (or before the finish
                    if there are fewer) emit the vendor's error event and end the stream:
                    OpenAI chat data: {"error":...}; Responses response.failed; Anthropic
                    event: error; Bedrock an :message-type=exception message. status= (default
                    500) picks the error kind (429 -> rate limit / throttlingException, 503 ->
                    overloaded / serviceUnavailableException, ...). Non-streamed requests
                    fail with that status instead.
  drop_after=N      like error_after but cut the stream without an error event or the
                    finish (the handler returns without ending the stream, so the client sees a
                    truncated stream). Non-streamed requests get half of their JSON body.
  latency_ms=N      wait N ms before the first byte.
  tokens_per_s=N    pace streamed text and reasoning chunks at N chunks per second.
  chunk=N           N characters per streamed content chunk (default 0: one word per chunk,
                    each chunk carrying its leading blanks).
  usage=IN,OUT      report these token counts. Default: input = ceil(characters of all input
                    text / 4) where input text is the system prompt/instructions, every
                    message's text, tool-call arguments and tool results (Unicode code points,
                    directive line included); output = number of whitespace-separated words
                    of the reasoning, the reply text and the tool arguments.
  reasoning="text"  emit reasoning before the reply: OpenAI chat reasoning_content, Responses
                    reasoning item with a summary, Anthropic thinking block (with signature),
                    Bedrock reasoningContent.

EXAMPLES
  #mock reply="Hello there" usage=10,2
  #mock tool=get_weather args={"city": "Paris"} tools=2
  #mock status=429
  #mock error_after=3 status=503 tokens_per_s=20
)";

}  // namespace basalt::mock
