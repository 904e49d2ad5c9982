#include "wire_util.h"

#include "basalt/core/http_status.h"
#include "basalt/core/ids.h"

#include <charconv>
#include <ctime>

namespace basalt::server {
namespace {

constexpr std::size_t kMaxRequestIdLength = 128;
constexpr std::string_view kHttp2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

bool saneRequestId(std::string_view v) {
  if (v.empty() || v.size() > kMaxRequestIdLength) return false;
  for (const char c : v) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (x != b[i]) return false;  // b is lower-case
  }
  return true;
}

// Headers the transport writes itself; a handler's copy would corrupt framing or duplicate.
bool transportOwned(std::string_view name) {
  return iequals(name, "content-length") || iequals(name, "transfer-encoding") ||
         iequals(name, "connection") || iequals(name, "date") || iequals(name, "server") ||
         iequals(name, "x-request-id") || iequals(name, "keep-alive");
}

bool hasLineBreak(std::string_view s) {
  return s.find_first_of("\r\n") != std::string_view::npos;
}

void appendNumber(std::string& out, std::size_t n) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, n);
  out.append(buf, r.ptr);
}

void appendJsonString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (const char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += "\\u00";
          out.push_back(kHex[(c >> 4) & 0xF]);
          out.push_back(kHex[c & 0xF]);
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

}  // namespace

std::string chooseRequestId(const std::string* client_value) {
  if (client_value != nullptr && saneRequestId(*client_value)) return *client_value;
  return newRequestId();
}

std::string_view httpDate() {
  thread_local std::time_t cached_at = 0;
  thread_local char text[40] = {};
  thread_local std::size_t length = 0;
  const std::time_t now = std::time(nullptr);
  if (now != cached_at || length == 0) {
    std::tm tm{};
    gmtime_r(&now, &tm);
    length = std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    cached_at = now;
  }
  return {text, length};
}

Protocol sniffProtocol(std::string_view first_bytes) {
  const std::size_t n = std::min(first_bytes.size(), kHttp2Preface.size());
  if (first_bytes.substr(0, n) != kHttp2Preface.substr(0, n)) return Protocol::kHttp1;
  return n == kHttp2Preface.size() ? Protocol::kHttp2 : Protocol::kUndecided;
}

void appendResponseHead(std::string& out, int status, const Headers& headers, Framing framing,
                        std::size_t content_length, bool close, bool keep_alive_10,
                        std::string_view request_id) {
  if (status < 100 || status > 999) status = 500;
  out += "HTTP/1.1 ";
  appendNumber(out, static_cast<std::size_t>(status));
  out.push_back(' ');
  out += reasonPhrase(status);
  out += "\r\n";
  for (const Header& h : headers) {
    if (h.name.empty() || transportOwned(h.name) || hasLineBreak(h.name) || hasLineBreak(h.value)) {
      continue;
    }
    out += h.name;
    out += ": ";
    out += h.value;
    out += "\r\n";
  }
  switch (framing) {
    case Framing::kContentLength:
      out += "content-length: ";
      appendNumber(out, content_length);
      out += "\r\n";
      break;
    case Framing::kChunked:
      out += "transfer-encoding: chunked\r\n";
      break;
    case Framing::kNoBody:
    case Framing::kUntilClose:
      break;
  }
  out += "date: ";
  out += httpDate();
  out += "\r\nserver: basalt\r\nx-request-id: ";
  out += request_id;
  out += "\r\n";
  if (close) {
    out += "connection: close\r\n";
  } else if (keep_alive_10) {
    out += "connection: keep-alive\r\n";
  }
  out += "\r\n";
}

std::string transportErrorBody(std::string_view message, std::string_view code,
                               std::string_view type) {
  std::string out = R"({"error":{"message":)";
  appendJsonString(out, message);
  out += R"(,"type":)";
  appendJsonString(out, type);
  out += R"(,"param":null,"code":)";
  appendJsonString(out, code);
  out += "}}";
  return out;
}

std::size_t chunkHeader(char (&buf)[20], std::size_t size) {
  const auto r = std::to_chars(buf, buf + 16, size, 16);
  char* p = r.ptr;
  *p++ = '\r';
  *p++ = '\n';
  return static_cast<std::size_t>(p - buf);
}

}  // namespace basalt::server
