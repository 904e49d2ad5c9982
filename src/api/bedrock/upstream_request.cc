// Canonical -> the upstream Converse request body (provider side), applying the Converse
// pitfalls of wire.md §6.11 so a request from any door is one Bedrock accepts.

#include "basalt/api/bedrock/converse_codec.h"

#include "json_util.h"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cstdio>
#include <deque>
#include <set>

namespace basalt::api::bedrock {

namespace json = boost::json;
using canonical::ChatRequest;
using canonical::ContentBlock;
using canonical::Role;

namespace {

constexpr std::int64_t kDefaultMaxTokens = 4096;
constexpr std::int64_t kMinThinkingBudget = 1024;  // Anthropic's minimum
constexpr std::string_view kDummyTool = "basalt_unused_tool";

/// Converse (and Anthropic) tool ids: [a-zA-Z0-9_-]{1,64}. Valid ids pass unchanged; others
/// are rewritten deterministically, so a toolUse and its toolResult still match.
std::string sanitizeId(std::string_view id) {
  std::string out;
  out.reserve(id.size());
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
    out += ok ? c : '_';
  }
  if (out.size() > 64) {
    std::uint64_t h = 1469598103934665603ULL;  // FNV-1a of the original id
    for (char c : id) {
      h ^= static_cast<unsigned char>(c);
      h *= 1099511628211ULL;
    }
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
    out.resize(47);
    out += '_';
    out += hex;
  }
  return out;
}

struct Turn {
  bool assistant = false;
  std::vector<ContentBlock> blocks;
};

/// Thinking budget for the request, or 0 when thinking is off.
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
    if (req.extras.vendor == canonical::Vendor::kBedrock && !req.extras.empty()) {
      if (auto v = detail::parseJson(req.extras.json); v && v->is_object()) {
        extras_ = std::move(v->get_object());
      }
    }
  }

  Result<std::string> encode();

 private:
  Result<void> collect();
  Result<void> checkImages(const ContentBlock& block) const;
  void pairToolResults();
  json::array encodeTurn(const Turn& turn) const;
  void encodeTools(json::object& body, std::int64_t budget);
  json::object toolSpec(const canonical::ToolSpec& tool) const;

  const ChatRequest& req_;
  const UpstreamRequestOptions& options_;
  json::object extras_;
  json::array system_;
  std::vector<Turn> turns_;
  bool history_has_tools_ = false;
  int legacy_ids_ = 0;
};

Result<void> UpstreamEncoder::checkImages(const ContentBlock& block) const {
  if (const auto* image = std::get_if<canonical::ImageBlock>(&block)) {
    Result<json::object> r = detail::encodeImage(*image);
    if (!r) return r.error();
  } else if (const auto* result = std::get_if<canonical::ToolResultBlock>(&block)) {
    for (const canonical::ToolResultPart& part : result->content) {
      if (const auto* img = std::get_if<canonical::ImageBlock>(&part)) {
        Result<json::object> r = detail::encodeImage(*img);
        if (!r) return r.error();
      }
    }
  }
  return {};
}

Result<void> UpstreamEncoder::collect() {
  std::deque<std::string> legacy_pending;  // ids given to id-less (legacy function) calls
  for (const canonical::Message& m : req_.messages) {
    if (m.role == Role::kSystem || m.role == Role::kDeveloper) {
      // Hoisted into `system`, in order (Converse has no system role in messages).
      for (const ContentBlock& b : m.content) {
        if (const auto* t = std::get_if<canonical::TextBlock>(&b)) detail::encodeBlock(*t, system_);
      }
      continue;
    }
    Turn turn;
    turn.assistant = m.role == Role::kAssistant;
    for (const ContentBlock& b : m.content) {
      if (Result<void> r = checkImages(b); !r) return r.error();
      ContentBlock copy = b;
      if (auto* use = std::get_if<canonical::ToolUseBlock>(&copy)) {
        if (!turn.assistant) continue;  // a tool call only means something from the assistant
        if (use->id.empty()) {
          use->id = "tooluse_basalt_" + std::to_string(++legacy_ids_);
          legacy_pending.push_back(use->id);
        } else {
          use->id = sanitizeId(use->id);
        }
        history_has_tools_ = true;
      } else if (auto* result = std::get_if<canonical::ToolResultBlock>(&copy)) {
        if (result->tool_use_id.empty() && !legacy_pending.empty()) {
          result->tool_use_id = legacy_pending.front();
          legacy_pending.pop_front();
        } else {
          result->tool_use_id = sanitizeId(result->tool_use_id);
        }
        history_has_tools_ = true;
        if (turn.assistant) {
          // A result inside an assistant turn cannot be expressed: keep its text.
          turn.blocks.emplace_back(canonical::TextBlock{resultText(*result)});
          continue;
        }
      }
      json::array probe;
      detail::encodeBlock(copy, probe);
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
  return {};
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
  // Calls in an assistant turn followed by another turn always got results above; calls
  // followed by nothing are left for the model to continue from.
  if (!turns_.empty() && turns_.front().assistant) {
    Turn first;
    first.blocks.emplace_back(canonical::TextBlock{"."});
    turns_.insert(turns_.begin(), std::move(first));
  }
}

json::array UpstreamEncoder::encodeTurn(const Turn& turn) const {
  json::array content;
  for (const ContentBlock& b : turn.blocks) detail::encodeBlock(b, content);
  return content;
}

json::object UpstreamEncoder::toolSpec(const canonical::ToolSpec& tool) const {
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
  // Converse wants an object schema at the root.
  if (const json::value* type = schema.if_contains("type");
      type == nullptr || !type->is_string() || type->get_string() != "object") {
    schema["type"] = "object";
  }
  if (!schema.contains("properties")) schema["properties"] = json::object();
  std::string description = tool.description.empty() ? tool.name : tool.description;
  if (tool.kind == canonical::ToolKind::kCustom && !tool.custom_format_json.empty()) {
    if (auto f = detail::parseJson(tool.custom_format_json); f && f->is_object()) {
      const std::string definition = detail::str(f->get_object(), "definition");
      const std::string syntax = detail::str(f->get_object(), "syntax");
      if (!definition.empty()) {
        description += "\n\nFormat:\n```" + syntax + "\n" + definition + "\n```\n";
      }
    }
  }
  return json::object{{"name", tool.name},
                      {"description", std::move(description)},
                      {"inputSchema", json::object{{"json", std::move(schema)}}}};
}

void UpstreamEncoder::encodeTools(json::object& body, std::int64_t budget) {
  json::array tools;
  for (const canonical::ToolSpec& t : req_.tools) {
    // Hosted tools of other vendors (web_search ...) cannot run on Bedrock.
    if (!t.extras.empty() && t.extras.vendor != canonical::Vendor::kBedrock) continue;
    if (t.name.empty()) continue;
    tools.push_back(json::object{{"toolSpec", toolSpec(t)}});
  }
  if (json::value* extra = extras_.if_contains("toolConfig"); extra && extra->is_object()) {
    if (json::value* list = extra->get_object().if_contains("tools"); list && list->is_array()) {
      if (!tools.empty()) {
        for (json::value& t : list->get_array()) tools.push_back(std::move(t));
      }
    }
    extras_.erase("toolConfig");
  }
  if (tools.empty() && !history_has_tools_) return;
  if (tools.empty()) {
    // Converse rejects toolUse/toolResult history without a toolConfig.
    canonical::ToolSpec dummy;
    dummy.name = kDummyTool;
    dummy.description = "Not available. Do not call this tool.";
    tools.push_back(json::object{{"toolSpec", toolSpec(dummy)}});
  }
  json::object config{{"tools", std::move(tools)}};
  using Kind = canonical::ToolChoice::Kind;
  Kind kind = req_.tool_choice.kind;
  if (budget > 0 && (kind == Kind::kRequired || kind == Kind::kNamed)) {
    kind = Kind::kAuto;  // thinking forbids forced tool use
  }
  switch (kind) {
    case Kind::kAuto:
      config["toolChoice"] = json::object{{"auto", json::object()}};
      break;
    case Kind::kRequired:
      config["toolChoice"] = json::object{{"any", json::object()}};
      break;
    case Kind::kNamed:
      config["toolChoice"] = json::object{{"tool", json::object{{"name", req_.tool_choice.name}}}};
      break;
    case Kind::kNone:  // no Converse equivalent: the model may still call (documented)
    case Kind::kUnset:
      break;
  }
  body["toolConfig"] = std::move(config);
}

Result<std::string> UpstreamEncoder::encode() {
  if (Result<void> r = collect(); !r) return r.error();
  pairToolResults();
  if (turns_.empty()) {
    Turn first;
    first.blocks.emplace_back(canonical::TextBlock{"."});
    turns_.push_back(std::move(first));
  }

  json::object body;
  json::array messages;
  for (const Turn& t : turns_) {
    messages.push_back(
        json::object{{"role", t.assistant ? "assistant" : "user"}, {"content", encodeTurn(t)}});
  }
  body["messages"] = std::move(messages);
  json::array hoisted = std::move(system_);
  system_.clear();
  for (const ContentBlock& b : req_.system) detail::encodeBlock(b, system_);
  for (json::value& v : hoisted) system_.push_back(std::move(v));
  if (!system_.empty()) body["system"] = std::move(system_);

  const std::int64_t budget = thinkingBudget(req_.reasoning);
  std::int64_t max_tokens =
      req_.max_tokens.value_or(options_.max_tokens_default.value_or(kDefaultMaxTokens));
  if (budget > 0 && max_tokens <= budget) max_tokens = budget + max_tokens;  // budget < max
  json::object inference{{"maxTokens", max_tokens}};
  if (budget == 0) {
    // Thinking fixes temperature at 1 and rejects other sampling settings.
    if (req_.temperature) inference["temperature"] = std::clamp(*req_.temperature, 0.0, 1.0);
    if (req_.top_p) inference["topP"] = std::clamp(*req_.top_p, 0.0, 1.0);
  }
  json::array stops;
  for (const std::string& s : req_.stop) {
    if (!s.empty()) stops.push_back(json::string(s));
  }
  if (!stops.empty()) inference["stopSequences"] = std::move(stops);
  if (json::value* extra = extras_.if_contains("inferenceConfig"); extra && extra->is_object()) {
    for (const auto& [k, v] : extra->get_object()) {
      if (!inference.contains(k)) inference[k] = v;
    }
    extras_.erase("inferenceConfig");
  }
  body["inferenceConfig"] = std::move(inference);

  encodeTools(body, budget);

  json::object additional;
  if (json::value* extra = extras_.if_contains("additionalModelRequestFields");
      extra && extra->is_object()) {
    additional = std::move(extra->get_object());
    extras_.erase("additionalModelRequestFields");
  }
  if (req_.top_k && budget == 0 && !additional.contains("top_k")) {
    additional["top_k"] = *req_.top_k;
  }
  if (budget > 0 && !additional.contains("thinking")) {
    additional["thinking"] = json::object{{"type", "enabled"}, {"budget_tokens", budget}};
  }
  if (!additional.empty()) body["additionalModelRequestFields"] = std::move(additional);

  if (req_.response_format.kind == canonical::ResponseFormat::Kind::kJsonSchema &&
      !extras_.contains("outputConfig")) {
    json::object schema{{"schema", req_.response_format.schema_json}};
    if (!req_.response_format.name.empty()) schema["name"] = req_.response_format.name;
    if (!req_.response_format.description.empty()) {
      schema["description"] = req_.response_format.description;
    }
    body["outputConfig"] = json::object{
        {"textFormat", json::object{{"type", "json_schema"},
                                    {"structure", json::object{{"jsonSchema", schema}}}}}};
  }
  if (req_.door == canonical::Door::kBedrockConverse && !req_.metadata.empty() &&
      !extras_.contains("requestMetadata")) {
    json::object md;
    for (const auto& [k, v] : req_.metadata) md[k] = v;
    body["requestMetadata"] = std::move(md);
  }
  for (const auto& [k, v] : extras_) {
    if (!body.contains(k)) body[k] = v;
  }
  return json::serialize(body);
}

}  // namespace

Result<std::string> encodeUpstreamRequest(const ChatRequest& request,
                                          const UpstreamRequestOptions& options) {
  UpstreamEncoder encoder(request, options);
  return encoder.encode();
}

}  // namespace basalt::api::bedrock
