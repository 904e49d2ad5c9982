#pragma once
/// How the agent loop calls a model: as the session's principal, through a port, so that the
/// loop is tested with a scripted fake and, in the binary, every agent model call goes through
/// the gateway (policy, quota, guardrails, routing, audit) exactly like direct traffic.

#include "basalt/canonical/chat.h"
#include "basalt/core/async.h"
#include "basalt/core/error.h"
#include "basalt/perimeter/perimeter.h"

#include <cstdint>
#include <memory>
#include <string>

namespace basalt::pipeline {
class Gateway;
}
namespace basalt::canonical {
class DoorCodec;
}

namespace basalt::agent_runtime {

/// Who a model call is made for: the session's principal plus the attribution written into the
/// call's audit record.
struct CallIdentity {
  perimeter::Caller caller;
  std::string agent_id;
  std::string session_id;
  std::string end_user;  ///< the session's end user (metadata), may be empty
  /// Why the call is made when it is not a turn of the agent: "compaction" for the summary of
  /// dropped history. Empty for turns. Written into the audit record as `agentCallPurpose`.
  std::string purpose;
};

/// Port: one non-streamed model call. Errors are values (a policy denial is kPermissionDenied,
/// an exhausted upstream kUpstreamUnavailable ...). Cancelling the awaiting coroutine (per-op
/// cancellation) abandons the call.
class ModelCaller {
 public:
  virtual ~ModelCaller() = default;
  virtual Task<Result<canonical::ChatResponse>> call(const CallIdentity& who,
                                                     canonical::ChatRequest request) = 0;
};

struct GatewayModelCallerOptions {
  /// max_tokens when the request has none.
  std::int64_t max_tokens_default = 8192;
};

/// ModelCaller over pipeline::Gateway: encodes the request as an Anthropic Messages body, serves
/// it through the Messages door codec with an in-process Responder, `presetCaller` = the
/// session's caller (no credential) and the audit record annotated with agentId, sessionId and
/// endUser; decodes the captured reply. The gateway must outlive it.
class GatewayModelCaller final : public ModelCaller {
 public:
  explicit GatewayModelCaller(pipeline::Gateway& gateway, GatewayModelCallerOptions options = {});
  ~GatewayModelCaller() override;

  Task<Result<canonical::ChatResponse>> call(const CallIdentity& who,
                                             canonical::ChatRequest request) override;

 private:
  pipeline::Gateway& gateway_;
  GatewayModelCallerOptions options_;
  std::unique_ptr<canonical::DoorCodec> codec_;
};

}  // namespace basalt::agent_runtime
