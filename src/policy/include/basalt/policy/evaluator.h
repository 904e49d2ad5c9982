#pragma once
/// IAM evaluation: explicit Deny beats Allow beats the implicit deny.

#include "basalt/policy/compiled_policy.h"
#include "basalt/policy/request_context.h"

#include <cstdint>
#include <span>
#include <string_view>

namespace basalt::policy {

enum class Effect : std::uint8_t {
  kAllow,         ///< some statement allows and none denies
  kExplicitDeny,  ///< some statement denies (wins over every Allow)
  kImplicitDeny,  ///< nothing allows: the default for every principal
};

/// "Allow", "ExplicitDeny", "ImplicitDeny" (the names used in audit records).
std::string_view effectName(Effect effect);

/// The outcome of one evaluation and the statement that decided it. The views point into the
/// deciding `CompiledPolicy` and are valid while it lives; copy them into an audit record.
struct Decision {
  Effect effect = Effect::kImplicitDeny;
  const CompiledPolicy* policy = nullptr;  ///< null for an implicit deny
  std::string_view policy_name;
  int statement_index = -1;  ///< index in the policy's Statement list, -1 for implicit deny
  std::string_view sid;      ///< the statement's Sid, may be empty

  bool allowed() const { return effect == Effect::kAllow; }
};

/// Evaluates the identity policies that apply to a principal (its own and its groups') for one
/// request, following AWS's single-account logic for identity policies: the first matching
/// Deny (policies in order, statements in order) decides; otherwise the first matching Allow;
/// otherwise implicit deny. Null entries are skipped. Thread-safe; does not allocate for
/// ordinary inputs (patterns of at most 16 pieces after variable substitution, ARNs of at most
/// 16 `:`-separated segments; larger ones spill to the heap and are still matched).
Decision evaluate(std::span<const CompiledPolicy* const> policies, const RequestContext& ctx);

}  // namespace basalt::policy
