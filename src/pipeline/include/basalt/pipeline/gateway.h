#pragma once
/// The model-call pipeline: decode -> (authenticate -> authorize -> quota -> guard) -> route ->
/// call -> encode. Door-agnostic: the DoorCodec supplies the wire format; providers are reached
/// through the ModelTable's routes with weighted selection, retries with jittered backoff,
/// fallback before the first streamed byte, and per-route circuit breakers.

#include "basalt/canonical/door_codec.h"
#include "basalt/config/settings.h"
#include "basalt/core/async.h"
#include "basalt/core/exchange.h"
#include "basalt/pipeline/model_table.h"

#include <memory>

namespace basalt::pipeline {

class Gateway {
 public:
  Gateway(config::SettingsPtr settings, ProviderMap providers, std::unique_ptr<ModelTable> models);
  ~Gateway();

  /// Serves one model call that arrived at `codec`'s door. Always answers (or, for a client
  /// that went away, stops quietly); never throws for bad input or upstream failures.
  Task<void> serveModelCall(const canonical::DoorCodec& codec, HttpRequest& request,
                            Responder& responder);

  const ModelTable& models() const { return *models_; }
  const config::Settings& settings() const { return *settings_; }

 private:
  class ClientStream;
  class Attempt;
  class CompleteAttempt;
  class StreamAttempt;

  /// Tries the model's routes in plan order until `attempt` succeeds on one, or fails in a way
  /// that must not be retried (the upstream rejected the request, or bytes reached the client).
  Task<Result<void>> runAttempts(const ModelEntry& model, const std::string& request_id,
                                 Attempt& attempt);
  Task<int> serveComplete(const canonical::DoorCodec& codec, const canonical::ChatRequest& chat,
                          const ModelEntry& model, HttpRequest& request, Responder& responder);
  Task<int> serveStream(const canonical::DoorCodec& codec, const canonical::ChatRequest& chat,
                        const ModelEntry& model, HttpRequest& request, Responder& responder);

  config::SettingsPtr settings_;
  ProviderMap providers_;
  std::unique_ptr<ModelTable> models_;
};

/// Whether an upstream failure may be retried on the same or another route.
bool isRetryable(const Error& error);

/// Answers with the door's native error for `error`; returns the status sent.
Task<int> replyError(const canonical::DoorCodec& codec, const Error& error, Responder& responder);

}  // namespace basalt::pipeline
