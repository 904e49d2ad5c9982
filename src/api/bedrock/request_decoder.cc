// The front door's request decoder: Converse JSON -> canonical::ChatRequest (bedrock.md §1.3),
// with ValidationException-style messages naming the offending field.

#include "basalt/api/bedrock/converse_codec.h"

#include "json_util.h"

#include <boost/json/serialize.hpp>

namespace basalt::api::bedrock {

namespace json = boost::json;
using canonical::ChatRequest;
using canonical::ContentBlock;
using canonical::Message;
using canonical::Role;
using detail::invalid;

namespace {

constexpr std::size_t kMaxExtrasBytes = 1 << 20;
constexpr std::size_t kMaxStopSequences = 2500;

std::string constraint(std::string_view path, std::string_view what) {
  return "1 validation error detected: Value at '" + std::string(path) +
         "' failed to satisfy constraint: " + std::string(what);
}

Error wrongType(std::string_view path, std::string_view expected) {
  return invalid(constraint(path, "Member must be " + std::string(expected)), std::string(path));
}

bool validToolName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

class RequestDecoder {
 public:
  RequestDecoder(std::string model, bool stream) {
    req_.model = std::move(model);
    req_.door = canonical::Door::kBedrockConverse;
    req_.stream = stream;
  }

  Result<ChatRequest> decode(std::string_view body);

 private:
  Result<void> decodeMessages(const json::value& messages);
  Result<void> decodeSystem(const json::value& system);
  Result<void> decodeInferenceConfig(const json::value& config);
  Result<void> decodeToolConfig(const json::value& config);
  Result<void> decodeTool(const json::value& tool, const std::string& path);
  Result<void> decodeToolChoice(const json::value& choice);
  Result<void> decodeAdditionalFields(const json::value& fields);
  Result<void> decodeRequestMetadata(const json::value& metadata);
  Result<void> addExtra(std::string_view key, json::value v);

  ChatRequest req_;
  json::object extras_;
  json::array extra_tools_;  ///< toolConfig.tools entries Basalt does not model (cachePoint ...)
  std::size_t extras_bytes_ = 0;
};

Result<void> RequestDecoder::addExtra(std::string_view key, json::value v) {
  extras_bytes_ += key.size() + json::serialize(v).size() + 4;
  if (extras_bytes_ > kMaxExtrasBytes) {
    return invalid("Unrecognized request fields are too large: together they exceed " +
                       std::to_string(kMaxExtrasBytes) + " bytes.",
                   std::string(key));
  }
  extras_[key] = std::move(v);
  return {};
}

Result<ChatRequest> RequestDecoder::decode(std::string_view body) {
  std::optional<json::value> parsed = detail::parseJson(body);
  if (!parsed || !parsed->is_object()) {
    return invalid("Malformed input request, please reformat your input and try again.", {});
  }
  const json::object& o = parsed->get_object();
  bool saw_messages = false;
  for (const auto& [key, value] : o) {
    if (value.is_null()) continue;  // restJson1: null members are absent
    Result<void> r;
    if (key == "messages") {
      saw_messages = true;
      r = decodeMessages(value);
    } else if (key == "system") {
      r = decodeSystem(value);
    } else if (key == "inferenceConfig") {
      r = decodeInferenceConfig(value);
    } else if (key == "toolConfig") {
      r = decodeToolConfig(value);
    } else if (key == "additionalModelRequestFields") {
      r = decodeAdditionalFields(value);
    } else if (key == "requestMetadata") {
      r = decodeRequestMetadata(value);
    } else {
      // guardrailConfig, additionalModelResponseFieldPaths, performanceConfig, serviceTier,
      // outputConfig, promptVariables ...: passed through to a Bedrock provider untouched.
      r = addExtra(key, value);
    }
    if (!r) return r.error();
  }
  if (!saw_messages) {
    return invalid(constraint("messages", "Member must not be null"), "messages");
  }
  if (!extra_tools_.empty()) {
    Result<void> r = addExtra("toolConfig", json::object{{"tools", std::move(extra_tools_)}});
    if (!r) return r.error();
  }
  if (!extras_.empty()) {
    req_.extras.vendor = canonical::Vendor::kBedrock;
    req_.extras.json = json::serialize(extras_);
  }
  return std::move(req_);
}

Result<void> RequestDecoder::decodeMessages(const json::value& messages) {
  if (!messages.is_array()) return wrongType("messages", "a list");
  const json::array& list = messages.get_array();
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string path = "messages." + std::to_string(i + 1);  // AWS paths count from 1
    if (!list[i].is_object()) return wrongType(path, "a structure");
    const json::object& m = list[i].get_object();
    Message msg;
    const json::value* role = m.if_contains("role");
    if (role == nullptr || !role->is_string()) {
      return invalid(constraint(path + ".role", "Member must not be null"), path + ".role");
    }
    if (role->get_string() == "user") {
      msg.role = Role::kUser;
    } else if (role->get_string() == "assistant") {
      msg.role = Role::kAssistant;
    } else {
      return invalid(
          constraint(path + ".role", "Member must satisfy enum value set: [user, assistant]"),
          path + ".role");
    }
    const json::value* content = m.if_contains("content");
    if (content == nullptr || content->is_null()) {
      return invalid(constraint(path + ".content", "Member must not be null"), path + ".content");
    }
    if (Result<void> r = detail::decodeContent(*content, path + ".content", msg.content); !r) {
      return r.error();
    }
    for (std::size_t b = 0; b < msg.content.size(); ++b) {
      const ContentBlock& block = msg.content[b];
      const std::string bpath = path + ".content." + std::to_string(b + 1);
      if (msg.role == Role::kAssistant &&
          std::holds_alternative<canonical::ToolResultBlock>(block)) {
        return invalid(
            "A conversation must alternate between user and assistant roles; "
            "toolResult blocks belong in a user message (" +
                bpath + ").",
            bpath);
      }
      if (msg.role == Role::kUser && (std::holds_alternative<canonical::ToolUseBlock>(block) ||
                                      std::holds_alternative<canonical::ReasoningBlock>(block))) {
        return invalid(
            "toolUse and reasoningContent blocks belong in an assistant message (" + bpath + ").",
            bpath);
      }
      if (const auto* text = std::get_if<canonical::TextBlock>(&block);
          text != nullptr && text->text.empty()) {
        return invalid("The text field in the ContentBlock object at " + bpath +
                           " is blank. Add text to the text field, and try again.",
                       bpath);
      }
    }
    json::object rest;
    for (const auto& [k, v] : m) {
      if (k != "role" && k != "content") rest[k] = v;
    }
    if (!rest.empty()) msg.extras = {canonical::Vendor::kBedrock, json::serialize(rest)};
    req_.messages.push_back(std::move(msg));
  }
  if (req_.messages.empty()) {
    return invalid(constraint("messages", "Member must have length greater than or equal to 1"),
                   "messages");
  }
  if (req_.messages.front().role != Role::kUser) {
    return invalid(
        "A conversation must start with a user message. Try again with a "
        "conversation that starts with a user message.",
        "messages");
  }
  for (std::size_t i = 1; i < req_.messages.size(); ++i) {
    if (req_.messages[i].role == req_.messages[i - 1].role) {
      return invalid(
          "A conversation must alternate between user and assistant roles. Make "
          "sure the conversation alternates between user and assistant roles and "
          "try again.",
          "messages." + std::to_string(i + 1));
    }
  }
  return {};
}

Result<void> RequestDecoder::decodeSystem(const json::value& system) {
  if (!system.is_array()) return wrongType("system", "a list");
  if (Result<void> r = detail::decodeContent(system, "system", req_.system); !r) return r.error();
  for (std::size_t i = 0; i < req_.system.size(); ++i) {
    const ContentBlock& b = req_.system[i];
    const std::string path = "system." + std::to_string(i + 1);
    if (const auto* text = std::get_if<canonical::TextBlock>(&b)) {
      if (text->text.empty()) {
        return invalid("The text field in the SystemContentBlock object at " + path +
                           " is blank. Add text to the text field, and try again.",
                       path);
      }
    } else if (!std::holds_alternative<canonical::OpaqueBlock>(b)) {
      return invalid(constraint(path, "Member must be one of text, guardContent, cachePoint"),
                     path);
    }
  }
  return {};
}

Result<void> RequestDecoder::decodeInferenceConfig(const json::value& config) {
  if (!config.is_object()) return wrongType("inferenceConfig", "a structure");
  json::object unknown;
  for (const auto& [key, v] : config.get_object()) {
    const std::string path = "inferenceConfig." + std::string(key);
    if (v.is_null()) continue;
    if (key == "maxTokens") {
      std::optional<std::int64_t> n = detail::asInt(v);
      if (!n) return wrongType(path, "an integer");
      if (*n < 1) {
        return invalid(constraint(path, "Member must have value greater than or equal to 1"), path);
      }
      req_.max_tokens = *n;
    } else if (key == "temperature" || key == "topP") {
      if (!v.is_number()) return wrongType(path, "a number");
      const double d = v.to_number<double>();
      if (!(d >= 0.0 && d <= 1.0)) {
        return invalid(constraint(path, "Member must have value between 0 and 1"), path);
      }
      (key == "temperature" ? req_.temperature : req_.top_p) = d;
    } else if (key == "stopSequences") {
      if (!v.is_array()) return wrongType(path, "a list");
      if (v.get_array().size() > kMaxStopSequences) {
        return invalid(constraint(path, "Member must have length less than or equal to 2500"),
                       path);
      }
      for (const json::value& s : v.get_array()) {
        if (!s.is_string() || s.get_string().empty()) {
          return invalid(constraint(path, "Member must be a list of non-empty strings"), path);
        }
        req_.stop.emplace_back(s.get_string());
      }
    } else {
      unknown[key] = v;
    }
  }
  if (!unknown.empty()) return addExtra("inferenceConfig", std::move(unknown));
  return {};
}

Result<void> RequestDecoder::decodeTool(const json::value& tool, const std::string& path) {
  Result<std::string_view> key = detail::unionKey(tool, path);
  if (!key) return key.error();
  if (*key != "toolSpec") {
    extra_tools_.push_back(tool);  // cachePoint, systemTool: only a Bedrock provider knows them
    return {};
  }
  const json::value& spec_v = tool.get_object().at("toolSpec");
  const std::string spath = path + ".toolSpec";
  if (!spec_v.is_object()) return wrongType(spath, "a structure");
  const json::object& spec = spec_v.get_object();
  canonical::ToolSpec t;
  t.name = detail::str(spec, "name");
  if (!validToolName(t.name)) {
    return invalid(constraint(spath + ".name",
                              "Member must satisfy regular expression pattern: "
                              "[a-zA-Z0-9_-]+ and have length between 1 and 64"),
                   spath + ".name");
  }
  t.description = detail::str(spec, "description");
  const json::value* schema = spec.if_contains("inputSchema");
  if (schema == nullptr || schema->is_null()) {
    return invalid(constraint(spath + ".inputSchema", "Member must not be null"),
                   spath + ".inputSchema");
  }
  Result<std::string_view> skey = detail::unionKey(*schema, spath + ".inputSchema");
  if (!skey) return skey.error();
  const json::value& json_schema = schema->get_object().begin()->value();
  if (*skey != "json" || !json_schema.is_object()) {
    return invalid(constraint(spath + ".inputSchema", "Member json must be a JSON object"),
                   spath + ".inputSchema");
  }
  t.parameters_json = json::serialize(json_schema);
  if (const json::value* strict = spec.if_contains("strict"); strict && strict->is_bool()) {
    t.strict = strict->get_bool();
  }
  req_.tools.push_back(std::move(t));
  return {};
}

Result<void> RequestDecoder::decodeToolChoice(const json::value& choice) {
  Result<std::string_view> key = detail::unionKey(choice, "toolConfig.toolChoice");
  if (!key) return key.error();
  if (*key == "auto") {
    req_.tool_choice.kind = canonical::ToolChoice::Kind::kAuto;
  } else if (*key == "any") {
    req_.tool_choice.kind = canonical::ToolChoice::Kind::kRequired;
  } else if (*key == "tool") {
    const json::value& t = choice.get_object().at("tool");
    if (!t.is_object() || detail::str(t.get_object(), "name").empty()) {
      return invalid(constraint("toolConfig.toolChoice.tool.name", "Member must not be null"),
                     "toolConfig.toolChoice.tool.name");
    }
    req_.tool_choice.kind = canonical::ToolChoice::Kind::kNamed;
    req_.tool_choice.name = detail::str(t.get_object(), "name");
  } else {
    return invalid(constraint("toolConfig.toolChoice", "Member must be one of auto, any, tool"),
                   "toolConfig.toolChoice");
  }
  return {};
}

Result<void> RequestDecoder::decodeToolConfig(const json::value& config) {
  if (!config.is_object()) return wrongType("toolConfig", "a structure");
  const json::object& c = config.get_object();
  const json::value* tools = c.if_contains("tools");
  if (tools == nullptr || !tools->is_array() || tools->get_array().empty()) {
    return invalid(constraint("toolConfig.tools",
                              "Member must have length greater than or "
                              "equal to 1"),
                   "toolConfig.tools");
  }
  for (std::size_t i = 0; i < tools->get_array().size(); ++i) {
    Result<void> r = decodeTool(tools->get_array()[i], "toolConfig.tools." + std::to_string(i + 1));
    if (!r) return r.error();
  }
  if (const json::value* choice = c.if_contains("toolChoice"); choice && !choice->is_null()) {
    if (Result<void> r = decodeToolChoice(*choice); !r) return r.error();
    if (req_.tool_choice.kind == canonical::ToolChoice::Kind::kNamed) {
      bool found = false;
      for (const canonical::ToolSpec& t : req_.tools)
        found = found || t.name == req_.tool_choice.name;
      if (!found) {
        return invalid("The tool named in toolChoice (" + req_.tool_choice.name +
                           ") is not in toolConfig.tools.",
                       "toolConfig.toolChoice.tool.name");
      }
    }
  }
  return {};
}

Result<void> RequestDecoder::decodeAdditionalFields(const json::value& fields) {
  if (!fields.is_object()) return wrongType("additionalModelRequestFields", "a JSON object");
  json::object rest = fields.get_object();
  // top_k and Anthropic thinking have canonical homes, so other providers honour them too.
  if (const json::value* k = rest.if_contains("top_k")) {
    if (std::optional<std::int64_t> n = detail::asInt(*k); n && *n >= 0) {
      req_.top_k = *n;
      rest.erase("top_k");
    }
  }
  if (const json::value* thinking = rest.if_contains("thinking");
      thinking && thinking->is_object()) {
    const json::object& t = thinking->get_object();
    const std::string type = detail::str(t, "type");
    const json::value* budget = t.if_contains("budget_tokens");
    const std::int64_t n = budget != nullptr ? detail::asInt(*budget).value_or(0) : 0;
    if (type == "enabled" && n > 0 && t.size() == 2) {
      req_.reasoning.budget_tokens = n;
      rest.erase("thinking");
    } else if (type == "disabled" && t.size() == 1) {
      req_.reasoning.effort = "none";
      rest.erase("thinking");
    }
  }
  if (!rest.empty()) return addExtra("additionalModelRequestFields", std::move(rest));
  return {};
}

Result<void> RequestDecoder::decodeRequestMetadata(const json::value& metadata) {
  if (!metadata.is_object()) return wrongType("requestMetadata", "a map");
  for (const auto& [k, v] : metadata.get_object()) {
    if (!v.is_string()) return wrongType("requestMetadata." + std::string(k), "a string");
    req_.metadata.emplace_back(std::string(k), std::string(v.get_string()));
  }
  return {};
}

}  // namespace

Result<ChatRequest> decodeRequest(std::string_view body, std::string model, bool stream) {
  RequestDecoder decoder(std::move(model), stream);
  return decoder.decode(body);
}

}  // namespace basalt::api::bedrock
