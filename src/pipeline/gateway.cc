#include "basalt/pipeline/gateway.h"

#include "basalt/audit/async_append.h"
#include "basalt/audit/audit_sink.h"
#include "basalt/canonical/validate.h"
#include "basalt/core/ids.h"
#include "basalt/core/log.h"
#include "basalt/core/metrics.h"
#include "basalt/guardrails/chat_guard.h"
#include "basalt/perimeter/perimeter.h"
#include "basalt/quota/quota_ledger.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <optional>
#include <random>

namespace basalt::pipeline {
namespace asio = boost::asio;
using canonical::StreamEvent;

namespace {

double uniform01() {
  thread_local std::mt19937_64 gen{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(gen);
}

/// Waits `delay`; false when the wait was cancelled (client gone, shutdown).
Task<bool> sleepFor(std::chrono::milliseconds delay) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_after(delay);
  auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  co_return !ec;
}

std::chrono::milliseconds backoff(int base_ms, int attempt) {
  const double exp = static_cast<double>(base_ms) * static_cast<double>(1 << std::min(attempt, 10));
  return std::chrono::milliseconds(static_cast<long>(exp * (0.5 + 0.5 * uniform01())));
}

bool sameRouteRetryable(const Error& e) {
  // A throttled route is not retried in place: the next route is the better bet.
  return e.kind == ErrorKind::kUpstreamError || e.kind == ErrorKind::kUpstreamUnavailable;
}

const char* eventName(canonical::Door door, bool stream) {
  switch (door) {
    case canonical::Door::kOpenAIChat:
      return "ChatCompletions";
    case canonical::Door::kOpenAIResponses:
      return "CreateResponse";
    case canonical::Door::kAnthropicMessages:
      return "CreateMessage";
    case canonical::Door::kBedrockConverse:
      return stream ? "ConverseStream" : "Converse";
    case canonical::Door::kBedrockInvoke:
      return stream ? "InvokeModelWithResponseStream" : "InvokeModel";
  }
  return "ModelCall";
}

std::string auditAction(guardrails::Action action) {
  return action == guardrails::Action::kBlocked ? "BLOCKED" : "ANONYMIZED";
}

/// Prompt-side token estimate for the quota reservation (settled with real usage later).
std::int64_t estimateInputTokens(const HttpRequest& request) {
  return static_cast<std::int64_t>(request.body.size() / 4) + 1;
}

}  // namespace

bool isRetryable(const Error& error) {
  switch (error.kind) {
    case ErrorKind::kUpstreamError:
    case ErrorKind::kUpstreamUnavailable:
    case ErrorKind::kUpstreamTimeout:
    case ErrorKind::kRateLimited:
      return true;
    default:
      return false;
  }
}

/// Everything one model call accumulates for its answer, its audit record and its metrics.
struct Gateway::Call {
  Call(const canonical::DoorCodec& c, HttpRequest& req, Responder& res, CallHooks* h)
      : codec(c), request(req), responder(res), hooks(h) {}

  const canonical::DoorCodec& codec;
  HttpRequest& request;
  Responder& responder;
  CallHooks* hooks;
  std::chrono::steady_clock::time_point started_at = std::chrono::steady_clock::now();

  std::optional<perimeter::Caller> caller;
  perimeter::AuthzResult authz;
  std::string model = "-";      ///< metric label: a configured name, "unknown" or "-"
  std::string requested_model;  ///< what the client asked for (audit)
  bool stream = false;
  std::optional<std::int64_t> max_tokens;
  std::optional<quota::Ticket> ticket;

  int status = 0;
  Error error;  ///< set when status >= 400
  canonical::Usage usage;
  bool have_usage = false;
  canonical::StopReason stop_reason = canonical::StopReason::kUnset;
  std::vector<audit::GuardrailIntervention> interventions;
  bool audited = false;

  void addInterventions(const std::string& guardrail, const char* source,
                        const std::vector<guardrails::Intervention>& list) {
    for (const guardrails::Intervention& i : list) {
      interventions.push_back(
          {guardrail, source, auditAction(i.action), i.name, static_cast<std::uint32_t>(i.count)});
    }
  }
  /// Door-specific response headers: x-amzn-RequestId on the Bedrock doors, x-ratelimit-* on
  /// the OpenAI doors when a quota applied.
  const std::string& principalId() const {
    static const std::string kNobody;
    return caller ? caller->principal_id : kNobody;
  }
  void addDoorHeaders(Headers& headers) const {
    const canonical::Vendor vendor = canonical::doorVendor(codec.door());
    if (vendor == canonical::Vendor::kBedrock) {
      headers.push_back({"x-amzn-requestid", request.request_id});
    }
    // The Anthropic SDKs report `request-id` in their errors (APIError.requestID).
    if (vendor == canonical::Vendor::kAnthropic)
      headers.push_back({"request-id", request.request_id});
    if (!ticket || vendor != canonical::Vendor::kOpenAI) return;
    for (auto& [name, value] : quota::rateLimitHeaders(ticket->rate())) {
      headers.push_back({name, value});
    }
  }
};

/// Feeds provider events to the client through the door's stream encoder (and the output
/// guardrail, when the model has one). The response head goes out with the first event, so a
/// failure before it can still fall back to another route.
class Gateway::ClientStream final : public providers::StreamSink {
 public:
  ClientStream(Call& call, std::unique_ptr<canonical::StreamEncoder> encoder,
               const guardrails::Guardrail* guard)
      : call_(call), encoder_(std::move(encoder)) {
    if (guard != nullptr && guard->appliesTo(guardrails::Direction::kOutput)) {
      guarded_.emplace(*guard);
    }
  }

  /// Also folds the events the client sees into a ChatResponse (for CallHooks::completed).
  void accumulate() { accumulator_.emplace(); }
  canonical::ChatResponse takeResponse() {
    return accumulator_ ? accumulator_->take() : canonical::ChatResponse{};
  }

  Task<bool> onEvent(const StreamEvent& event) override {
    if (event.type == StreamEvent::Type::kUsage) {
      call_.usage = event.usage;
      call_.have_usage = true;
    }
    if (!started_) {
      started_ = true;
      metrics::streamOpened();
      Headers headers = encoder_->headers();
      call_.addDoorHeaders(headers);
      const bool open = co_await call_.responder.startStream(200, std::move(headers));
      if (!open) co_return false;
    }
    buffer_.clear();
    if (guarded_) {
      guarded_events_.clear();
      guarded_->process(event, guarded_events_);
      for (const StreamEvent& e : guarded_events_) {
        if (accumulator_) accumulator_->add(e);
        encodeHeld(e);
      }
    } else {
      if (accumulator_) accumulator_->add(event);
      encodeHeld(event);
    }
    if (!buffer_.empty()) {
      const bool written = co_await call_.responder.write(buffer_);
      if (!written) co_return false;
    }
    // A blocked output stops the upstream: the guardrail already ended the client's message.
    co_return !blocked();
  }

  /// Ends a started stream with the door's error frame.
  Task<void> fail(const Error& error) {
    buffer_.clear();
    encoder_->encode(StreamEvent::errorEvent(error), buffer_);
    if (!buffer_.empty()) co_await call_.responder.write(buffer_);
    co_await call_.responder.endStream();
  }

  /// Sends what the encoder held for the end of the stream (stop, usage) and ends it.
  Task<void> finish() {
    if (!held_.empty()) co_await call_.responder.write(held_);
    co_await call_.responder.endStream();
  }

  bool started() const { return started_; }
  bool blocked() const { return guarded_ && guarded_->blocked(); }
  std::vector<guardrails::Intervention> interventions() const {
    return guarded_ ? guarded_->interventions() : std::vector<guardrails::Intervention>{};
  }

  ~ClientStream() override {
    if (started_) metrics::streamClosed();
  }

 private:
  /// Encodes `e`. The bytes that end the message (stop and usage) are held back until the
  /// audit record is durable, so a client never sees a complete answer that was not audited.
  void encodeHeld(const StreamEvent& e) {
    if (e.type == StreamEvent::Type::kMessageStop) call_.stop_reason = e.stop_reason;
    if (e.type == StreamEvent::Type::kMessageStop || e.type == StreamEvent::Type::kUsage ||
        !held_.empty()) {
      encoder_->encode(e, held_);
    } else {
      encoder_->encode(e, buffer_);
    }
  }

  Call& call_;
  std::unique_ptr<canonical::StreamEncoder> encoder_;
  std::optional<guardrails::GuardedStream> guarded_;
  std::optional<canonical::StreamAccumulator> accumulator_;
  std::vector<StreamEvent> guarded_events_;
  std::string buffer_;
  std::string held_;
  bool started_ = false;
};

/// One way of calling a provider (complete or stream), retried across routes by runAttempts.
class Gateway::Attempt {
 public:
  virtual ~Attempt() = default;
  virtual Task<Result<void>> run(const Route& route, const providers::CallOptions& options) = 0;
  /// False once a retry would be visible to the client.
  virtual bool mayRetry() const { return true; }
};

class Gateway::CompleteAttempt final : public Attempt {
 public:
  explicit CompleteAttempt(const canonical::ChatRequest& chat) : chat_(chat) {}
  Task<Result<void>> run(const Route& route, const providers::CallOptions& options) override {
    Result<canonical::ChatResponse> r = co_await route.provider->complete(chat_, options);
    if (!r) co_return std::move(r).error();
    response = std::move(*r);
    co_return Result<void>{};
  }
  canonical::ChatResponse response;

 private:
  const canonical::ChatRequest& chat_;
};

class Gateway::StreamAttempt final : public Attempt {
 public:
  StreamAttempt(const canonical::ChatRequest& chat, ClientStream& stream)
      : chat_(chat), stream_(stream) {}
  Task<Result<void>> run(const Route& route, const providers::CallOptions& options) override {
    Result<void> r = co_await route.provider->stream(chat_, options, stream_);
    co_return r;
  }
  bool mayRetry() const override { return !stream_.started(); }

 private:
  const canonical::ChatRequest& chat_;
  ClientStream& stream_;
};

Gateway::Gateway(config::SettingsPtr settings, ProviderMap providers,
                 std::unique_ptr<ModelTable> models, Governance governance)
    : settings_(std::move(settings)),
      providers_(std::move(providers)),
      models_(std::move(models)),
      governance_(governance) {}

Gateway::~Gateway() = default;
Task<Result<void>> Gateway::runAttempts(const ModelEntry& model, const std::string& request_id,
                                        Attempt& attempt) {
  const config::RoutingSettings& routing = settings_->routing;
  const AttemptPlan plan = planAttempts(model, uniform01);
  Error last_error{ErrorKind::kUpstreamUnavailable,
                   "no route of model '" + model.name + "' is available (circuit open)"};
  bool tried_any = false;
  std::chrono::milliseconds shortest_cooldown{0};

  for (int index : plan) {
    const Route& route = model.routes[index];
    providers::CallOptions options;
    options.upstream_model = route.settings.model;
    options.timeout = std::chrono::milliseconds(route.settings.timeout_ms);
    options.max_tokens_default = route.settings.max_tokens_default;
    options.request_id = request_id;

    for (int retry = 0; retry <= routing.retries; ++retry) {
      if (!route.breaker->allow()) {
        const auto remaining = route.breaker->remainingCooldown();
        if (shortest_cooldown.count() == 0 || remaining < shortest_cooldown) {
          shortest_cooldown = remaining;
        }
        break;
      }
      tried_any = true;
      Result<void> result = co_await attempt.run(route, options);
      if (result) {
        route.breaker->onSuccess();
        co_return result;
      }
      Error error = std::move(result).error();
      if (error.kind == ErrorKind::kCancelled) co_return error;
      if (!isRetryable(error)) {
        // The upstream answered and rejected the request itself: the route is healthy.
        route.breaker->onSuccess();
        co_return error;
      }
      route.breaker->onFailure();
      log::warn("request {}: route {}/{} failed: {}", request_id, route.provider->name(),
                route.settings.model, error.message);
      last_error = std::move(error);
      if (!attempt.mayRetry()) co_return last_error;
      if (retry == routing.retries || !sameRouteRetryable(last_error)) break;
      if (!co_await sleepFor(backoff(routing.retry_backoff_ms, retry))) {
        co_return Error{ErrorKind::kCancelled, "cancelled"};
      }
    }
  }
  if (!tried_any && shortest_cooldown.count() > 0) {
    last_error.retry_after_s =
        static_cast<int>(std::max<long>(1, (shortest_cooldown.count() + 999) / 1000));
  }
  co_return last_error;
}

Task<void> Gateway::serveModelCall(const canonical::DoorCodec& codec, HttpRequest& request,
                                   Responder& responder, CallHooks* hooks) {
  // A client that goes away cancels the upstream call, but the audit record is still written:
  // awaiting after cancellation must not throw.
  co_await asio::this_coro::throw_if_cancelled(false);
  Call call(codec, request, responder, hooks);

  if (const perimeter::Caller* preset = hooks != nullptr ? hooks->presetCaller() : nullptr) {
    call.caller = *preset;
  } else if (governance_.perimeter != nullptr) {
    Result<perimeter::Caller> caller = governance_.perimeter->authenticate(request);
    if (!caller) {
      co_await fail(call, caller.error());
      co_return;
    }
    call.caller = std::move(*caller);
  }
  Result<canonical::ChatRequest> decoded = codec.decode(request);
  if (!decoded) {
    co_await fail(call, decoded.error());
  } else {
    co_await serveDecoded(call, *decoded);
  }
}

Task<void> Gateway::serveDecoded(Call& call, canonical::ChatRequest& chat) {
  chat.request_id = call.request.request_id;
  call.requested_model = chat.model;
  call.stream = chat.stream;
  call.max_tokens = chat.max_tokens;

  if (governance_.perimeter != nullptr) {
    const char* action =
        chat.stream ? "bedrock:InvokeModelWithResponseStream" : "bedrock:InvokeModel";
    const std::string resource = governance_.perimeter->modelArn(chat.model);
    call.authz = governance_.perimeter->authorize(*call.caller, action, resource, call.request);
    if (!call.authz.allowed) {
      // Temporaries in a co_await operand are destroyed twice by GCC 12: use locals.
      Error denied{ErrorKind::kPermissionDenied,
                   "User: " + call.caller->name + " is not authorized to perform: " + action +
                       " on resource: " + resource,
                   {},
                   "access_denied"};
      co_await fail(call, denied);
      co_return;
    }
  }

  const ModelEntry* model = models_->find(chat.model);
  if (model == nullptr) {
    call.model = "unknown";  // only configured names become labels: bounded cardinality
    const Error unknown = Error::notFound(
        "The model `" + chat.model + "` does not exist or you do not have access to it.",
        "model_not_found");
    co_await fail(call, unknown);
    co_return;
  }
  call.model = model->name;

  if (call.hooks != nullptr) {
    if (Result<void> prepared = call.hooks->prepare(call.principalId(), chat); !prepared) {
      const Error rejected = prepared.error();
      co_await fail(call, rejected);
      co_return;
    }
  }

  // After the hooks: a continued conversation is checked whole, history included.
  if (Result<void> valid = canonical::validateConversation(chat); !valid) {
    const Error invalid = valid.error();
    co_await fail(call, invalid);
    co_return;
  }

  if (governance_.quota != nullptr && call.caller && !call.caller->root) {
    std::int64_t max_out = chat.max_tokens.value_or(0);
    if (max_out <= 0) {
      max_out = model->routes.empty()
                    ? 4096
                    : model->routes.front().settings.max_tokens_default.value_or(4096);
    }
    const quota::QuotaKeys keys{call.caller->principal_id, call.caller->groups, model->name};
    quota::Admission admission = governance_.quota->admit(
        keys, estimateInputTokens(call.request) + max_out, quota::Clock::now());
    if (!admission.admitted) {
      const Error limited = quota::toError(admission.rejection);
      co_await fail(call, limited);
      co_return;
    }
    call.ticket.emplace(std::move(admission.ticket));
  }

  const guardrails::Guardrail* guard = nullptr;
  if (governance_.guardrails != nullptr && !model->guardrail.empty()) {
    guard = governance_.guardrails->find(model->guardrail);
  }
  if (guard != nullptr) {
    guardrails::Verdict verdict = guardrails::guardRequest(*guard, chat);
    call.addInterventions(model->guardrail, "input", verdict.interventions);
    if (verdict.blocked()) {
      co_await serveBlocked(call, chat, std::string(guard->blockedMessage()));
      co_return;
    }
  }

  if (chat.stream) {
    co_await serveStream(call, chat, *model);
  } else {
    co_await serveComplete(call, chat, *model);
  }
}

Task<void> Gateway::serveComplete(Call& call, const canonical::ChatRequest& chat,
                                  const ModelEntry& model) {
  CompleteAttempt attempt(chat);
  Result<void> outcome = co_await runAttempts(model, call.request.request_id, attempt);
  if (!outcome) {
    co_await fail(call, outcome.error());
    co_return;
  }
  canonical::ChatResponse& response = attempt.response;
  if (governance_.guardrails != nullptr && !model.guardrail.empty()) {
    if (const auto* guard = governance_.guardrails->find(model.guardrail)) {
      guardrails::Verdict verdict = guardrails::guardResponse(*guard, response);
      call.addInterventions(model.guardrail, "output", verdict.interventions);
    }
  }
  call.usage = response.usage;
  call.have_usage = true;
  call.stop_reason = response.stop_reason;
  if (call.hooks != nullptr && call.hooks->wantsResponse(chat)) {
    call.hooks->completed(call.principalId(), chat, response);
  }
  co_await finish(call, call.codec.encodeResponse(response, chat));
}

Task<void> Gateway::serveStream(Call& call, const canonical::ChatRequest& chat,
                                const ModelEntry& model) {
  const guardrails::Guardrail* guard = governance_.guardrails != nullptr && !model.guardrail.empty()
                                           ? governance_.guardrails->find(model.guardrail)
                                           : nullptr;
  ClientStream stream(call, call.codec.newStreamEncoder(chat), guard);
  const bool hooked = call.hooks != nullptr && call.hooks->wantsResponse(chat);
  if (hooked) stream.accumulate();
  StreamAttempt attempt(chat, stream);
  Result<void> outcome = co_await runAttempts(model, call.request.request_id, attempt);
  call.addInterventions(model.guardrail, "output", stream.interventions());

  if (outcome || stream.blocked()) {
    call.status = 200;
    if (hooked) call.hooks->completed(call.principalId(), chat, stream.takeResponse());
    co_await audit(call);  // a failed record still ends the stream: its bytes are already out
    co_await stream.finish();
    co_return;
  }
  const Error& error = outcome.error();
  if (error.kind == ErrorKind::kCancelled || call.responder.clientGone()) {
    call.status = 499;
    call.error = error;
    co_await audit(call);
    co_return;
  }
  if (!stream.started()) {
    co_await fail(call, error);
    co_return;
  }
  // Bytes already reached the client: end its stream with the door's error frame.
  call.status = httpStatus(error.kind);
  call.error = error;
  co_await audit(call);
  co_await stream.fail(error);
}

Task<void> Gateway::serveBlocked(Call& call, const canonical::ChatRequest& chat,
                                 std::string message) {
  canonical::ChatResponse response;
  response.id = randomId("blocked-", 20);
  response.model = chat.model;
  response.created = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  response.stop_reason = canonical::StopReason::kContentFilter;
  call.stop_reason = response.stop_reason;
  if (!chat.stream) {
    response.content.emplace_back(canonical::TextBlock{std::move(message)});
    co_await finish(call, call.codec.encodeResponse(response, chat));
    co_return;
  }
  std::unique_ptr<canonical::StreamEncoder> encoder = call.codec.newStreamEncoder(chat);
  std::string bytes;
  encoder->encode(StreamEvent::messageStart(response.id, chat.model), bytes);
  encoder->encode(StreamEvent::blockStart(0, canonical::BlockType::kText), bytes);
  encoder->encode(StreamEvent::delta(0, canonical::DeltaType::kText, std::move(message)), bytes);
  encoder->encode(StreamEvent::blockStop(0), bytes);
  encoder->encode(StreamEvent::usageEvent(canonical::Usage{}), bytes);
  encoder->encode(StreamEvent::messageStop(canonical::StopReason::kContentFilter), bytes);
  call.status = 200;
  if (!co_await audit(call)) {
    const Error unavailable{ErrorKind::kUpstreamUnavailable,
                            "The audit log is unavailable; the request was not served.",
                            {},
                            "audit_unavailable"};
    co_await fail(call, unavailable);
    co_return;
  }
  Headers headers = encoder->headers();
  call.addDoorHeaders(headers);
  metrics::streamOpened();
  if (co_await call.responder.startStream(200, std::move(headers))) {
    if (co_await call.responder.write(bytes)) co_await call.responder.endStream();
  }
  metrics::streamClosed();
}

Task<void> Gateway::finish(Call& call, canonical::EncodedReply reply) {
  call.status = reply.status;
  if (!co_await audit(call)) {
    // Fail closed: an answer that could not be audited is not given.
    canonical::EncodedReply unavailable =
        call.codec.encodeError(Error{ErrorKind::kUpstreamUnavailable,
                                     "The audit log is unavailable; the request was not served.",
                                     {},
                                     "audit_unavailable"});
    call.addDoorHeaders(unavailable.headers);
    co_await call.responder.send(unavailable.status, std::move(unavailable.headers),
                                 std::move(unavailable.body));
    co_return;
  }
  call.addDoorHeaders(reply.headers);
  co_await call.responder.send(reply.status, std::move(reply.headers), std::move(reply.body));
}

Task<void> Gateway::fail(Call& call, const Error& error) {
  call.error = error;
  if (error.kind == ErrorKind::kCancelled || call.responder.clientGone()) {
    call.status = 499;
    co_await audit(call);
    co_return;
  }
  co_await finish(call, call.codec.encodeError(error));
}

Task<bool> Gateway::audit(Call& call) {
  if (call.audited) co_return true;
  call.audited = true;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - call.started_at).count();
  metrics::recordRequest(canonical::doorName(call.codec.door()), call.model, call.status, seconds);
  if (call.ticket && call.have_usage) {
    call.ticket->settle(call.usage.total(), quota::Clock::now());
  }
  if (governance_.audit == nullptr) co_return true;

  audit::AuditEvent event;
  if (call.caller) {
    event.user_identity.type = call.caller->kind;
    event.user_identity.principal_id = call.caller->principal_id;
    event.user_identity.user_name = call.caller->name;
    event.user_identity.access_key_id = call.caller->key_id;
  } else {
    event.user_identity.type = "anonymous";
  }
  event.event_time = std::chrono::system_clock::now();
  event.event_name = eventName(call.codec.door(), call.stream);
  event.aws_region = settings_->server.region;
  event.source_ip_address = call.request.remote_ip;
  if (const std::string* ua = call.request.header("user-agent")) {
    event.user_agent = ua->substr(0, 512);
  }
  // The requested model name is client input: cap it so a record stays small.
  event.request_parameters.model_id = call.requested_model.substr(0, 256);
  if (!call.requested_model.empty()) event.request_parameters.stream = call.stream;
  event.request_parameters.input_bytes = call.request.body.size();
  event.request_parameters.max_tokens = call.max_tokens;
  event.response_elements.status = call.status;
  if (call.stop_reason != canonical::StopReason::kUnset) {
    event.response_elements.stop_reason = canonical::stopReasonName(call.stop_reason);
  }
  if (call.have_usage) {
    event.response_elements.usage = audit::Usage{
        static_cast<std::uint64_t>(std::max<std::int64_t>(0, call.usage.input_tokens)),
        static_cast<std::uint64_t>(std::max<std::int64_t>(0, call.usage.output_tokens))};
  }
  event.request_id = call.request.request_id;
  if (call.status >= 400) {
    event.error_code = call.error.code.empty() ? std::to_string(call.status) : call.error.code;
    event.error_message = call.error.message.substr(0, 1024);
  }
  event.policy_decision.effect = call.authz.effect;
  event.policy_decision.policy = call.authz.policy;
  event.policy_decision.statement = call.authz.statement;
  event.guardrail_interventions = std::move(call.interventions);
  if (call.hooks != nullptr) call.hooks->annotate(event);

  Result<std::uint64_t> stored =
      co_await audit::asyncAppend(*governance_.audit, std::move(event), asio::use_awaitable);
  if (!stored) {
    log::error("request {}: audit record not written: {}", call.request.request_id,
               stored.error().message);
    co_return false;
  }
  co_return true;
}

}  // namespace basalt::pipeline
