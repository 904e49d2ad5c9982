#pragma once
// The compiled form of a policy document, shared by the compiler and the evaluator (internal).

#include "condition.h"
#include "pattern.h"

#include "basalt/policy/compiled_policy.h"

#include <string>
#include <vector>

namespace basalt::policy::detail {

struct Statement {
  std::string sid;
  bool deny = false;
  bool not_action = false;
  bool not_resource = false;
  std::vector<Pattern> actions;    ///< wildcards on, matched ASCII case-insensitively
  std::vector<Pattern> resources;  ///< wildcards and (2012-10-17) variables, ARN matching
  std::vector<Condition> conditions;

  /// Action, resource and every condition match (the effect is not considered).
  bool matches(const RequestContext& ctx) const;
};

struct PolicyBody {
  std::string name;
  std::string id;
  PolicyVersion version = PolicyVersion::k2008_10_17;
  std::vector<Statement> statements;
};

}  // namespace basalt::policy::detail

namespace basalt::policy {
/// The compiled body behind a policy (friend of CompiledPolicy; defined in compiled_policy.cc).
const detail::PolicyBody& bodyOf(const CompiledPolicy& policy);
}  // namespace basalt::policy
