#include "glob.h"

#include <boost/container/small_vector.hpp>

#include <cstddef>

namespace basalt::policy::detail {
namespace {

constexpr char foldAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

bool isTrailingSegmentStar(std::span<const GlobPiece> segment) {
  return !segment.empty() && segment.back().kind == GlobPiece::Kind::kAnyRun;
}

}  // namespace

bool globMatch(std::span<const GlobPiece> pattern, std::string_view text, bool fold_case) {
  using Kind = GlobPiece::Kind;
  const std::size_t n = pattern.size();
  std::size_t pi = 0;  // current piece
  std::size_t po = 0;  // offset inside the current literal piece
  std::size_t si = 0;  // position in text
  // Restart point after the most recent `*`: the piece following it, and the text position the
  // star has absorbed up to.
  std::size_t star_next = n + 1;
  std::size_t star_si = 0;

  while (si < text.size()) {
    if (pi < n) {
      const GlobPiece& p = pattern[pi];
      if (p.kind == Kind::kAnyRun) {
        star_next = pi + 1;
        star_si = si;
        ++pi;
        po = 0;
        continue;
      }
      if (p.kind == Kind::kAnyOne) {
        ++pi;
        ++si;
        continue;
      }
      if (p.text.empty()) {  // a variable that resolved to ""
        ++pi;
        continue;
      }
      const char a = p.text[po];
      const char b = text[si];
      if (a == b || (fold_case && foldAscii(a) == foldAscii(b))) {
        ++si;
        if (++po == p.text.size()) {
          ++pi;
          po = 0;
        }
        continue;
      }
    }
    if (star_next <= n) {
      pi = star_next;
      po = 0;
      si = ++star_si;
      continue;
    }
    return false;
  }
  if (po != 0) return false;
  while (pi < n && (pattern[pi].kind == Kind::kAnyRun ||
                    (pattern[pi].kind == Kind::kLiteral && pattern[pi].text.empty()))) {
    ++pi;
  }
  return pi == n;
}

bool arnMatch(std::span<const GlobPiece> pattern, std::string_view arn) {
  using Kind = GlobPiece::Kind;
  if (pattern.size() == 1 && pattern[0].kind == Kind::kAnyRun) return true;

  // Split the ARN at ':'.
  constexpr std::size_t kMaxSegments = 64;
  std::string_view value[kMaxSegments];
  std::size_t value_count = 0;
  for (std::size_t start = 0;;) {
    if (value_count == kMaxSegments) return false;
    const std::size_t colon = arn.find(':', start);
    if (colon == std::string_view::npos) {
      value[value_count++] = arn.substr(start);
      break;
    }
    value[value_count++] = arn.substr(start, colon - start);
    start = colon + 1;
  }

  // Split the pattern at every ':' inside its literal pieces; `bounds` holds segment ends.
  boost::container::small_vector<GlobPiece, 24> pieces;
  boost::container::small_vector<std::size_t, 12> bounds;
  for (const GlobPiece& p : pattern) {
    if (p.kind != Kind::kLiteral) {
      pieces.push_back(p);
      continue;
    }
    std::string_view rest = p.text;
    for (std::size_t colon = rest.find(':'); colon != std::string_view::npos;
         colon = rest.find(':')) {
      if (colon > 0) pieces.push_back({Kind::kLiteral, rest.substr(0, colon)});
      bounds.push_back(pieces.size());
      rest.remove_prefix(colon + 1);
    }
    if (!rest.empty()) pieces.push_back({Kind::kLiteral, rest});
  }
  bounds.push_back(pieces.size());
  if (bounds.size() > value_count) return false;  // every pattern segment needs a value segment

  // Forward reachability over value segments: reach[j] means the pattern segments consumed so
  // far can match value segments [0, j) exactly.
  bool reach[kMaxSegments + 1] = {};
  bool next[kMaxSegments + 1];
  reach[0] = true;
  std::size_t seg_begin = 0;
  for (const std::size_t seg_end : bounds) {
    const std::span<const GlobPiece> segment(pieces.data() + seg_begin, seg_end - seg_begin);
    const bool crossing = isTrailingSegmentStar(segment);
    bool any = false;
    for (std::size_t j = 0; j <= value_count; ++j) next[j] = false;
    for (std::size_t j = 0; j < value_count; ++j) {
      if (!reach[j] || !globMatch(segment, value[j], /*fold_case=*/false)) continue;
      if (crossing) {
        for (std::size_t k = j + 1; k <= value_count; ++k) next[k] = true;
      } else {
        next[j + 1] = true;
      }
      any = true;
    }
    if (!any) return false;
    for (std::size_t j = 0; j <= value_count; ++j) reach[j] = next[j];
    seg_begin = seg_end;
  }
  return reach[value_count];
}

}  // namespace basalt::policy::detail
