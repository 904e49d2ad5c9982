#include "basalt/agent_runtime/model_caller.h"

#include "basalt/api/anthropic/messages_codec.h"
#include "basalt/audit/audit_event.h"
#include "basalt/core/ids.h"
#include "basalt/pipeline/gateway.h"

namespace basalt::agent_runtime {

namespace {

/// Captures the gateway's answer in memory (the agent loop is the client).
class CaptureResponder final : public Responder {
 public:
  Task<bool> send(int s, Headers h, std::string b) override {
    status = s;
    headers = std::move(h);
    body = std::move(b);
    co_return true;
  }
  Task<bool> startStream(int s, Headers h) override {
    status = s;
    headers = std::move(h);
    co_return true;
  }
  Task<bool> write(std::string_view chunk) override {
    body += chunk;
    co_return true;
  }
  Task<bool> endStream() override { co_return true; }
  bool clientGone() const override { return false; }

  int status = 0;
  Headers headers;
  std::string body;
};

/// The session's identity (no credential) and its attribution in the audit record.
class AgentHooks final : public pipeline::CallHooks {
 public:
  explicit AgentHooks(const CallIdentity& who) : who_(who) {}
  const perimeter::Caller* presetCaller() const override { return &who_.caller; }
  void annotate(audit::AuditEvent& event) const override {
    auto& extra = event.request_parameters.extra;
    extra.emplace_back("agentId", who_.agent_id);
    extra.emplace_back("sessionId", who_.session_id);
    if (!who_.end_user.empty()) extra.emplace_back("endUser", who_.end_user);
    if (!who_.purpose.empty()) extra.emplace_back("agentCallPurpose", who_.purpose);
  }

 private:
  const CallIdentity& who_;
};

ErrorKind kindOfStatus(int status) {
  switch (status) {
    case 400:
      return ErrorKind::kInvalidRequest;
    case 401:
      return ErrorKind::kUnauthenticated;
    case 403:
      return ErrorKind::kPermissionDenied;
    case 404:
      return ErrorKind::kNotFound;
    case 413:
      return ErrorKind::kPayloadTooLarge;
    case 429:
      return ErrorKind::kRateLimited;
    case 503:
    case 529:
      return ErrorKind::kUpstreamUnavailable;
    case 504:
      return ErrorKind::kUpstreamTimeout;
    case 500:
      return ErrorKind::kInternal;
    default:
      return ErrorKind::kUpstreamError;
  }
}

}  // namespace

GatewayModelCaller::GatewayModelCaller(pipeline::Gateway& gateway,
                                       GatewayModelCallerOptions options)
    : gateway_(gateway), options_(options), codec_(api::anthropic::makeDoorCodec()) {}

GatewayModelCaller::~GatewayModelCaller() = default;

Task<Result<canonical::ChatResponse>> GatewayModelCaller::call(const CallIdentity& who,
                                                               canonical::ChatRequest request) {
  api::anthropic::UpstreamRequestOptions o;
  o.model = request.model;
  o.max_tokens_default = options_.max_tokens_default;
  o.stream = false;
  HttpRequest http;
  http.method = "POST";
  http.target = "/v1/messages";
  http.headers.push_back({"content-type", "application/json"});
  http.headers.push_back({"anthropic-version", "2023-06-01"});
  http.body = api::anthropic::encodeUpstreamRequest(request, o);
  http.request_id = newRequestId();
  CaptureResponder responder;
  AgentHooks hooks(who);
  co_await gateway_.serveModelCall(*codec_, http, responder, &hooks);
  if (responder.status == 200) {
    Result<canonical::ChatResponse> decoded =
        api::anthropic::decodeUpstreamResponse(responder.body);
    co_return decoded;
  }
  if (responder.status == 0) {
    Result<canonical::ChatResponse> none =
        Error{ErrorKind::kCancelled, "the model call was abandoned"};
    co_return none;
  }
  // The gateway answered in the Messages door's shape: keep its message, map its status back.
  Error e =
      api::anthropic::decodeUpstreamError(responder.status, responder.headers, responder.body);
  e.kind = kindOfStatus(responder.status);
  e.upstream_status = responder.status;
  Result<canonical::ChatResponse> failed = std::move(e);
  co_return failed;
}

}  // namespace basalt::agent_runtime
