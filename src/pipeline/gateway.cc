#include "basalt/pipeline/gateway.h"

#include "basalt/core/log.h"
#include "basalt/core/metrics.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
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

}  // namespace

bool isRetryable(const Error& error) {
  switch (error.kind) {
    case ErrorKind::kUpstreamError:
    case ErrorKind::kUpstreamUnavailable:
    case ErrorKind::kUpstreamTimeout:
    case ErrorKind::kRateLimited: return true;
    default: return false;
  }
}

/// Feeds provider events to the client through the door's stream encoder. The response head
/// goes out with the first event, so a failure before it can still fall back to another route.
class Gateway::ClientStream final : public providers::StreamSink {
 public:
  ClientStream(Responder& responder, std::unique_ptr<canonical::StreamEncoder> encoder)
      : responder_(responder), encoder_(std::move(encoder)) {}

  Task<bool> onEvent(const StreamEvent& event) override {
    if (!started_) {
      started_ = true;
      metrics::streamOpened();
      const bool open = co_await responder_.startStream(200, encoder_->headers());
      if (!open) co_return false;
    }
    buffer_.clear();
    encoder_->encode(event, buffer_);
    if (buffer_.empty()) co_return true;
    const bool written = co_await responder_.write(buffer_);
    co_return written;
  }

  /// Ends a started stream with the door's error frame.
  Task<void> fail(const Error& error) {
    buffer_.clear();
    encoder_->encode(StreamEvent::errorEvent(error), buffer_);
    if (!buffer_.empty()) co_await responder_.write(buffer_);
    co_await responder_.endStream();
  }

  Task<void> finish() { co_await responder_.endStream(); }

  bool started() const { return started_; }

  ~ClientStream() override {
    if (started_) metrics::streamClosed();
  }

 private:
  Responder& responder_;
  std::unique_ptr<canonical::StreamEncoder> encoder_;
  std::string buffer_;
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
    co_return co_await route.provider->stream(chat_, options, stream_);
  }
  bool mayRetry() const override { return !stream_.started(); }

 private:
  const canonical::ChatRequest& chat_;
  ClientStream& stream_;
};

Gateway::Gateway(config::SettingsPtr settings, ProviderMap providers,
                 std::unique_ptr<ModelTable> models)
    : settings_(std::move(settings)), providers_(std::move(providers)), models_(std::move(models)) {}

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
                                   Responder& responder) {
  const auto started_at = std::chrono::steady_clock::now();
  std::string_view model_name = "-";
  int status = 0;

  Result<canonical::ChatRequest> decoded = codec.decode(request);
  if (!decoded) {
    status = co_await replyError(codec, decoded.error(), responder);
  } else {
    const ModelEntry* model = models_->find(decoded->model);
    if (model == nullptr) {
      model_name = "unknown";  // only configured names become labels: bounded cardinality
      status = co_await replyError(
          codec,
          Error::notFound("The model `" + decoded->model +
                              "` does not exist or you do not have access to it.",
                          "model_not_found"),
          responder);
    } else {
      model_name = model->name;
      status = decoded->stream
                   ? co_await serveStream(codec, *decoded, *model, request, responder)
                   : co_await serveComplete(codec, *decoded, *model, request, responder);
    }
  }

  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_at).count();
  metrics::recordRequest(canonical::doorName(codec.door()), model_name, status, seconds);
}

Task<int> Gateway::serveComplete(const canonical::DoorCodec& codec,
                                 const canonical::ChatRequest& chat, const ModelEntry& model,
                                 HttpRequest& request, Responder& responder) {
  CompleteAttempt attempt(chat);
  Result<void> outcome = co_await runAttempts(model, request.request_id, attempt);
  if (!outcome) {
    if (outcome.error().kind == ErrorKind::kCancelled) co_return 499;
    co_return co_await replyError(codec, outcome.error(), responder);
  }
  canonical::EncodedReply reply = codec.encodeResponse(attempt.response, chat);
  const int status = reply.status;
  co_await responder.send(reply.status, std::move(reply.headers), std::move(reply.body));
  co_return status;
}

Task<int> Gateway::serveStream(const canonical::DoorCodec& codec,
                               const canonical::ChatRequest& chat, const ModelEntry& model,
                               HttpRequest& request, Responder& responder) {
  ClientStream stream(responder, codec.newStreamEncoder(chat));
  StreamAttempt attempt(chat, stream);
  Result<void> outcome = co_await runAttempts(model, request.request_id, attempt);
  if (outcome) {
    co_await stream.finish();
    co_return 200;
  }
  const Error& error = outcome.error();
  if (error.kind == ErrorKind::kCancelled || responder.clientGone()) co_return 499;
  if (!stream.started()) co_return co_await replyError(codec, error, responder);
  // Bytes already reached the client: end its stream with the door's error frame.
  co_await stream.fail(error);
  co_return httpStatus(error.kind);
}

Task<int> replyError(const canonical::DoorCodec& codec, const Error& error,
                     Responder& responder) {
  canonical::EncodedReply reply = codec.encodeError(error);
  const int status = reply.status;
  co_await responder.send(reply.status, std::move(reply.headers), std::move(reply.body));
  co_return status;
}

}  // namespace basalt::pipeline
