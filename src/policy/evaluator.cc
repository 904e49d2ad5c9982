#include "basalt/policy/evaluator.h"

#include "policy_body.h"

namespace basalt::policy {
namespace detail {

bool Statement::matches(const RequestContext& ctx) const {
  ResolvedPieces pieces;
  bool action_hit = false;
  for (const Pattern& p : actions) {
    const auto resolved = p.pieces(ctx, pieces);
    if (resolved && globMatch(*resolved, ctx.action(), /*fold_case=*/true)) {
      action_hit = true;
      break;
    }
  }
  if (action_hit == not_action) return false;

  bool resource_hit = false;
  for (const Pattern& p : resources) {
    if (p.isMatchAll()) {
      resource_hit = true;
      break;
    }
    const auto resolved = p.pieces(ctx, pieces);
    if (resolved && arnMatch(*resolved, ctx.resource())) {
      resource_hit = true;
      break;
    }
  }
  if (resource_hit == not_resource) return false;

  for (const Condition& c : conditions) {
    if (!c.evaluate(ctx)) return false;
  }
  return true;
}

}  // namespace detail

std::string_view effectName(Effect effect) {
  switch (effect) {
    case Effect::kAllow:
      return "Allow";
    case Effect::kExplicitDeny:
      return "ExplicitDeny";
    case Effect::kImplicitDeny:
      return "ImplicitDeny";
  }
  return "ImplicitDeny";
}

Decision evaluate(std::span<const CompiledPolicy* const> policies, const RequestContext& ctx) {
  Decision allow;
  for (const CompiledPolicy* policy : policies) {
    if (policy == nullptr) continue;
    const detail::PolicyBody& body = bodyOf(*policy);
    for (std::size_t i = 0; i < body.statements.size(); ++i) {
      const detail::Statement& st = body.statements[i];
      // Once an Allow is known only Deny statements can change the outcome.
      if (!st.deny && allow.policy != nullptr) continue;
      if (!st.matches(ctx)) continue;
      Decision d{st.deny ? Effect::kExplicitDeny : Effect::kAllow, policy, body.name,
                 static_cast<int>(i), st.sid};
      if (st.deny) return d;
      allow = d;
    }
  }
  return allow;
}

}  // namespace basalt::policy
