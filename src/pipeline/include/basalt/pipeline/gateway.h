#pragma once
/// The model-call pipeline: authenticate -> decode -> authorize -> route lookup -> quota ->
/// guard input -> call (with retries and fallback) -> guard output -> audit -> encode.
/// Door-agnostic: the DoorCodec supplies the wire format; providers are reached through the
/// ModelTable's routes with weighted selection, retries with jittered backoff, fallback before
/// the first streamed byte, and per-route circuit breakers. The audit record of a call is
/// durable before the response's last byte is sent.

#include "basalt/canonical/door_codec.h"
#include "basalt/config/settings.h"
#include "basalt/core/async.h"
#include "basalt/core/exchange.h"
#include "basalt/pipeline/model_table.h"

#include <memory>
#include <string>

namespace basalt::perimeter {
class Perimeter;
struct Caller;
}
namespace basalt::quota {
class QuotaLedger;
}
namespace basalt::guardrails {
class GuardrailSet;
}
namespace basalt::audit {
class AuditSink;
struct AuditEvent;
}

namespace basalt::pipeline {

/// The perimeter ports a Gateway enforces. A null port skips its step (unit tests); the
/// composition root always provides all of them.
struct Governance {
  perimeter::Perimeter* perimeter = nullptr;
  quota::QuotaLedger* quota = nullptr;
  const guardrails::GuardrailSet* guardrails = nullptr;
  audit::AuditSink* audit = nullptr;
};

/// Steps around a model call for doors that keep server-side state (the Responses door's
/// stored responses and `previous_response_id`) and for in-process callers (a managed agent's
/// model calls enter through a door like any client, as the session's principal).
/// `principal_id` is the caller's ("" when the perimeter is off): state is scoped to it.
class CallHooks {
 public:
  virtual ~CallHooks() = default;
  /// The caller when it is already known (an agent session's identity): authentication of
  /// the request is skipped, authorization, quotas, guardrails and audit are not.
  virtual const perimeter::Caller* presetCaller() const { return nullptr; }
  /// Adds the caller's attribution (agent, session, end user) to the call's audit record.
  virtual void annotate(audit::AuditEvent& /*event*/) const {}
  /// After authorization, before routing; may rewrite `chat` (prepend a stored conversation).
  /// An error answers the call in the door's shape.
  virtual Result<void> prepare(const std::string& /*principal_id*/,
                               canonical::ChatRequest& /*chat*/) {
    return {};
  }
  /// Whether `completed` wants this call's response (a stream is then accumulated).
  virtual bool wantsResponse(const canonical::ChatRequest& /*chat*/) const { return false; }
  /// After a successful call, before the answer's last bytes go out.
  virtual void completed(const std::string& /*principal_id*/,
                         const canonical::ChatRequest& /*chat*/,
                         const canonical::ChatResponse& /*response*/) {}
};

class Gateway {
 public:
  Gateway(config::SettingsPtr settings, ProviderMap providers, std::unique_ptr<ModelTable> models,
          Governance governance = {});
  ~Gateway();

  /// Serves one model call that arrived at `codec`'s door. Always answers (or, for a client
  /// that went away, stops quietly); never throws for bad input or upstream failures.
  Task<void> serveModelCall(const canonical::DoorCodec& codec, HttpRequest& request,
                            Responder& responder, CallHooks* hooks = nullptr);

  const ModelTable& models() const { return *models_; }
  const config::Settings& settings() const { return *settings_; }

 private:
  struct Call;
  class ClientStream;
  class Attempt;
  class CompleteAttempt;
  class StreamAttempt;

  /// Tries the model's routes in plan order until `attempt` succeeds on one, or fails in a way
  /// that must not be retried (the upstream rejected the request, or bytes reached the client).
  Task<Result<void>> runAttempts(const ModelEntry& model, const std::string& request_id,
                                 Attempt& attempt);
  /// The steps after decoding; returns nothing, answers through `call`.
  Task<void> serveDecoded(Call& call, canonical::ChatRequest& chat);
  Task<void> serveComplete(Call& call, const canonical::ChatRequest& chat,
                           const ModelEntry& model);
  Task<void> serveStream(Call& call, const canonical::ChatRequest& chat, const ModelEntry& model);
  /// Answers a request whose input a guardrail blocked, without calling a provider.
  Task<void> serveBlocked(Call& call, const canonical::ChatRequest& chat, std::string message);
  /// Audits the call, then sends `reply` (or a 503 when the record could not be written).
  Task<void> finish(Call& call, canonical::EncodedReply reply);
  Task<void> fail(Call& call, const Error& error);
  /// Writes the call's audit record; false (and the call marked) when it could not be stored.
  Task<bool> audit(Call& call);

  config::SettingsPtr settings_;
  ProviderMap providers_;
  std::unique_ptr<ModelTable> models_;
  Governance governance_;
};

/// Whether an upstream failure may be retried on the same or another route.
bool isRetryable(const Error& error);

}  // namespace basalt::pipeline
