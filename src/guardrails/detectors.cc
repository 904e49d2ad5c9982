// The built-in PII detectors, the word list and user regexes. Patterns are RE2 (linear time);
// checks RE2 cannot express (Luhn, octet ranges, whole-number boundaries, IPv6 syntax) run on
// each RE2 candidate, and a failed check restarts the search one character later.

#include "detector.h"

#include <re2/re2.h>

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <functional>
#include <utility>

namespace basalt::guardrails::detail {
namespace {

using re2::RE2;
using re2::StringPiece;

bool isAlnum(char c) {
  return isAlpha(c) || isDigit(c);
}
bool isHex(char c) {
  return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// Next UTF-8 character boundary after i.
std::size_t nextChar(std::string_view text, std::size_t i) {
  ++i;
  while (i < text.size() && (static_cast<unsigned char>(text[i]) & 0xC0U) == 0x80U) ++i;
  return i;
}

bool hasDigit(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return isDigit(c); });
}

// A number stands alone: not glued to letters/digits, and not one piece of a longer dotted or
// dashed number (so 1.2.3.4.5 is no IP address and 12-123-45-6789 no SSN).
bool numberBoundaries(std::string_view t, std::size_t b, std::size_t e) {
  if (b > 0) {
    const char p = t[b - 1];
    if (isAlnum(p) || p == '_') return false;
    if ((p == '.' || p == '-') && b > 1 && isDigit(t[b - 2])) return false;
  }
  if (e < t.size()) {
    const char n = t[e];
    if (isAlnum(n) || n == '_') return false;
    if ((n == '.' || n == '-') && e + 1 < t.size() && isDigit(t[e + 1])) return false;
  }
  return true;
}

std::unique_ptr<RE2> compileRe(std::string_view pattern, bool case_insensitive = false) {
  RE2::Options opt;
  opt.set_log_errors(false);
  opt.set_max_mem(kRegexMaxMem);
  opt.set_case_sensitive(!case_insensitive);
  return std::make_unique<RE2>(StringPiece(pattern.data(), pattern.size()), opt);
}

// Validates (and may shorten) a candidate text[b, e).
using Check = std::function<bool(std::string_view text, std::size_t b, std::size_t& e)>;
using Prefilter = std::function<bool(std::string_view text)>;

// An RE2 pattern plus a check. When `group` > 0 the reported match is that capture group and the
// search starts up to `lookback` bytes before `from` so a keyword in the context still counts.
class ReDetector final : public Detector {
 public:
  ReDetector(Shape shape, std::size_t max_len, std::unique_ptr<RE2> re, std::uint32_t rule,
             Check check = {}, Prefilter prefilter = {}, int group = 0, std::size_t lookback = 0)
      : Detector(shape, max_len),
        re_(std::move(re)),
        rule_(rule),
        check_(std::move(check)),
        prefilter_(std::move(prefilter)),
        group_(group),
        lookback_(lookback) {}

  std::string setPattern() const override {
    return (re_->options().case_sensitive() ? "" : "(?i)") + re_->pattern();
  }

  void find(std::string_view text, std::size_t from, std::vector<Candidate>& out) const override {
    std::size_t pos = from > lookback_ ? from - lookback_ : 0;
    while (pos > 0 && (static_cast<unsigned char>(text[pos]) & 0xC0U) == 0x80U) --pos;
    if (prefilter_ && !prefilter_(text.substr(pos))) return;
    const StringPiece sp(text.data(), text.size());
    std::array<StringPiece, 2> m;
    while (pos <= text.size() &&
           re_->Match(sp, pos, text.size(), RE2::UNANCHORED, m.data(), group_ + 1)) {
      const std::size_t wb = static_cast<std::size_t>(m[0].data() - text.data());
      const std::size_t we = wb + m[0].size();
      if (we == wb) {  // empty matches mask nothing
        if (wb >= text.size()) break;
        pos = nextChar(text, wb);
        continue;
      }
      const std::size_t b = static_cast<std::size_t>(m[group_].data() - text.data());
      std::size_t e = b + m[group_].size();
      // A check may shorten the match (URL punctuation), so the length is tested again after it.
      if (b >= from && e > b && (!check_ || check_(text, b, e)) && e > b) {
        out.push_back({b, e, rule_});
        pos = we;
      } else {
        pos = nextChar(text, wb);
      }
    }
  }

 private:
  std::unique_ptr<RE2> re_;
  std::uint32_t rule_;
  Check check_;
  Prefilter prefilter_;
  int group_;
  std::size_t lookback_;
};

// ---- CREDIT_DEBIT_CARD_NUMBER: a maximal run of digits with single space/dash separators ----

bool luhn(std::string_view digits) {
  int sum = 0;
  bool dbl = false;
  for (std::size_t i = digits.size(); i-- > 0;) {
    int d = digits[i] - '0';
    if (dbl) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    dbl = !dbl;
  }
  return sum % 10 == 0;
}

class CardDetector final : public Detector {
 public:
  explicit CardDetector(std::uint32_t rule) : Detector(Shape::kNumeric, 40), rule_(rule) {}

  // Every card number contains 13 digits in a row with at most single separators.
  std::string setPattern() const override { return R"([0-9](?:[ \-]?[0-9]){12})"; }

  void find(std::string_view t, std::size_t from, std::vector<Candidate>& out) const override {
    // Start at the beginning of the run that `from` is in, so context digits count.
    std::size_t i = from;
    while (i > 0 && (isDigit(t[i - 1]) || ((t[i - 1] == ' ' || t[i - 1] == '-') && i > 1 &&
                                           isDigit(t[i - 2]) && i < t.size() && isDigit(t[i])))) {
      --i;
    }
    while (i < t.size()) {
      if (!isDigit(t[i])) {
        ++i;
        continue;
      }
      const std::size_t b = i;
      char digits[20];
      std::size_t n = 0;
      bool too_long = false;
      while (i < t.size()) {
        if (isDigit(t[i])) {
          if (n < sizeof digits) {
            digits[n] = t[i];
          } else {
            too_long = true;
          }
          ++n;
          ++i;
        } else if ((t[i] == ' ' || t[i] == '-') && i + 1 < t.size() && isDigit(t[i + 1])) {
          ++i;
        } else {
          break;
        }
      }
      if (b >= from && !too_long && n >= 13 && n <= 19 && numberBoundaries(t, b, i) &&
          luhn(std::string_view(digits, n))) {
        out.push_back({b, i, rule_});
      }
    }
  }

 private:
  std::uint32_t rule_;
};

// ---- IP_ADDRESS: runs of [0-9A-Za-z:.]; IPv6 checked by inet_pton, else IPv4 pieces ----

bool isIpRunChar(char c) {
  return isAlnum(c) || c == ':' || c == '.';
}

bool ipv4(std::string_view s) {
  int parts = 0;
  std::size_t i = 0;
  while (true) {
    std::size_t j = i;
    int v = 0;
    while (j < s.size() && isDigit(s[j]) && j - i < 4) v = v * 10 + (s[j++] - '0');
    if (j == i || j - i > 3 || v > 255) return false;
    ++parts;
    if (j == s.size()) return parts == 4;
    if (s[j] != '.' || parts == 4) return false;
    i = j + 1;
  }
}

bool ipv6(std::string_view s) {
  if (s.size() < 3 || s.size() > 45 || !hasDigit(s)) return false;
  if (std::count(s.begin(), s.end(), ':') < 2) return false;
  char buf[46];
  std::memcpy(buf, s.data(), s.size());
  buf[s.size()] = '\0';
  unsigned char addr[16];
  return inet_pton(AF_INET6, buf, addr) == 1;
}

class IpDetector final : public Detector {
 public:
  explicit IpDetector(std::uint32_t rule) : Detector(Shape::kToken, 64), rule_(rule) {}

  // Every IPv4 address is four dotted numbers; every IPv6 address has two colons at most four
  // hex digits apart.
  std::string setPattern() const override {
    return R"([0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|:[0-9A-Fa-f]{0,4}:)";
  }

  void find(std::string_view t, std::size_t from, std::vector<Candidate>& out) const override {
    std::size_t i = from;
    while (i > 0 && isIpRunChar(t[i - 1])) --i;  // the whole run, context included
    while (i < t.size()) {
      if (!isIpRunChar(t[i])) {
        ++i;
        continue;
      }
      const std::size_t b = i;
      bool digit = false;
      bool sep = false;
      for (; i < t.size() && isIpRunChar(t[i]); ++i) {
        digit = digit || isDigit(t[i]);
        sep = sep || t[i] == ':' || t[i] == '.';
      }
      if (!digit || !sep) continue;  // ordinary words
      std::size_t e = i;
      while (e > b && (t[e - 1] == '.' || t[e - 1] == ':')) --e;  // sentence punctuation
      // "::1" style addresses begin with ':' and keep it.
      if (e > b && ipv6(t.substr(b, e - b))) {
        if (b >= from) out.push_back({b, e, rule_});
        continue;
      }
      // Not IPv6: each ':'-separated piece may be IPv4 (host:port, "ip:10.0.0.1").
      std::size_t p = b;
      while (p < e) {
        std::size_t q = p;
        while (q < e && t[q] != ':') ++q;
        if (p >= from && q - p >= 7 && ipv4(t.substr(p, q - p))) out.push_back({p, q, rule_});
        p = q + 1;
      }
    }
  }

 private:
  std::uint32_t rule_;
};

// ---- user regexes and blocked words ----

class WordDetector final : public Detector {
 public:
  WordDetector(Shape shape, std::size_t max_len, std::unique_ptr<RE2> any,
               std::vector<std::unique_ptr<RE2>> each, std::vector<std::string> words,
               std::vector<std::uint32_t> rules)
      : Detector(shape, max_len),
        any_(std::move(any)),
        each_(std::move(each)),
        words_(std::move(words)),
        rules_(std::move(rules)) {}

  std::string setPattern() const override { return "(?i)" + any_->pattern(); }

  void find(std::string_view t, std::size_t from, std::vector<Candidate>& out) const override {
    const StringPiece sp(t.data(), t.size());
    std::size_t pos = from;
    StringPiece m;
    while (pos < t.size() && any_->Match(sp, pos, t.size(), RE2::UNANCHORED, &m, 1)) {
      const std::size_t b = static_cast<std::size_t>(m.data() - t.data());
      // The alternation prefers the longest word; if it is not whole here, a shorter one may be.
      bool found = false;
      for (std::size_t w = 0; w < each_.size() && !found; ++w) {
        StringPiece wm;
        if (!each_[w]->Match(sp, b, t.size(), RE2::ANCHOR_START, &wm, 1)) continue;
        const std::size_t e = b + wm.size();
        if (whole(t, b, e, words_[w])) {
          out.push_back({b, e, rules_[w]});
          pos = e;
          found = true;
        }
      }
      if (!found) pos = nextChar(t, b);
    }
  }

  // Phrases with spaces: open at the earliest tail that could still grow into a phrase (an
  // ASCII-case-insensitive prefix of one); a tail with non-ASCII bytes is held conservatively
  // because case folding can map them to ASCII letters.
  std::size_t openStart(std::string_view t, std::size_t from) const override {
    const std::size_t n = t.size();
    std::size_t p = n > from + maxLen() ? n - maxLen() : from;
    for (; p < n; ++p) {
      const std::string_view tail = t.substr(p);
      bool non_ascii = false;
      for (char c : tail) non_ascii = non_ascii || static_cast<unsigned char>(c) >= 0x80;
      if (non_ascii) return p;
      for (const std::string& w : words_) {
        if (tail.size() > w.size()) continue;
        std::size_t k = 0;
        while (k < tail.size() && asciiLower(tail[k]) == asciiLower(w[k])) ++k;
        if (k == tail.size()) return p;
      }
    }
    return n;
  }

 private:
  static char asciiLower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

  static bool whole(std::string_view t, std::size_t b, std::size_t e, std::string_view word) {
    if (e == b) return false;
    if (isWordByte(word.front()) && b > 0 && isWordByte(t[b - 1])) return false;
    if (isWordByte(word.back()) && e < t.size() && isWordByte(t[e])) return false;
    return true;
  }

  std::unique_ptr<RE2> any_;
  std::vector<std::unique_ptr<RE2>> each_;  // one per word, longest first
  std::vector<std::string> words_;          // in the same order as each_
  std::vector<std::uint32_t> rules_;        // in the same order as each_
};

}  // namespace

bool mayMatchWhitespace(std::string_view p) {
  for (std::size_t i = 0; i < p.size(); ++i) {
    const char c = p[i];
    if (c == '\\') {
      if (i + 1 >= p.size()) return true;
      const char n = p[++i];
      // Classes and escapes that can denote whitespace, alone or as a range end ([\a-z]).
      if (std::strchr("sWDpPxtnrfvaQCX01234567", n) != nullptr) return true;
      continue;
    }
    // '.', and any literal space or control byte (also as the end of a range).
    if (c == '.' || static_cast<unsigned char>(c) <= 0x20) return true;
    if (c == '[' && i + 1 < p.size() && (p[i + 1] == '^' || p[i + 1] == ':')) return true;
  }
  return false;
}

std::unique_ptr<Detector> makePiiDetector(std::string_view entity, std::uint32_t rule) {
  const auto digits = [](std::string_view s) { return hasDigit(s); };
  if (entity == "EMAIL") {
    auto re = compileRe(R"([A-Za-z0-9._%+\-]+@[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?)"
                        R"((?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?)*\.[A-Za-z]{2,63})");
    return std::make_unique<ReDetector>(
        Shape::kToken, 254, std::move(re), rule,
        [](std::string_view t, std::size_t b, std::size_t& e) {
          const char p = b > 0 ? t[b - 1] : ' ';
          return !(isAlnum(p) || std::strchr("._%+-", p) != nullptr) &&
                 !(e < t.size() && (isAlnum(t[e]) || t[e] == '-' || t[e] == '_'));
        },
        [](std::string_view t) { return t.find('@') != std::string_view::npos; });
  }
  if (entity == "URL") {
    auto re = compileRe(R"((?:https?|ftp)://[^\s<>"'`\x0b]+|www\.[^\s<>"'`\x0b]+)", true);
    return std::make_unique<ReDetector>(
        Shape::kToken, 2048, std::move(re), rule,
        [](std::string_view t, std::size_t b, std::size_t& e) {
          if (b > 0 && isAlnum(t[b - 1])) return false;
          const bool has_paren = t.substr(b, e - b).find('(') != std::string_view::npos;
          while (e > b && (std::strchr(".,;:!?'\"]}>", t[e - 1]) != nullptr ||
                           (t[e - 1] == ')' && !has_paren))) {
            --e;
          }
          const auto s = t.substr(b, e - b);
          const auto host = s.find("://") != std::string_view::npos ? s.find("://") + 3 : 4;
          return s.size() > host && isAlnum(s[host]);
        },
        Prefilter{});
  }
  if (entity == "AWS_ACCESS_KEY") {
    return std::make_unique<ReDetector>(
        Shape::kToken, 20, compileRe("(?:AKIA|ASIA)[A-Z0-9]{16}"), rule,
        [](std::string_view t, std::size_t b, std::size_t& e) {
          return !(b > 0 && isAlnum(t[b - 1])) && !(e < t.size() && isAlnum(t[e]));
        });
  }
  if (entity == "AWS_SECRET_KEY") {
    // 40 base64-ish characters shortly after a "secret" keyword (aws_secret_access_key = ...,
    // "SecretAccessKey": "..."); without the context 40 such characters are too common.
    auto re = compileRe(R"(secret[A-Za-z0-9_\-]{0,30}["']?[ \t]{0,4}(?:[:=]|=>)?[ \t]{0,4}["']?)"
                        R"(([A-Za-z0-9/+]{40}))",
                        true);
    return std::make_unique<ReDetector>(
        Shape::kToken, 40, std::move(re), rule,
        [](std::string_view t, std::size_t b, std::size_t& e) {
          return !(e < t.size() && (isAlnum(t[e]) || t[e] == '/' || t[e] == '+' || t[e] == '=')) &&
                 !(b > 0 && (isAlnum(t[b - 1]) || t[b - 1] == '/' || t[b - 1] == '+'));
        },
        Prefilter{}, 1, 96);
  }
  if (entity == "MAC_ADDRESS") {
    auto re =
        compileRe("(?:[0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}|(?:[0-9A-Fa-f]{2}-){5}[0-9A-Fa-f]{2}");
    return std::make_unique<ReDetector>(
        Shape::kToken, 17, std::move(re), rule,
        [](std::string_view t, std::size_t b, std::size_t& e) {
          if (b > 0 && (isAlnum(t[b - 1]) || t[b - 1] == ':' || t[b - 1] == '-')) return false;
          if (e < t.size() && isAlnum(t[e])) return false;
          return !(e + 1 < t.size() && (t[e] == ':' || t[e] == '-') && isHex(t[e + 1]));
        });
  }
  if (entity == "US_SOCIAL_SECURITY_NUMBER") {
    auto re = compileRe(R"([0-9]{3}-[0-9]{2}-[0-9]{4}|[0-9]{3} [0-9]{2} [0-9]{4})");
    return std::make_unique<ReDetector>(
        Shape::kNumeric, 11, std::move(re), rule,
        [](std::string_view t, std::size_t b, std::size_t& e) {
          if (!numberBoundaries(t, b, e)) return false;
          const auto s = t.substr(b, e - b);
          const int area = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
          if (area == 0 || area == 666 || area >= 900) return false;
          if (s.substr(4, 2) == "00" || s.substr(7, 4) == "0000") return false;
          // A space-separated one must not be the middle of a longer spaced number.
          if (s[3] == ' ') {
            if (b >= 2 && t[b - 1] == ' ' && isDigit(t[b - 2])) return false;
            if (e + 1 < t.size() && t[e] == ' ' && isDigit(t[e + 1])) return false;
          }
          return true;
        },
        digits);
  }
  if (entity == "PHONE") {
    // E.164 (+ and 8-15 digits, single separators) or NANP ((415) 555-2671, 415.555.2671,
    // +1 415 555 2671); NANP area codes and exchanges start with 2-9.
    auto re = compileRe(R"(\+[1-9](?:[ .\-]?[0-9]){7,14})"
                        R"(|(?:\+?1[ .\-]?)?(?:\([2-9][0-9]{2}\) ?|[2-9][0-9]{2}[ .\-]?))"
                        R"([2-9][0-9]{2}[ .\-]?[0-9]{4})");
    return std::make_unique<ReDetector>(
        Shape::kNumeric, 24, std::move(re), rule,
        [](std::string_view t, std::size_t b, std::size_t& e) {
          if (!numberBoundaries(t, b, e)) return false;
          // Glued to a longer spaced number (a card, a table of numbers): not a phone.
          if (b >= 2 && t[b - 1] == ' ' && isDigit(t[b - 2]) && t[b] != '+' && t[b] != '(') {
            return false;
          }
          return !(e + 1 < t.size() && t[e] == ' ' && isDigit(t[e + 1]));
        },
        digits);
  }
  if (entity == "CREDIT_DEBIT_CARD_NUMBER") return std::make_unique<CardDetector>(rule);
  if (entity == "IP_ADDRESS") return std::make_unique<IpDetector>(rule);
  return nullptr;
}

Result<std::unique_ptr<Detector>> makeRegexDetector(const std::string& pattern,
                                                    std::uint32_t rule) {
  auto re = compileRe(pattern);
  if (!re->ok()) return Error::invalid(re->error());
  const bool window = mayMatchWhitespace(pattern);
  return std::unique_ptr<Detector>(std::make_unique<ReDetector>(
      window ? Shape::kWindow : Shape::kToken, kRegexWindow, std::move(re), rule));
}

Result<std::unique_ptr<Detector>> makeWordDetector(const std::vector<std::string>& words,
                                                   std::uint32_t first_rule) {
  // Longest first, so "project falcon" is tried before "project".
  std::vector<std::pair<std::string, std::uint32_t>> order;
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (!words[i].empty()) order.emplace_back(words[i], first_rule + static_cast<std::uint32_t>(i));
  }
  std::stable_sort(order.begin(), order.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  std::string alternation = "(?:";
  std::vector<std::unique_ptr<RE2>> each;
  std::vector<std::string> sorted;
  std::vector<std::uint32_t> rules;
  std::size_t longest = 0;
  bool spaced = false;
  for (const auto& [w, r] : order) {
    if (alternation.size() > 3) alternation += '|';
    alternation += RE2::QuoteMeta(w);
    auto one = compileRe(RE2::QuoteMeta(w), true);
    if (!one->ok()) return Error::invalid("word \"" + w + "\": " + one->error());
    each.push_back(std::move(one));
    sorted.push_back(w);
    rules.push_back(r);
    longest = std::max(longest, w.size());
    spaced = spaced || std::any_of(w.begin(), w.end(), isSpace);
  }
  alternation += ')';
  auto any = compileRe(alternation, true);
  if (!any->ok()) return Error::invalid("word list: " + any->error());
  // Case folding can change byte lengths (K vs the Kelvin sign): allow for it in the window.
  return std::unique_ptr<Detector>(std::make_unique<WordDetector>(
      spaced ? Shape::kCustom : Shape::kToken, longest * 3 + 2, std::move(any), std::move(each),
      std::move(sorted), std::move(rules)));
}

}  // namespace basalt::guardrails::detail
