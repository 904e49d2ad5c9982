#include "canonical_json.h"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <vector>

namespace basalt::audit {
namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 when it is not one (overlongs,
// surrogates and code points past U+10FFFF are invalid).
std::size_t utf8Length(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  if (c < 0x80) return 1;
  std::size_t n = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (b(1) < lo || b(1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k) {
    if (b(k) < 0x80 || b(k) > 0xBF) return 0;
  }
  return n;
}

}  // namespace

void appendCanonicalString(std::string_view s, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.reserve(out.size() + s.size() + 2);
  out.push_back('"');
  // Bytes that stand for themselves are copied in runs; only escapes and invalid UTF-8 break
  // a run (a byte-at-a-time push_back dominated the audit record's cost).
  std::size_t run = 0;
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      if (const std::size_t n = utf8Length(s, i); n != 0) {
        i += n;
        continue;
      }
    }
    out.append(s.data() + run, i - run);
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\b':
        out.append("\\b");
        break;
      case '\f':
        out.append("\\f");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      default:
        if (c < 0x20) {
          const char u[6] = {'\\', 'u', '0', '0', kHex[c >> 4U], kHex[c & 15U]};
          out.append(u, 6);
        } else {
          out.append("\xEF\xBF\xBD");  // U+FFFD for each invalid byte
        }
    }
    ++i;
    run = i;
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

void appendCanonicalJson(const boost::json::value& v, std::string& out) {
  switch (v.kind()) {
    case boost::json::kind::null:
      out.append("null");
      break;
    case boost::json::kind::bool_:
      out.append(v.get_bool() ? "true" : "false");
      break;
    case boost::json::kind::int64:
      out.append(std::to_string(v.get_int64()));
      break;
    case boost::json::kind::uint64:
      out.append(std::to_string(v.get_uint64()));
      break;
    // Records carry no floating point; should one appear, Boost's shortest round-trip form is
    // still deterministic.
    case boost::json::kind::double_:
      out.append(boost::json::serialize(v));
      break;
    case boost::json::kind::string:
      appendCanonicalString(v.get_string(), out);
      break;
    case boost::json::kind::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& e : v.get_array()) {
        if (!first) out.push_back(',');
        first = false;
        appendCanonicalJson(e, out);
      }
      out.push_back(']');
      break;
    }
    case boost::json::kind::object: {
      const auto& obj = v.get_object();
      std::vector<const boost::json::key_value_pair*> members;
      members.reserve(obj.size());
      for (const auto& kv : obj) members.push_back(&kv);
      std::sort(members.begin(), members.end(),
                [](const auto* a, const auto* b) { return a->key() < b->key(); });
      out.push_back('{');
      bool first = true;
      for (const auto* kv : members) {
        if (!first) out.push_back(',');
        first = false;
        appendCanonicalString(kv->key(), out);
        out.push_back(':');
        appendCanonicalJson(kv->value(), out);
      }
      out.push_back('}');
      break;
    }
  }
}

}  // namespace basalt::audit
