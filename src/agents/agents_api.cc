#include "basalt/agents/agents_api.h"

#include "api_json.h"

#include "basalt/agents/agent_store.h"
#include "basalt/agents/event_hub.h"
#include "basalt/audit/async_append.h"
#include "basalt/audit/audit_sink.h"
#include "basalt/core/percent.h"
#include "basalt/pipeline/router.h"

#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>

#include <memory>
#include <optional>
#include <utility>

namespace basalt::agents {
namespace {

constexpr std::string_view kPrefix = "/v1/";
constexpr const char* kRoots[] = {"agents", "environments", "sessions", "vaults", "memory_stores"};
constexpr int kReplayBatch = 200;

/// The path below /v1/ split on '/', each segment decoded; nullopt when malformed.
std::optional<std::vector<std::string>> segments(std::string_view path) {
  if (path.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  path.remove_prefix(kPrefix.size());
  std::vector<std::string> out;
  while (!path.empty()) {
    const auto slash = path.find('/');
    std::optional<std::string> seg = percentDecodePath(path.substr(0, slash));
    if (!seg || seg->empty()) return std::nullopt;
    out.push_back(std::move(*seg));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
    if (path.empty()) return std::nullopt;
  }
  return out;
}

std::optional<std::string> decodeQueryPart(std::string_view s) {
  std::string plus(s);
  for (char& c : plus) {
    if (c == '+') c = ' ';
  }
  return percentDecodePath(plus);
}

Result<std::vector<std::pair<std::string, std::string>>> parseQuery(std::string_view q) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!q.empty()) {
    const auto amp = q.find('&');
    const std::string_view part = q.substr(0, amp);
    if (!part.empty()) {
      const auto eq = part.find('=');
      std::optional<std::string> k = decodeQueryPart(part.substr(0, eq));
      std::optional<std::string> v =
          decodeQueryPart(eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1));
      if (!k || !v) return Error::invalid("The query string is malformed");
      out.emplace_back(std::move(*k), std::move(*v));
    }
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return out;
}

Headers jsonHeaders() {
  Headers h;
  h.push_back({"content-type", "application/json"});
  return h;
}

Headers sseHeaders() {
  Headers h;
  h.push_back({"content-type", "text/event-stream"});
  h.push_back({"cache-control", "no-cache"});
  return h;
}

std::string sseFrame(const SessionEvent& e) {
  std::string out = "event: " + e.type + "\nid: " + e.id + "\ndata: ";
  out += json::serialize(renderEvent(e));
  out += "\n\n";
  return out;
}

/// Authenticates and builds the call; the error is the whole answer otherwise.
Result<Call> makeCall(AgentsContext& ctx, const HttpRequest& request) {
  std::optional<std::vector<std::string>> segs = segments(request.path());
  if (!segs || segs->empty()) {
    return Error::notFound("Not found: " + request.method + " " + std::string(request.path()),
                           "unknown_url");
  }
  Result<std::vector<std::pair<std::string, std::string>>> query = parseQuery(request.query());
  if (!query) return query.error();
  Result<perimeter::Caller> caller =
      ctx.authenticate ? ctx.authenticate(request)
                       : Result<perimeter::Caller>(Error{ErrorKind::kInternal, "no authenticator"});
  if (!caller) return caller.error();
  Access access{caller->principal_id, caller->root};
  return Call{
      ctx, request, std::move(*caller), std::move(access), std::move(*segs), std::move(*query), {}};
}

bool isStream(const HttpRequest& request) {
  std::optional<std::vector<std::string>> segs = segments(request.path());
  return request.method == "GET" && segs && segs->size() == 4 && (*segs)[0] == "sessions" &&
         (*segs)[2] == "events" && (*segs)[3] == "stream";
}

}  // namespace

std::string agentsArn(std::string_view region, std::string_view owner, std::string_view kind,
                      std::string_view id) {
  std::string arn = "arn:basalt:agents:";
  arn += region;
  arn += ':';
  arn += owner;
  arn += ':';
  arn += kind;
  arn += '/';
  arn += id;
  return arn;
}

AgentsReply AgentsApi::execute(const HttpRequest& request) {
  AgentsReply reply;
  auto fail = [&reply](const Error& error) {
    reply.status = statusOf(error);
    reply.body = errorBody(error, reply.status);
  };
  Result<Call> call = makeCall(ctx_, request);
  if (!call) {
    fail(call.error());
    return reply;
  }
  const std::string& root = call->segs[0];
  Result<Reply> done = Error{};
  if (root == "environments") {
    done = environmentsApi(*call);
  } else if (root == "agents") {
    done = agentsApi(*call);
  } else if (root == "sessions") {
    done = sessionsApi(*call);
  } else if (root == "vaults") {
    done = vaultsApi(*call);
  } else if (root == "memory_stores") {
    done = memoryStoresApi(*call);
  } else {
    done = unknownPath(*call);
  }
  reply.action = call->action;
  if (!done) {
    fail(done.error());
  } else {
    reply.status = done->status;
    reply.body = json::serialize(done->body);
  }
  if (!call->action.empty()) {
    reply.audited = true;
    std::optional<Error> error;
    if (!done) error = done.error();
    reply.event = auditEventFor(*call, reply.status, error ? &*error : nullptr);
  }
  return reply;
}

namespace {

/// Appends `event` and waits until it is durable; the error to answer with when it is not.
Task<std::optional<Error>> auditDurably(audit::AuditSink& sink, audit::AuditEvent event) {
  Result<std::uint64_t> seq =
      co_await audit::asyncAppend(sink, std::move(event), boost::asio::use_awaitable);
  if (seq) co_return std::nullopt;
  // Fail closed: a call whose record is not durable is not acknowledged as done.
  Error error = seq.error();
  error.kind = ErrorKind::kUpstreamUnavailable;
  co_return error;
}

}  // namespace

Task<void> AgentsApi::handle(HttpRequest& request, Responder& responder) {
  if (isStream(request)) {
    std::optional<std::vector<std::string>> segs = segments(request.path());
    std::string session_id = (*segs)[1];
    co_await stream(request, responder, std::move(session_id));
    co_return;
  }
  AgentsReply reply = execute(request);
  if (reply.audited && ctx_.audit_sink != nullptr) {
    std::optional<Error> failed = co_await auditDurably(*ctx_.audit_sink, std::move(reply.event));
    if (failed) {
      reply.status = 503;
      reply.body = errorBody(*failed, 503);
    }
  }
  Headers headers = jsonHeaders();
  co_await responder.send(reply.status, std::move(headers), std::move(reply.body));
}

Task<void> AgentsApi::stream(HttpRequest& request, Responder& responder, std::string session_id) {
  // Everything up to the first byte is an ordinary JSON answer on failure.
  std::optional<Error> refused;
  std::shared_ptr<EventHub::Subscription> sub;
  std::int64_t last_seq = 0;
  std::optional<audit::AuditEvent> record;
  {
    Result<Call> call = makeCall(ctx_, request);
    Result<Session> session =
        call ? ctx_.store.getSession(call->access, session_id) : Result<Session>(call.error());
    Result<void> allowed =
        session ? call->allow("StreamEvents", session->owner_id, "session", session->id)
                : Result<void>(session.error());
    if (!allowed) {
      refused = allowed.error();
    } else {
      // Subscribe before reading the log so nothing appended in between is missed.
      const Executor executor = co_await boost::asio::this_coro::executor;
      sub = ctx_.hub.subscribe(executor, session_id);
      const std::string* resume = request.header("last-event-id");
      if (resume == nullptr) resume = call->queryValue("last_event_id");
      if (resume != nullptr && !resume->empty()) {
        Result<std::int64_t> seq = ctx_.store.eventSeq(session_id, *resume);
        if (!seq) {
          refused = Error::invalid(
              "Last-Event-ID '" + *resume + "' is not an event of this session", "last_event_id");
        } else {
          last_seq = *seq;
        }
      } else {
        // Without a resume point the stream starts now: history is GET .../events.
        Result<Session> fresh = ctx_.store.getSession(Access::rootAccess(), session_id);
        if (!fresh) {
          refused = fresh.error();
        } else {
          last_seq = fresh->last_seq;
        }
      }
    }
    if (call && !call->action.empty()) {
      const int status = refused ? statusOf(*refused) : 200;
      record = auditEventFor(*call, status, refused ? &*refused : nullptr);
    }
  }
  if (record && ctx_.audit_sink != nullptr) {
    std::optional<Error> failed = co_await auditDurably(*ctx_.audit_sink, std::move(*record));
    if (failed && !refused) refused = failed;
  }
  if (refused) {
    const int status = statusOf(*refused);
    Headers headers = jsonHeaders();
    std::string body = errorBody(*refused, status);
    co_await responder.send(status, std::move(headers), std::move(body));
    co_return;
  }

  Headers headers = sseHeaders();
  if (!co_await responder.startStream(200, std::move(headers))) co_return;
  while (true) {
    // Drain the log past last_seq (replay first, then whatever the wake-up announced).
    while (true) {
      Result<std::vector<SessionEvent>> batch =
          ctx_.store.eventsAfter(session_id, last_seq, kReplayBatch);
      if (!batch) {
        std::string frame =
            "event: error\ndata: " + errorBody(batch.error(), statusOf(batch.error())) + "\n\n";
        co_await responder.write(frame);
        co_await responder.endStream();
        co_return;
      }
      for (const SessionEvent& e : *batch) {
        const std::string frame = sseFrame(e);
        if (!co_await responder.write(frame)) co_return;
        last_seq = e.seq;
      }
      if (static_cast<int>(batch->size()) < kReplayBatch) break;
    }
    const EventHub::Subscription::Next next = co_await sub->next(ctx_.keepalive);
    if (next.wake == EventHub::Subscription::Wake::kDropped) {
      // Fell behind: end the stream; the client resumes with Last-Event-ID.
      co_await responder.endStream();
      co_return;
    }
    if (next.wake == EventHub::Subscription::Wake::kTimeout) {
      // A deleted session has nothing more to say: end rather than ping forever.
      if (Result<Session> alive = ctx_.store.getSession(Access::rootAccess(), session_id);
          !alive && alive.error().kind == ErrorKind::kNotFound) {
        co_await responder.endStream();
        co_return;
      }
      if (!co_await responder.write("event: ping\ndata: {\"type\":\"ping\"}\n\n")) co_return;
    }
    if (responder.clientGone()) co_return;
  }
}

void registerAgentRoutes(pipeline::Router& router, AgentsContext& ctx) {
  auto api = std::make_shared<AgentsApi>(ctx);
  for (const char* root : kRoots) {
    const std::string exact = std::string(kPrefix) + root;
    for (const char* method : {"GET", "POST"}) {
      router.add(method, exact, [api](HttpRequest& request, Responder& responder) {
        return api->handle(request, responder);
      });
    }
    for (const char* method : {"GET", "POST", "DELETE"}) {
      router.addPrefix(method, exact + "/", [api](HttpRequest& request, Responder& responder) {
        return api->handle(request, responder);
      });
    }
  }
}

}  // namespace basalt::agents
