#include "dialect.h"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

namespace basalt::mock {
namespace {

bool isSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}
bool isContinuation(char c) {
  return (static_cast<unsigned char>(c) & 0xC0U) == 0x80U;
}

}  // namespace

std::size_t countChars(std::string_view s) {
  std::size_t n = 0;
  for (char c : s) n += isContinuation(c) ? 0 : 1;
  return n;
}

std::int64_t countWords(std::string_view s) {
  std::int64_t n = 0;
  bool in_word = false;
  for (char c : s) {
    if (isSpace(c)) {
      in_word = false;
    } else if (!in_word) {
      in_word = true;
      ++n;
    }
  }
  return n;
}

std::vector<std::string> chunkText(std::string_view s, int chars_per_chunk) {
  std::vector<std::string> out;
  std::size_t i = 0;
  if (chars_per_chunk <= 0) {
    while (i < s.size()) {
      std::size_t start = i;
      while (i < s.size() && isSpace(s[i])) ++i;
      while (i < s.size() && !isSpace(s[i])) ++i;
      out.emplace_back(s.substr(start, i - start));
    }
    return out;
  }
  while (i < s.size()) {
    std::size_t start = i;
    int n = 0;
    while (i < s.size() && n < chars_per_chunk) {
      ++i;
      while (i < s.size() && isContinuation(s[i])) ++i;
      ++n;
    }
    out.emplace_back(s.substr(start, i - start));
  }
  return out;
}

std::string statusMessage(int status) {
  switch (status) {
    case 400:
      return "mock-upstream: injected bad request";
    case 401:
      return "mock-upstream: injected authentication failure";
    case 403:
      return "mock-upstream: injected permission denied";
    case 404:
      return "mock-upstream: injected not found";
    case 408:
      return "mock-upstream: injected model timeout";
    case 429:
      return "Rate limit reached for requests (mock-upstream). Please try again in 1s.";
    case 503:
      return "mock-upstream: injected overload, service unavailable";
    default:
      return "mock-upstream: injected error " + std::to_string(status);
  }
}

std::string_view stringField(const boost::json::value& v, std::string_view key) {
  const auto* obj = v.if_object();
  if (obj == nullptr) return {};
  const auto* f = obj->if_contains(key);
  if (f == nullptr || !f->is_string()) return {};
  const auto& s = f->get_string();
  return {s.data(), s.size()};
}

void appendContentText(const boost::json::value& content, std::string& out) {
  if (const auto* s = content.if_string()) {
    out.append(s->data(), s->size());
    return;
  }
  const auto* arr = content.if_array();
  if (arr == nullptr) return;
  bool first = true;
  for (const auto& part : *arr) {
    const auto* obj = part.if_object();
    if (obj == nullptr) continue;
    const auto* text = obj->if_contains("text");
    if (text == nullptr || !text->is_string()) continue;
    if (!first) out += '\n';
    first = false;
    out.append(text->get_string().data(), text->get_string().size());
  }
}

std::string jsonString(std::string_view s) {
  return boost::json::serialize(boost::json::string_view(s.data(), s.size()));
}

std::string sseData(std::string_view json) {
  std::string out;
  out.reserve(json.size() + 8);
  out += "data: ";
  out += json;
  out += "\n\n";
  return out;
}

std::string sseEvent(std::string_view name, std::string_view json) {
  std::string out;
  out.reserve(name.size() + json.size() + 16);
  out += "event: ";
  out += name;
  out += "\ndata: ";
  out += json;
  out += "\n\n";
  return out;
}

std::string openAIErrorJson(int status, std::string_view message) {
  std::string_view type = "invalid_request_error";
  std::string_view code;
  switch (status) {
    case 401:
      code = "invalid_api_key";
      break;
    case 403:
      type = "permission_error";
      break;
    case 404:
      code = "model_not_found";
      break;
    case 429:
      type = "requests";
      code = "rate_limit_exceeded";
      break;
    default:
      if (status >= 500) type = "server_error";
      break;
  }
  boost::json::object err;
  err["message"] = message;
  err["type"] = type;
  err["param"] = nullptr;
  if (code.empty()) {
    err["code"] = nullptr;
  } else {
    err["code"] = code;
  }
  boost::json::object body;
  body["error"] = std::move(err);
  return boost::json::serialize(body);
}

Reply jsonReply(int status, std::string body) {
  Reply r;
  r.status = status;
  r.headers.push_back({"content-type", "application/json"});
  if (status == 429) r.headers.push_back({"retry-after", "1"});
  r.body = std::move(body);
  return r;
}

Headers sseHeaders() {
  return {{"content-type", "text/event-stream"}, {"cache-control", "no-cache"}};
}

Error badRequest(std::string message) {
  return Error::invalid("mock-upstream: " + std::move(message));
}

}  // namespace basalt::mock
