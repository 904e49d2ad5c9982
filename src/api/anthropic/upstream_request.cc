// Canonical (from any door) -> the upstream Messages request body (provider side), applying
// the conversation rules Anthropic enforces (wire.md §4.2, §6.11).

#include "basalt/api/anthropic/messages_codec.h"

#include "json_util.h"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <deque>
#include <set>

namespace basalt::api::anthropic {

namespace json = boost::json;
using canonical::ChatRequest;
using canonical::ContentBlock;
using canonical::Role;

namespace {

constexpr std::int64_t kDefaultMaxTokens = 4096;
constexpr std::int64_t kMinThinkingBudget = 1024;
constexpr std::string_view kDummyTool = "basalt_unused_tool";
constexpr std::string_view kBedrockVersion = "bedrock-2023-05-31";

struct Turn {
  bool assistant = false;
  std::vector<ContentBlock> blocks;
};

/// Thinking budget for the request, or 0 when thinking is off (LiteLLM's effort table).
std::int64_t thinkingBudget(const canonical::Reasoning& r) {
  if (r.effort == "none") return 0;
  if (r.budget_tokens) return std::max(*r.budget_tokens, kMinThinkingBudget);
  if (r.effort.empty()) return 0;
  if (r.effort == "minimal" || r.effort == "low") return 1024;
  if (r.effort == "medium") return 2048;
  if (r.effort == "high") return 4096;
  if (r.effort == "xhigh") return 8192;
  return 16384;  // "max" and anything larger
}

std::string resultText(const canonical::ToolResultBlock& r) {
  std::string text = "[tool result " + r.tool_use_id + (r.is_error ? " (error)" : "") + "]";
  for (const canonical::ToolResultPart& p : r.content) {
    if (const auto* t = std::get_if<canonical::TextBlock>(&p)) {
      text += "\n";
      text += t->text;
    }
  }
  return text;
}

class UpstreamEncoder {
 public:
  UpstreamEncoder(const ChatRequest& req, const UpstreamRequestOptions& options)
      : req_(req), options_(options) {
    if (req.extras.vendor == canonical::Vendor::kAnthropic && !req.extras.empty()) {
      if (auto v = detail::parseJson(req.extras.json); v && v->is_object()) {
        extras_ = std::move(v->get_object());
      }
    }
  }

  std::string encode();

 private:
  void collect();
  void pairToolResults();
  /// False when the last assistant turn calls tools without leading (signed) thinking.
  bool thinkingReplayable() const;
  void encodeTools(json::object& body, bool thinking);
  json::object toolJson(const canonical::ToolSpec& tool) const;

  const ChatRequest& req_;
  const UpstreamRequestOptions& options_;
  json::object extras_;
  json::array system_;
  std::vector<Turn> turns_;
  bool history_has_tools_ = false;
  int legacy_ids_ = 0;
};

bool UpstreamEncoder::thinkingReplayable() const {
  for (auto it = turns_.rbegin(); it != turns_.rend(); ++it) {
    if (!it->assistant) continue;
    const bool has_tool_use = std::any_of(
        it->blocks.begin(), it->blocks.end(),
        [](const ContentBlock& b) { return std::holds_alternative<canonical::ToolUseBlock>(b); });
    if (!has_tool_use) return true;
    // pairToolResults put reasoning first; only signed or redacted reasoning survives.
    return std::holds_alternative<canonical::ReasoningBlock>(it->blocks.front());
  }
  return true;
}

void UpstreamEncoder::collect() {
  std::deque<std::string> legacy_pending;  // ids given to id-less (legacy function) calls
  for (const canonical::Message& m : req_.messages) {
    if (m.role == Role::kSystem || m.role == Role::kDeveloper) {
      // Hoisted into `system`, in order: Messages has no system role.
      for (const ContentBlock& b : m.content) {
        if (std::holds_alternative<canonical::TextBlock>(b)) {
          detail::encodeBlock(b, system_, false);
        }
      }
      continue;
    }
    Turn turn;
    turn.assistant = m.role == Role::kAssistant;
    for (const ContentBlock& b : m.content) {
      ContentBlock copy = b;
      if (auto* use = std::get_if<canonical::ToolUseBlock>(&copy)) {
        if (!turn.assistant) continue;  // a tool call only means something from the assistant
        if (use->id.empty()) {
          use->id = "toolu_basalt_" + std::to_string(++legacy_ids_);
          legacy_pending.push_back(use->id);
        } else {
          use->id = detail::sanitizeId(use->id);
        }
      } else if (auto* result = std::get_if<canonical::ToolResultBlock>(&copy)) {
        if (result->tool_use_id.empty() && !legacy_pending.empty()) {
          result->tool_use_id = legacy_pending.front();
          legacy_pending.pop_front();
        } else {
          result->tool_use_id = detail::sanitizeId(result->tool_use_id);
        }
        if (turn.assistant) {
          turn.blocks.emplace_back(canonical::TextBlock{resultText(*result)});
          continue;
        }
      }
      json::array probe;
      detail::encodeBlock(copy, probe, false);
      if (probe.empty()) continue;  // blank text, unsigned reasoning, other vendors' blocks
      turn.blocks.push_back(std::move(copy));
    }
    if (turn.blocks.empty()) continue;
    if (!turns_.empty() && turns_.back().assistant == turn.assistant) {
      for (ContentBlock& b : turn.blocks) turns_.back().blocks.push_back(std::move(b));
    } else {
      turns_.push_back(std::move(turn));
    }
  }
}

void UpstreamEncoder::pairToolResults() {
  for (std::size_t i = 0; i < turns_.size(); ++i) {
    Turn& turn = turns_[i];
    if (turn.assistant) {
      // Reasoning first, then text and the rest, then tool calls; duplicate call ids dropped.
      std::vector<ContentBlock> reasoning;
      std::vector<ContentBlock> middle;
      std::vector<ContentBlock> uses;
      std::set<std::string> seen;
      for (ContentBlock& b : turn.blocks) {
        if (std::holds_alternative<canonical::ReasoningBlock>(b)) {
          reasoning.push_back(std::move(b));
        } else if (auto* use = std::get_if<canonical::ToolUseBlock>(&b)) {
          if (seen.insert(use->id).second) uses.push_back(std::move(b));
        } else {
          middle.push_back(std::move(b));
        }
      }
      turn.blocks = std::move(reasoning);
      for (ContentBlock& b : middle) turn.blocks.push_back(std::move(b));
      for (ContentBlock& b : uses) turn.blocks.push_back(std::move(b));
      continue;
    }
    // A user turn: results answer the previous assistant turn's calls, in the calls' order.
    std::vector<std::string> calls;
    if (i > 0) {
      for (const ContentBlock& b : turns_[i - 1].blocks) {
        if (const auto* use = std::get_if<canonical::ToolUseBlock>(&b)) calls.push_back(use->id);
      }
    }
    std::vector<const canonical::ToolResultBlock*> results(calls.size(), nullptr);
    std::vector<ContentBlock> others;
    std::vector<ContentBlock> originals = std::move(turn.blocks);
    for (const ContentBlock& b : originals) {
      const auto* r = std::get_if<canonical::ToolResultBlock>(&b);
      if (r == nullptr) {
        others.push_back(b);
        continue;
      }
      auto it = std::find(calls.begin(), calls.end(), r->tool_use_id);
      const std::size_t slot = static_cast<std::size_t>(it - calls.begin());
      if (it == calls.end()) {
        others.emplace_back(canonical::TextBlock{resultText(*r)});  // orphan: keep as text
      } else if (results[slot] == nullptr) {
        results[slot] = r;
      }  // else a duplicate result for the same call: dropped
    }
    turn.blocks.clear();
    for (std::size_t c = 0; c < calls.size(); ++c) {
      if (results[c] != nullptr) {
        turn.blocks.emplace_back(*results[c]);
      } else {
        canonical::ToolResultBlock missing;
        missing.tool_use_id = calls[c];
        missing.content.emplace_back(canonical::TextBlock{"(no output)"});
        missing.is_error = true;
        turn.blocks.emplace_back(std::move(missing));
      }
    }
    for (ContentBlock& b : others) turn.blocks.push_back(std::move(b));
  }
  // Calls in an assistant turn followed by a user turn always got results above; calls at the
  // very end are left for the model to continue from.
  if (!turns_.empty() && turns_.front().assistant) {
    Turn first;
    first.blocks.emplace_back(canonical::TextBlock{"."});
    turns_.insert(turns_.begin(), std::move(first));
  }
}

json::object UpstreamEncoder::toolJson(const canonical::ToolSpec& tool) const {
  json::object schema;
  if (tool.kind == canonical::ToolKind::kCustom) {
    // Freeform tools become a function taking the raw text (wire.md §6.4).
    schema =
        json::object{{"type", "object"},
                     {"properties", json::object{{"content", json::object{{"type", "string"}}}}},
                     {"required", json::array{"content"}}};
  } else if (auto v = detail::parseJson(tool.parameters_json); v && v->is_object()) {
    schema = std::move(v->get_object());
  }
  if (const json::value* type = schema.if_contains("type");
      type == nullptr || !type->is_string() || type->get_string() != "object") {
    schema["type"] = "object";
  }
  std::string description = tool.description;
  if (tool.kind == canonical::ToolKind::kCustom && !tool.custom_format_json.empty()) {
    if (auto f = detail::parseJson(tool.custom_format_json); f && f->is_object()) {
      const std::string definition = detail::str(f->get_object(), "definition");
      const std::string syntax = detail::str(f->get_object(), "syntax");
      if (!definition.empty()) {
        description += "\n\nFormat:\n```" + syntax + "\n" + definition + "\n```\n";
      }
    }
  }
  json::object out{{"name", tool.name}};
  if (!description.empty()) out["description"] = std::move(description);
  out["input_schema"] = std::move(schema);
  // Only Anthropic clients mean Anthropic's `strict`; OpenAI's strict has other rules.
  if (tool.strict && (req_.door == canonical::Door::kAnthropicMessages ||
                      req_.door == canonical::Door::kBedrockInvoke)) {
    out["strict"] = *tool.strict;
  }
  return out;
}

void UpstreamEncoder::encodeTools(json::object& body, bool thinking) {
  json::array tools;
  for (const canonical::ToolSpec& t : req_.tools) {
    if (!t.extras.empty()) {
      // Server tools run only on Anthropic; other vendors' hosted tools cannot run here.
      if (t.extras.vendor != canonical::Vendor::kAnthropic) continue;
      if (auto v = detail::parseJson(t.extras.json); v && v->is_object()) {
        json::object raw = std::move(v->get_object());
        if (t.cache_point && !raw.contains("cache_control")) {
          raw["cache_control"] = json::object{{"type", "ephemeral"}};
        }
        tools.push_back(std::move(raw));
      }
      continue;
    }
    if (t.name.empty()) continue;
    json::object tool = toolJson(t);
    if (t.cache_point) tool["cache_control"] = json::object{{"type", "ephemeral"}};
    tools.push_back(std::move(tool));
  }
  if (tools.empty() && !history_has_tools_) return;
  if (tools.empty()) {
    // Anthropic rejects tool_use/tool_result history without tool definitions.
    canonical::ToolSpec dummy;
    dummy.name = kDummyTool;
    dummy.description = "Not available. Do not call this tool.";
    tools.push_back(toolJson(dummy));
  }
  body["tools"] = std::move(tools);
  using Kind = canonical::ToolChoice::Kind;
  Kind kind = req_.tool_choice.kind;
  if (thinking && (kind == Kind::kRequired || kind == Kind::kNamed)) {
    kind = Kind::kAuto;  // thinking forbids forced tool use
  }
  json::object choice;
  switch (kind) {
    case Kind::kAuto:
      choice["type"] = "auto";
      break;
    case Kind::kRequired:
      choice["type"] = "any";
      break;
    case Kind::kNamed:
      choice["type"] = "tool";
      choice["name"] = req_.tool_choice.name;
      break;
    case Kind::kNone:
      choice["type"] = "none";
      break;
    case Kind::kUnset:
      if (req_.parallel_tool_calls == std::optional<bool>(false)) choice["type"] = "auto";
      break;
  }
  if (!choice.empty() && kind != Kind::kNone &&
      req_.parallel_tool_calls == std::optional<bool>(false)) {
    choice["disable_parallel_tool_use"] = true;
  }
  if (!choice.empty() && !extras_.contains("tool_choice")) body["tool_choice"] = std::move(choice);
}

std::string UpstreamEncoder::encode() {
  collect();
  pairToolResults();
  for (const Turn& t : turns_) {
    for (const ContentBlock& b : t.blocks) {
      history_has_tools_ = history_has_tools_ ||
                           std::holds_alternative<canonical::ToolUseBlock>(b) ||
                           std::holds_alternative<canonical::ToolResultBlock>(b);
    }
  }
  if (turns_.empty()) {
    Turn first;
    first.blocks.emplace_back(canonical::TextBlock{"."});
    turns_.push_back(std::move(first));
  }

  json::object body;
  if (options_.bedrock) {
    body["anthropic_version"] = kBedrockVersion;
  } else {
    body["model"] = options_.model;
  }

  json::array messages;
  for (std::size_t t = 0; t < turns_.size(); ++t) {
    json::array content;
    for (const ContentBlock& b : turns_[t].blocks) detail::encodeBlock(b, content, false);
    // A final assistant turn is a prefill: Anthropic rejects trailing whitespace there.
    if (t + 1 == turns_.size() && turns_[t].assistant && !content.empty()) {
      json::object& last = content.back().as_object();
      if (detail::str(last, "type") == "text") {
        std::string text = detail::str(last, "text");
        text.erase(text.find_last_not_of(" \t\r\n") + 1);
        last["text"] = std::move(text);
      }
    }
    messages.push_back(json::object{{"role", turns_[t].assistant ? "assistant" : "user"},
                                    {"content", std::move(content)}});
  }

  json::array system;
  for (const ContentBlock& b : req_.system) detail::encodeBlock(b, system, false);
  for (json::value& v : system_) system.push_back(std::move(v));
  // Messages has no response_format: the instruction goes in the system prompt instead.
  using Format = canonical::ResponseFormat::Kind;
  if (req_.response_format.kind == Format::kJsonObject) {
    system.push_back(
        json::object{{"type", "text"}, {"text", "Respond only with a valid JSON object."}});
  } else if (req_.response_format.kind == Format::kJsonSchema) {
    system.push_back(json::object{
        {"type", "text"},
        {"text", "Respond only with a JSON value that conforms to this JSON Schema:\n" +
                     req_.response_format.schema_json}});
  }

  std::int64_t budget = thinkingBudget(req_.reasoning);
  if (!thinkingReplayable()) {
    // With thinking on, Anthropic rejects a tool-use turn that does not start with its signed
    // thinking (histories from other vendors never have one): answer without thinking instead.
    budget = 0;
    if (const json::value* t = extras_.if_contains("thinking");
        t != nullptr && t->is_object() && detail::str(t->get_object(), "type") != "disabled") {
      extras_.erase("thinking");
    }
  }
  const bool thinking = budget > 0 || extras_.contains("thinking");
  std::int64_t max_tokens =
      req_.max_tokens.value_or(options_.max_tokens_default.value_or(kDefaultMaxTokens));
  if (budget > 0 && max_tokens <= budget) max_tokens = budget + max_tokens;  // budget < max
  body["max_tokens"] = max_tokens;
  body["messages"] = std::move(messages);
  if (!system.empty()) body["system"] = std::move(system);

  if (!thinking) {
    if (req_.temperature) body["temperature"] = std::clamp(*req_.temperature, 0.0, 1.0);
    if (req_.top_p) body["top_p"] = std::clamp(*req_.top_p, 0.0, 1.0);
    if (req_.top_k) body["top_k"] = *req_.top_k;
  } else if (req_.top_p && *req_.top_p >= 0.95) {
    body["top_p"] = std::min(*req_.top_p, 1.0);  // thinking allows top_p in [0.95, 1] only
  }
  if (budget > 0 && !extras_.contains("thinking")) {
    body["thinking"] = json::object{{"type", "enabled"}, {"budget_tokens", budget}};
  }
  json::array stops;
  for (const std::string& s : req_.stop) {
    if (!detail::blankText(s)) stops.push_back(json::string(s));
  }
  if (!stops.empty()) body["stop_sequences"] = std::move(stops);
  if (!req_.user.empty()) body["metadata"] = json::object{{"user_id", req_.user}};

  encodeTools(body, thinking);

  if (options_.bedrock && !req_.anthropic_beta.empty() && !extras_.contains("anthropic_beta")) {
    json::array betas;
    std::string_view rest = req_.anthropic_beta;
    while (!rest.empty()) {
      const std::size_t comma = rest.find(',');
      std::string_view item = rest.substr(0, comma);
      while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
      while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
      if (!item.empty()) betas.push_back(json::string(item));
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
    if (!betas.empty()) body["anthropic_beta"] = std::move(betas);
  }
  if (!options_.bedrock && options_.stream) body["stream"] = true;
  for (const auto& [k, v] : extras_) {
    if (options_.bedrock && (k == "model" || k == "stream")) continue;
    if (!body.contains(k)) body[k] = v;
  }
  return json::serialize(body);
}

}  // namespace

std::string encodeUpstreamRequest(const ChatRequest& request,
                                  const UpstreamRequestOptions& options) {
  UpstreamEncoder encoder(request, options);
  return encoder.encode();
}

}  // namespace basalt::api::anthropic
