#pragma once
// One compiled `"Operator": {"key": values}` entry of a Condition block (internal).

#include "pattern.h"
#include "values.h"

#include "basalt/core/error.h"
#include "basalt/policy/request_context.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace basalt::policy::detail {

enum class OperatorFamily : std::uint8_t {
  kString,            ///< StringEquals / StringNotEquals
  kStringIgnoreCase,  ///< StringEqualsIgnoreCase / StringNotEqualsIgnoreCase
  kStringLike,        ///< StringLike / StringNotLike
  kNumeric,
  kDate,
  kBool,
  kBinary,  ///< BinaryEquals: base64 text compared exactly
  kIp,      ///< IpAddress / NotIpAddress
  kArn,     ///< ArnEquals / ArnLike / ArnNotEquals / ArnNotLike
  kNull,
};

enum class Comparison : std::uint8_t { kEqual, kLess, kLessEqual, kGreater, kGreaterEqual };

enum class SetQualifier : std::uint8_t { kNone, kForAnyValue, kForAllValues };

/// A parsed operator name such as `ForAllValues:StringNotLikeIfExists`.
struct Operator {
  OperatorFamily family = OperatorFamily::kString;
  Comparison comparison = Comparison::kEqual;
  bool negated = false;
  bool if_exists = false;
  SetQualifier qualifier = SetQualifier::kNone;
};

/// Parses an operator name (ASCII case-insensitive); fails with the reason.
Result<Operator> parseOperator(std::string_view name);

class Condition {
 public:
  /// Compiles one key with its policy values (already converted to text). `variables` enables
  /// `${...}` in string and ARN values. Fails with the reason (no location prefix).
  static Result<Condition> compile(const Operator& op, std::string_view op_name,
                                   std::string_view key, const std::vector<std::string>& values,
                                   bool variables);

  /// Whether the condition holds for `ctx`. Never allocates.
  bool evaluate(const RequestContext& ctx) const;

 private:
  struct Value {
    Pattern pattern;  ///< string, ARN and binary families
    double number = 0;
    std::int64_t date_ms = 0;
    bool boolean = false;
    IpNetwork network;
  };

  /// Does one request value match any policy value? Empty when the request value cannot be read
  /// as the operator's type (which makes the condition false, negated or not).
  std::optional<bool> matchesAny(const RequestContext& ctx, std::string_view request) const;

  Operator op_;
  std::string key_;  ///< lower-cased
  std::vector<Value> values_;
};

}  // namespace basalt::policy::detail
