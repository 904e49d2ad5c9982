#include "stored_responses.h"

#include "basalt/api/openai_responses/responses_codec.h"
#include "basalt/core/log.h"
#include "basalt/perimeter/perimeter.h"

#include <chrono>

namespace basalt::app {
namespace openai_responses = api::openai_responses;

namespace {

Error notFound(std::string_view id) {
  return Error::notFound("No response found with id '" + std::string(id) + "'.", "not_found");
}

Headers jsonHeaders() {
  return Headers{{"content-type", "application/json"}};
}

/// Ids Basalt hands out are `resp_` + hex; anything else cannot name a stored response.
bool plausibleId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

Result<void> StoredResponses::prepare(const std::string& principal_id,
                                      canonical::ChatRequest& chat) {
  const std::optional<std::string> previous = openai_responses::previousResponseId(chat);
  if (!previous) return {};
  Result<std::optional<storage::StoredResponse>> stored = store_.get(*previous, principal_id);
  if (!stored) return stored.error();
  if (!stored->has_value()) {
    Error missing = Error::invalid("Previous response with id '" + *previous + "' not found.",
                                   "previous_response_id");
    missing.code = "previous_response_not_found";
    return missing;
  }
  return openai_responses::prependConversation((*stored)->conversation, chat);
}

bool StoredResponses::wantsResponse(const canonical::ChatRequest& chat) const {
  return openai_responses::storeRequested(chat);
}

void StoredResponses::completed(const std::string& principal_id, const canonical::ChatRequest& chat,
                                const canonical::ChatResponse& response) {
  storage::StoredResponse row;
  row.id = openai_responses::responseId(chat.request_id);
  row.principal_id = principal_id;
  row.created_at_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  row.response = openai_responses::encodeResponseBody(response, chat);
  row.conversation = openai_responses::encodeStoredConversation(chat, response);
  // The client already has its answer; a response that could not be stored only makes a later
  // GET or previous_response_id miss, which the client sees as "not found".
  if (Result<void> r = store_.put(row); !r) {
    log::warn("request {}: response {} not stored: {}", chat.request_id, row.id, r.error().message);
  }
}

Task<void> StoredResponses::serve(HttpRequest& request, Responder& responder) {
  std::string principal_id;
  const std::string id(request.path().substr(std::string_view("/v1/responses/").size()));
  Error error;
  bool failed = false;
  if (perimeter_ != nullptr) {
    Result<perimeter::Caller> caller = perimeter_->authenticate(request);
    if (!caller) {
      error = caller.error();
      failed = true;
    } else {
      principal_id = caller->principal_id;
    }
  }
  if (!failed && !plausibleId(id)) {
    error = notFound(id.substr(0, 128));
    failed = true;
  }
  std::string body;
  int status = 200;
  if (!failed && request.method == "GET") {
    Result<std::optional<storage::StoredResponse>> stored = store_.get(id, principal_id);
    if (!stored) {
      error = stored.error();
      failed = true;
    } else if (!stored->has_value()) {
      error = notFound(id);
      failed = true;
    } else {
      body = std::move((*stored)->response);
    }
  } else if (!failed) {  // DELETE
    Result<bool> removed = store_.remove(id, principal_id);
    if (!removed || !*removed) {
      error = removed ? notFound(id) : removed.error();
      failed = true;
    } else {
      body = R"({"id":")" + id + R"(","object":"response.deleted","deleted":true})";
    }
  }
  if (failed) {
    canonical::EncodedReply reply = openai_responses::encodeError(error);
    status = reply.status;
    co_await responder.send(status, std::move(reply.headers), std::move(reply.body));
    co_return;
  }
  Headers headers = jsonHeaders();
  co_await responder.send(status, std::move(headers), std::move(body));
}

}  // namespace basalt::app
