// Stored responses: the conversation of one call as Responses input items, and back, so the
// gateway can serve `previous_response_id` from its own store.

#include "basalt/api/openai_responses/responses_codec.h"

#include "items.h"

#include <boost/json/serialize.hpp>

namespace basalt::api::openai_responses {

namespace json = boost::json;

std::string encodeStoredConversation(const canonical::ChatRequest& request,
                                     const canonical::ChatResponse& response) {
  std::vector<canonical::Message> messages = request.messages;
  canonical::Message answer;
  answer.role = canonical::Role::kAssistant;
  answer.content = response.content;
  for (canonical::ContentBlock& b : answer.content) {
    // A streamed answer loses the custom kind of its calls; the request's tools restore it.
    if (auto* c = std::get_if<canonical::ToolUseBlock>(&b)) {
      if (detail::callShape(*c, request) == detail::CallShape::kCustom &&
          c->kind != canonical::ToolKind::kCustom) {
        c->kind = canonical::ToolKind::kCustom;
        c->input_json = detail::customInputJson(detail::customInput(c->input_json));
      }
    }
  }
  if (!answer.content.empty()) messages.push_back(std::move(answer));
  const std::vector<canonical::ToolUseBlock> calls = detail::collectCalls(messages, nullptr);
  return json::serialize(detail::encodeItems(messages, /*faithful=*/true, calls, /*stored=*/true));
}

bool storeRequested(const canonical::ChatRequest& request) {
  if (request.extras.vendor != canonical::Vendor::kOpenAI || request.extras.empty()) return true;
  std::optional<json::value> v = detail::parseJson(request.extras.json);
  if (!v || !v->is_object()) return true;
  const json::value* store = v->get_object().if_contains("store");
  return store == nullptr || !store->is_bool() || store->get_bool();
}

Result<void> prependConversation(std::string_view stored, canonical::ChatRequest& request) {
  std::optional<json::value> v = detail::parseJson(stored);
  if (!v || !v->is_array()) {
    return Error::internal("a stored conversation is not a JSON array of items");
  }
  std::vector<canonical::Message> history;
  std::size_t extras_bytes = 0;
  if (Result<void> r = detail::decodeItems(v->get_array(), "input", history, extras_bytes); !r) {
    return Error::internal("a stored conversation does not decode: " + r.error().message);
  }
  request.messages.insert(request.messages.begin(), std::make_move_iterator(history.begin()),
                          std::make_move_iterator(history.end()));
  return {};
}

}  // namespace basalt::api::openai_responses
