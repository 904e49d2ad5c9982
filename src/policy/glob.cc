#include "glob.h"

#include <boost/container/small_vector.hpp>

#include <cstddef>

namespace basalt::policy::detail {
namespace {

constexpr char foldAscii(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

bool isTrailingSegmentStar(std::span<const GlobPiece> segment) {
  return !segment.empty() && segment.back().kind == GlobPiece::Kind::kAnyRun;
}

}  // namespace

namespace {

/// Characters a star-free run of pieces consumes.
std::size_t fixedLength(std::span<const GlobPiece> run) {
  std::size_t n = 0;
  for (const GlobPiece& p : run) n += p.kind == GlobPiece::Kind::kAnyOne ? 1 : p.text.size();
  return n;
}

/// Does the star-free `run` match `text` at `pos`? (The caller checked the length fits.)
bool matchesAt(std::span<const GlobPiece> run, std::string_view text, std::size_t pos,
               bool fold_case) {
  for (const GlobPiece& p : run) {
    if (p.kind == GlobPiece::Kind::kAnyOne) {
      ++pos;
      continue;
    }
    const std::string_view want = p.text;
    if (fold_case) {
      for (std::size_t i = 0; i < want.size(); ++i) {
        if (foldAscii(want[i]) != foldAscii(text[pos + i])) return false;
      }
    } else if (text.compare(pos, want.size(), want) != 0) {
      return false;
    }
    pos += want.size();
  }
  return true;
}

}  // namespace

bool globMatch(std::span<const GlobPiece> pattern, std::string_view text, bool fold_case) {
  using Kind = GlobPiece::Kind;
  const std::size_t n = pattern.size();
  std::size_t first_star = n;
  std::size_t last_star = n;
  for (std::size_t i = 0; i < n; ++i) {
    if (pattern[i].kind != Kind::kAnyRun) continue;
    if (first_star == n) first_star = i;
    last_star = i;
  }
  if (first_star == n) {
    return fixedLength(pattern) == text.size() && matchesAt(pattern, text, 0, fold_case);
  }

  // The parts before the first and after the last star are anchored to the ends of the text.
  const auto head = pattern.subspan(0, first_star);
  const auto tail = pattern.subspan(last_star + 1);
  const std::size_t head_len = fixedLength(head);
  const std::size_t tail_len = fixedLength(tail);
  if (head_len + tail_len > text.size()) return false;
  if (!matchesAt(head, text, 0, fold_case)) return false;
  if (!matchesAt(tail, text, text.size() - tail_len, fold_case)) return false;

  // Each star-free run between two stars takes its leftmost fit: a later fit could only leave
  // less text for the runs after it, so no backtracking is ever needed.
  std::size_t pos = head_len;
  const std::size_t end = text.size() - tail_len;
  for (std::size_t i = first_star + 1; i < last_star;) {
    std::size_t j = i;
    while (pattern[j].kind != Kind::kAnyRun) ++j;
    const auto run = pattern.subspan(i, j - i);
    i = j + 1;
    const std::size_t len = fixedLength(run);
    if (len == 0) continue;
    if (pos + len > end) return false;
    // With a literal first character and exact case, memchr finds the candidates.
    const bool scan = !fold_case && run[0].kind == Kind::kLiteral && !run[0].text.empty();
    bool found = false;
    for (std::size_t x = pos; x + len <= end; ++x) {
      if (scan) {
        x = text.find(run[0].text[0], x);
        if (x == std::string_view::npos || x + len > end) break;
      }
      if (matchesAt(run, text, x, fold_case)) {
        pos = x + len;
        found = true;
        break;
      }
    }
    if (!found) return false;
  }
  return true;
}

bool arnMatch(std::span<const GlobPiece> pattern, std::string_view arn) {
  using Kind = GlobPiece::Kind;
  if (pattern.size() == 1 && pattern[0].kind == Kind::kAnyRun) return true;

  // Segment-wise matching only ever rejects more than a whole-string glob, so a glob miss
  // settles it cheaply. When every wildcard is a `*` at the end of a segment (the usual
  // `arn:aws:bedrock:*::foundation-model/anthropic.*`), each star may cross ':' anyway and
  // the glob answer is exact.
  if (!globMatch(pattern, arn, /*fold_case=*/false)) return false;
  bool simple = true;
  for (std::size_t i = 0; i < pattern.size() && simple; ++i) {
    if (pattern[i].kind == Kind::kAnyOne) simple = false;
    if (pattern[i].kind == Kind::kAnyRun) {
      simple = i + 1 == pattern.size() ||
               (pattern[i + 1].kind == Kind::kLiteral && !pattern[i + 1].text.empty() &&
                pattern[i + 1].text.front() == ':');
    }
  }
  if (simple) return true;

  // Split the ARN at ':'. Inline storage covers every real ARN; a request whose resource has
  // more segments (model names are client-chosen) spills to the heap rather than failing to
  // match, which would let it slip past a Deny.
  boost::container::small_vector<std::string_view, 16> value;
  for (std::size_t start = 0;;) {
    const std::size_t colon = arn.find(':', start);
    if (colon == std::string_view::npos) {
      value.push_back(arn.substr(start));
      break;
    }
    value.push_back(arn.substr(start, colon - start));
    start = colon + 1;
  }
  const std::size_t value_count = value.size();

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
  boost::container::small_vector<char, 17> reach(value_count + 1, 0);
  boost::container::small_vector<char, 17> next(value_count + 1, 0);
  reach[0] = 1;
  std::size_t seg_begin = 0;
  for (const std::size_t seg_end : bounds) {
    const std::span<const GlobPiece> segment(pieces.data() + seg_begin, seg_end - seg_begin);
    const bool crossing = isTrailingSegmentStar(segment);
    bool any = false;
    for (std::size_t j = 0; j <= value_count; ++j) next[j] = 0;
    for (std::size_t j = 0; j < value_count; ++j) {
      if (!reach[j] || !globMatch(segment, value[j], /*fold_case=*/false)) continue;
      any = true;
      if (crossing) {
        // The earliest fit reaches every later segment boundary: nothing more to learn.
        for (std::size_t k = j + 1; k <= value_count; ++k) next[k] = 1;
        break;
      }
      next[j + 1] = 1;
    }
    if (!any) return false;
    for (std::size_t j = 0; j <= value_count; ++j) reach[j] = next[j];
    seg_begin = seg_end;
  }
  return reach[value_count];
}

}  // namespace basalt::policy::detail
