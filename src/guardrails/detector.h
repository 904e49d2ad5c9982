#pragma once
// Internal: the detector interface behind Guardrail. Each configured rule (a PII entity, the word
// list, a user regex) becomes one Detector that lists candidate matches; Guardrail resolves
// overlaps and masks. Detectors also describe their stream shape so StreamFilter knows how much
// trailing text could still turn into a match.

#include "basalt/core/error.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace basalt::guardrails::detail {

/// A candidate match text[begin, end) for rules_[rule].
struct Candidate {
  std::size_t begin = 0;
  std::size_t end = 0;
  std::uint32_t rule = 0;
};

/// How far back from the end of a buffer a match could still be in progress.
enum class Shape : std::uint8_t {
  kToken,    ///< matches never contain ASCII whitespace: open from the last whitespace on
  kNumeric,  ///< matches are digits with [ ()+.-] separators: open from the trailing such run
  kWindow,   ///< anything up to max_len bytes: open for the last max_len bytes
  kCustom,   ///< the detector computes its own openStart() (within the last max_len bytes)
};

class Detector {
 public:
  Detector(Shape shape, std::size_t max_len) : shape_(shape), max_len_(max_len) {}
  virtual ~Detector() = default;
  Detector(const Detector&) = delete;
  Detector& operator=(const Detector&) = delete;

  /// Appends the matches that begin at or after `from`, in order of position, non-overlapping.
  /// text[0, from) is context: detectors may look at it (boundaries, keywords) but report
  /// nothing that begins there.
  virtual void find(std::string_view text, std::size_t from, std::vector<Candidate>& out) const = 0;

  /// kCustom only: the earliest position >= from where a match could still be in progress.
  virtual std::size_t openStart(std::string_view text, std::size_t from) const { return from; }

  /// The RE2 pattern (with "(?i)" when case-insensitive) such that find() can only report
  /// something when this pattern matches somewhere in the text; empty when there is none.
  /// Guardrail runs all of them as one RE2::Set pass and skips detectors that cannot match.
  virtual std::string setPattern() const { return {}; }

  Shape shape() const { return shape_; }
  /// kWindow: the longest match; other shapes: the longest match worth holding back for.
  std::size_t maxLen() const { return max_len_; }

 private:
  Shape shape_;
  std::size_t max_len_;
};

/// RE2's memory cap per compiled pattern: user patterns that need more fail to compile.
inline constexpr std::int64_t kRegexMaxMem = 8 << 20;
/// The longest match a whitespace-capable user regex is assumed to have in streams.
inline constexpr std::size_t kRegexWindow = 256;

/// The detector for a Bedrock PII entity type, or nullptr when this engine has none for it.
std::unique_ptr<Detector> makePiiDetector(std::string_view entity, std::uint32_t rule);

/// A user regex. Errors carry RE2's reason; the caller adds guardrail and regex names.
Result<std::unique_ptr<Detector>> makeRegexDetector(const std::string& pattern, std::uint32_t rule);

/// Case-insensitive whole-word matching of `words`; word i reports rule first_rule + i.
Result<std::unique_ptr<Detector>> makeWordDetector(const std::vector<std::string>& words,
                                                   std::uint32_t first_rule);

/// Conservative: false only when the pattern can certainly not match ASCII whitespace.
bool mayMatchWhitespace(std::string_view pattern);

/// ASCII whitespace as the stream hold-back understands it.
inline bool isSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
inline bool isDigit(char c) {
  return c >= '0' && c <= '9';
}
inline bool isAlpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
/// Word characters for whole-word checks: ASCII letters, digits, '_' and any non-ASCII byte (so
/// a UTF-8 letter next to a word keeps it from being whole).
inline bool isWordByte(char c) {
  return isAlpha(c) || isDigit(c) || c == '_' || static_cast<unsigned char>(c) >= 0x80;
}
/// Characters that may appear inside numeric-shape matches.
inline bool isNumericChar(char c) {
  return isDigit(c) || c == ' ' || c == '(' || c == ')' || c == '+' || c == '.' || c == '-';
}

}  // namespace basalt::guardrails::detail
