#pragma once
// A policy string compiled once: literal text, wildcards and policy variables (internal).

#include "glob.h"

#include "basalt/core/error.h"
#include "basalt/policy/request_context.h"

#include <boost/container/small_vector.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace basalt::policy::detail {

/// Pieces resolved for one match; sized so ordinary patterns never touch the heap.
using ResolvedPieces = boost::container::small_vector<GlobPiece, 16>;

class Pattern {
 public:
  struct Syntax {
    bool wildcards = false;  ///< `*` and `?` are wildcards (else literal characters)
    bool variables = false;  ///< `${...}` is a policy variable (Version 2012-10-17 only)
  };

  /// Compiles `text`. Fails with the reason (without a location prefix) on a malformed variable.
  static Result<Pattern> compile(std::string_view text, Syntax syntax);

  /// The original policy text (for messages and introspection).
  std::string_view source() const { return source_; }
  bool hasVariables() const { return has_variables_; }
  /// True when the pattern is the single wildcard `*` (matches everything).
  bool isMatchAll() const { return tokens_.size() == 1 && tokens_[0].kind == Kind::kAnyRun; }

  /// Writes the pattern's pieces with variables substituted from `ctx` into `out`. Returns false
  /// when a variable is absent (and has no default) or is multi-valued: such a pattern matches
  /// nothing. The pieces point into this pattern and into `ctx`.
  bool resolve(const RequestContext& ctx, ResolvedPieces& out) const;

  /// The pieces to match with: precompiled when the pattern has no variables, else substituted
  /// into `scratch`. Empty when a variable cannot be resolved (see resolve()).
  std::optional<std::span<const GlobPiece>> pieces(const RequestContext& ctx,
                                                   ResolvedPieces& scratch) const {
    if (!has_variables_) return std::span<const GlobPiece>(static_pieces_);
    if (!resolve(ctx, scratch)) return std::nullopt;
    return std::span<const GlobPiece>(scratch.data(), scratch.size());
  }

 private:
  enum class Kind : std::uint8_t { kLiteral, kAnyRun, kAnyOne, kVariable };
  struct Token {
    Kind kind = Kind::kLiteral;
    std::uint32_t offset = 0;  ///< into storage_: literal text, or the lower-cased variable key
    std::uint32_t length = 0;
    std::int32_t default_offset = -1;  ///< into storage_, -1 when the variable has no default
    std::uint32_t default_length = 0;
  };

  std::string source_;
  // Heap-held so that the views in static_pieces_ survive moves of the Pattern.
  std::unique_ptr<std::string> storage_ = std::make_unique<std::string>();
  std::vector<Token> tokens_;
  std::vector<GlobPiece> static_pieces_;  ///< filled when there are no variables
  bool has_variables_ = false;
};

}  // namespace basalt::policy::detail
