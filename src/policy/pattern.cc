#include "pattern.h"

namespace basalt::policy::detail {
namespace {

constexpr char lowerAscii(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

}  // namespace

Result<Pattern> Pattern::compile(std::string_view text, Syntax syntax) {
  Pattern p;
  p.source_.assign(text);
  auto append_literal = [&p](std::string_view lit) {
    if (lit.empty()) return;
    if (!p.tokens_.empty() && p.tokens_.back().kind == Kind::kLiteral &&
        p.tokens_.back().offset + p.tokens_.back().length == p.storage_->size()) {
      p.tokens_.back().length += static_cast<std::uint32_t>(lit.size());
    } else {
      p.tokens_.push_back({Kind::kLiteral, static_cast<std::uint32_t>(p.storage_->size()),
                           static_cast<std::uint32_t>(lit.size())});
    }
    p.storage_->append(lit);
  };

  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (syntax.wildcards && c == '*') {
      // `**` is the same as `*`; collapsing keeps the matcher's piece count small.
      if (p.tokens_.empty() || p.tokens_.back().kind != Kind::kAnyRun) {
        p.tokens_.push_back({Kind::kAnyRun});
      }
      ++i;
      continue;
    }
    if (syntax.wildcards && c == '?') {
      p.tokens_.push_back({Kind::kAnyOne});
      ++i;
      continue;
    }
    if (syntax.variables && c == '$' && i + 1 < text.size() && text[i + 1] == '{') {
      const std::size_t body_begin = i + 2;
      const std::size_t close = text.find('}', body_begin);
      if (close == std::string_view::npos) {
        return Error::invalid("unterminated policy variable in '" + std::string(text) + "'");
      }
      std::string_view body = text.substr(body_begin, close - body_begin);
      std::size_t end = close + 1;
      if (body == "*" || body == "?" || body == "$") {  // escapes for literal wildcard chars
        append_literal(body);
        i = end;
        continue;
      }
      std::string_view key = body;
      std::string_view fallback;
      bool has_default = false;
      if (const std::size_t comma = body.find(','); comma != std::string_view::npos) {
        key = body.substr(0, comma);
        // The default is single-quoted and may itself contain '}', so re-scan from the quote.
        const std::size_t quote = text.find('\'', body_begin + comma + 1);
        const std::size_t quote_end =
            quote == std::string_view::npos ? quote : text.find('\'', quote + 1);
        if (quote == std::string_view::npos || quote_end == std::string_view::npos ||
            !trim(text.substr(body_begin + comma + 1, quote - body_begin - comma - 1)).empty()) {
          return Error::invalid("malformed default value in policy variable in '" +
                                std::string(text) + "'");
        }
        const std::size_t close2 = text.find('}', quote_end + 1);
        if (close2 == std::string_view::npos ||
            !trim(text.substr(quote_end + 1, close2 - quote_end - 1)).empty()) {
          return Error::invalid("malformed default value in policy variable in '" +
                                std::string(text) + "'");
        }
        fallback = text.substr(quote + 1, quote_end - quote - 1);
        has_default = true;
        end = close2 + 1;
      }
      key = trim(key);
      if (key.empty() || key.find_first_of(" ${'") != std::string_view::npos) {
        return Error::invalid("malformed policy variable '${" + std::string(body) + "}'");
      }
      Token t{Kind::kVariable, static_cast<std::uint32_t>(p.storage_->size()),
              static_cast<std::uint32_t>(key.size())};
      for (char k : key) p.storage_->push_back(lowerAscii(k));
      if (has_default) {
        t.default_offset = static_cast<std::int32_t>(p.storage_->size());
        t.default_length = static_cast<std::uint32_t>(fallback.size());
        p.storage_->append(fallback);
      }
      p.tokens_.push_back(t);
      p.has_variables_ = true;
      i = end;
      continue;
    }
    // Run of plain characters up to the next special one.
    std::size_t j = i + 1;
    while (j < text.size() && !(syntax.wildcards && (text[j] == '*' || text[j] == '?')) &&
           !(syntax.variables && text[j] == '$')) {
      ++j;
    }
    append_literal(text.substr(i, j - i));
    i = j;
  }
  if (!p.has_variables_) {
    RequestContext none;
    ResolvedPieces pieces;
    p.resolve(none, pieces);
    p.static_pieces_.assign(pieces.begin(), pieces.end());
  }
  return p;
}

bool Pattern::resolve(const RequestContext& ctx, ResolvedPieces& out) const {
  out.clear();
  const std::string_view storage = *storage_;
  for (const Token& t : tokens_) {
    switch (t.kind) {
      case Kind::kLiteral:
        out.push_back({GlobPiece::Kind::kLiteral, storage.substr(t.offset, t.length)});
        break;
      case Kind::kAnyRun:
        out.push_back({GlobPiece::Kind::kAnyRun, {}});
        break;
      case Kind::kAnyOne:
        out.push_back({GlobPiece::Kind::kAnyOne, {}});
        break;
      case Kind::kVariable: {
        const std::vector<std::string>* values =
            ctx.findLowercase(storage.substr(t.offset, t.length));
        if (values != nullptr && values->size() == 1) {
          out.push_back({GlobPiece::Kind::kLiteral, (*values)[0]});
        } else if ((values == nullptr || values->empty()) && t.default_offset >= 0) {
          out.push_back(
              {GlobPiece::Kind::kLiteral,
               storage.substr(static_cast<std::size_t>(t.default_offset), t.default_length)});
        } else {
          return false;  // absent without default, or multi-valued: not usable as a variable
        }
        break;
      }
    }
  }
  return true;
}

}  // namespace basalt::policy::detail
