#pragma once
/// An IAM JSON policy document, validated and compiled once for fast evaluation.

#include "basalt/core/error.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace basalt::policy {

namespace detail {
struct PolicyBody;
}

/// The policy language version. Policy variables (`${aws:username}`) are only substituted under
/// 2012-10-17; a document without `Version` is read as 2008-10-17, like AWS does.
enum class PolicyVersion : std::uint8_t { k2008_10_17, k2012_10_17 };

/// Limits on what `CompiledPolicy::compile` accepts. The defaults admit every identity policy
/// AWS IAM accepts (its largest, an inline role policy, is 10,240 characters without
/// whitespace) while keeping a hostile document from costing more than a few milliseconds.
struct CompileLimits {
  std::size_t max_document_bytes = std::size_t{64} * 1024;  ///< raw bytes, whitespace included
  std::size_t max_policy_chars = 10240;  ///< characters other than JSON whitespace
  std::size_t max_statements = 128;
  std::size_t max_string_bytes = 2048;  ///< any one action, resource, key or value
};

/// An immutable compiled identity policy. Cheap to copy (shared, immutable body), safe to read
/// from any number of threads. Compile once when a policy is stored or changed, then evaluate
/// many times with `evaluate()` (evaluator.h).
class CompiledPolicy {
 public:
  /// Parses and validates `document` (IAM JSON policy grammar for identity policies) and
  /// precompiles its patterns. `name` identifies the policy in decisions and audit records.
  ///
  /// Rejects with `ErrorKind::kInvalidRequest`, code "MalformedPolicyDocument" and a message
  /// naming the place, e.g. "Statement[2]: unknown condition operator 'StringEqualz'":
  /// malformed JSON, unknown elements, a key repeated within one JSON object, Effect other than
  /// Allow/Deny, missing or both Action/NotAction or Resource/NotResource, Principal/
  /// NotPrincipal (identity policies have none), actions without a service prefix, resources
  /// that are neither `*` nor ARNs, unknown condition operators, values that do not parse for
  /// their operator, malformed policy variables and duplicate Sids. Documents over `limits` are
  /// rejected the same way with code "LimitExceeded".
  static Result<CompiledPolicy> compile(std::string name, std::string_view document,
                                        const CompileLimits& limits = {});

  const std::string& name() const;
  PolicyVersion version() const;
  /// The document's `Id`, empty when absent.
  const std::string& id() const;
  std::size_t statementCount() const;
  /// The `Sid` of statement `index` (empty when it has none). `index` < statementCount().
  std::string_view statementSid(std::size_t index) const;

 private:
  explicit CompiledPolicy(std::shared_ptr<const detail::PolicyBody> body)
      : body_(std::move(body)) {}
  friend const detail::PolicyBody& bodyOf(const CompiledPolicy& policy);

  std::shared_ptr<const detail::PolicyBody> body_;
};

}  // namespace basalt::policy
