#pragma once
// Linear-time wildcard matching for IAM patterns (internal to basalt_policy).
//
// A pattern is a short sequence of pieces rather than a string so that text substituted from a
// policy variable (or written as `${*}`) stays literal even when it contains `*` or `?`.

#include <cstdint>
#include <span>
#include <string_view>

namespace basalt::policy::detail {

struct GlobPiece {
  enum class Kind : std::uint8_t {
    kLiteral,  ///< `text` must match exactly (ASCII case-folded when matching actions)
    kAnyRun,   ///< `*`: any run of characters, including the empty run
    kAnyOne,   ///< `?`: exactly one character
  };
  Kind kind = Kind::kLiteral;
  std::string_view text;
};

/// Whole-string glob. Worst case O(|pattern| * |text|), no recursion, no backtracking, no
/// allocation: the runs before the first and after the last `*` are anchored to the text's ends
/// and each run between stars takes its leftmost fit.
bool globMatch(std::span<const GlobPiece> pattern, std::string_view text, bool fold_case);

/// Segment-wise ARN glob (IAM Resource element, Arn* condition operators): the pattern and the
/// ARN are split at `:`; within a segment `*` and `?` never match `:`, except that a `*` that is
/// the last character of a pattern segment may also absorb the following whole segments. A
/// lone `*` matches everything. Case-sensitive. A `:` inside any literal piece (including text
/// substituted for a variable) is a segment separator, exactly as if it had been written there.
bool arnMatch(std::span<const GlobPiece> pattern, std::string_view arn);

}  // namespace basalt::policy::detail
