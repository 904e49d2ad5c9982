// Responses items <-> canonical messages (wire.md §1.7, §2.2, §6.2).
//
// A run of assistant-side items (reasoning, an assistant message, function/custom/local-shell
// calls, hosted-tool items) becomes ONE canonical assistant message, so that every provider
// sees one assistant turn with its tool calls; each tool output item becomes one kTool message,
// as the Chat door does.

#include "items.h"

#include <boost/json/serialize.hpp>

namespace basalt::api::openai_responses::detail {

using canonical::ContentBlock;
using canonical::Message;
using canonical::Role;

namespace {

constexpr std::size_t kMaxExtrasBytes = 1 << 20;

/// Content part types that live inside a message item (the rest of the opaque blocks Basalt
/// keeps are whole items).
bool isPartType(std::string_view type) {
  return oneOf(type, {"input_text", "output_text", "input_image", "input_file", "input_audio",
                      "refusal", "text"});
}

class ItemDecoder {
 public:
  ItemDecoder(std::vector<Message>& out, std::size_t& extras_bytes)
      : out_(out), extras_bytes_(extras_bytes) {}

  Result<void> decode(const json::array& items, const std::string& path) {
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (auto r = decodeItem(items[i], indexed(path, i)); !r) return r;
    }
    return {};
  }

 private:
  Result<void> decodeItem(const json::value& v, const std::string& p);
  Result<void> decodeMessage(const json::object& o, const std::string& p);
  Result<ContentBlock> decodePart(const json::value& v, const std::string& p, Role role);
  Result<void> decodeCall(const json::object& o, std::string_view type, const std::string& p);
  Result<void> decodeOutput(const json::object& o, std::string_view type, const std::string& p);
  Result<void> decodeReasoning(const json::object& o, const std::string& p);

  /// The open assistant message (a new one when the last message is not an assistant's).
  Message& assistant() {
    if (!assistant_open_) {
      Message m;
      m.role = Role::kAssistant;
      out_.push_back(std::move(m));
      assistant_open_ = true;
      assistant_has_message_ = false;
    }
    return out_.back();
  }
  void closeAssistant() { assistant_open_ = false; }

  Result<void> countExtras(const std::string& json, const std::string& p) {
    extras_bytes_ += json.size();
    if (extras_bytes_ > kMaxExtrasBytes) {
      return Error::invalid("Unrecognized request fields are too large: together they exceed " +
                                std::to_string(kMaxExtrasBytes) + " bytes.",
                            p, "request_too_large");
    }
    return {};
  }

  std::vector<Message>& out_;
  std::size_t& extras_bytes_;
  bool assistant_open_ = false;
  bool assistant_has_message_ = false;  ///< the open assistant message holds a message item
};

Result<void> ItemDecoder::decodeItem(const json::value& v, const std::string& p) {
  if (!v.is_object()) return invalidType(p, "an object", v);
  const json::object& o = v.get_object();
  auto type_r = optString(o, "type", p + ".type");
  if (!type_r) return type_r.error();
  std::string type = type_r->value_or("");
  if (type.empty()) {
    // A {role, content} object without a type is a message (EasyInputMessage).
    if (field(o, "role") == nullptr) return missing(p + ".type");
    type = "message";
  }
  if (type == "message") return decodeMessage(o, p);
  if (type == "function_call" || type == "custom_tool_call" || type == "local_shell_call") {
    return decodeCall(o, type, p);
  }
  if (type == "function_call_output" || type == "custom_tool_call_output" ||
      type == "local_shell_call_output") {
    return decodeOutput(o, type, p);
  }
  if (type == "reasoning") return decodeReasoning(o, p);
  if (type == "item_reference") {
    return Error::invalid(
        "Invalid '" + p +
            "': item references are not supported by this gateway; send the item itself.",
        p + ".type", "unsupported_value");
  }
  // Hosted-tool items (web_search_call, mcp_call, computer_call_output ... and the ones OpenAI
  // adds next, which follow the same *_call / *_output naming) and compaction summaries: kept
  // whole for an OpenAI Responses upstream, invisible to other providers (Codex itself keeps
  // such items and ignores them). Any other type is a client error, not something to drop.
  const bool hosted = type.ends_with("_call") || type.ends_with("_output") ||
                      type == "compaction" || type == "compaction_summary" ||
                      type == "mcp_list_tools" || type == "mcp_approval_request" ||
                      type == "mcp_approval_response";
  if (!hosted) {
    return Error::invalid("Invalid value for '" + p + ".type': '" + std::string(type).substr(0, 64) +
                              "' is not a Responses input item type.",
                          p + ".type", "invalid_value");
  }
  std::string raw = json::serialize(o);
  if (auto r = countExtras(raw, p); !r) return r;
  assistant().content.emplace_back(canonical::OpaqueBlock{canonical::Vendor::kOpenAI, raw});
  return {};
}

Result<void> ItemDecoder::decodeMessage(const json::object& o, const std::string& p) {
  const json::value* role_v = field(o, "role");
  if (role_v == nullptr) return missing(p + ".role");
  if (!role_v->is_string()) return invalidType(p + ".role", "a string", *role_v);
  const std::string_view role = role_v->get_string();
  Role r = Role::kUser;
  if (role == "user") {
    r = Role::kUser;
  } else if (role == "assistant") {
    r = Role::kAssistant;
  } else if (role == "system") {
    r = Role::kSystem;
  } else if (role == "developer") {
    r = Role::kDeveloper;
  } else {
    return invalidValue(p + ".role", role, {"user", "assistant", "system", "developer"});
  }
  const json::value* content = field(o, "content");
  if (content == nullptr) return missing(p + ".content");

  Message scratch;
  scratch.role = r;
  if (content->is_string()) {
    scratch.content_was_string = true;
    if (!(r == Role::kAssistant && content->get_string().empty())) {
      scratch.content.emplace_back(canonical::TextBlock{std::string(content->get_string())});
    }
  } else if (content->is_array()) {
    const json::array& parts = content->get_array();
    for (std::size_t j = 0; j < parts.size(); ++j) {
      auto block = decodePart(parts[j], indexed(p + ".content", j), r);
      if (!block) return block.error();
      scratch.content.push_back(std::move(*block));
    }
  } else {
    return invalidType(p + ".content", "a string or an array", *content);
  }

  json::object extras;
  for (const auto& [key, value] : o) {
    if (key == "type" || key == "role" || key == "content") continue;
    extras[key] = value;
  }
  if (!extras.empty()) {
    scratch.extras = {canonical::Vendor::kOpenAI, json::serialize(extras)};
    if (auto res = countExtras(scratch.extras.json, p); !res) return res;
  }

  if (r != Role::kAssistant) {
    closeAssistant();
    out_.push_back(std::move(scratch));
    return {};
  }
  // An assistant message joins the open assistant turn unless that turn already has one.
  if (assistant_open_ && assistant_has_message_) closeAssistant();
  Message& m = assistant();
  assistant_has_message_ = true;
  m.content_was_string = scratch.content_was_string;
  m.extras = std::move(scratch.extras);
  for (ContentBlock& b : scratch.content) m.content.push_back(std::move(b));
  return {};
}

Result<ContentBlock> ItemDecoder::decodePart(const json::value& v, const std::string& p,
                                             Role role) {
  if (!v.is_object()) return invalidType(p, "an object", v);
  const json::object& part = v.get_object();
  auto type_r = optString(part, "type", p + ".type");
  if (!type_r) return type_r.error();
  if (!*type_r) return missing(p + ".type");
  const std::string& type = **type_r;
  if (type == "input_text" || type == "output_text" || type == "text") {
    auto text = optString(part, "text", p + ".text");
    if (!text) return text.error();
    if (!*text) return missing(p + ".text");
    return ContentBlock{canonical::TextBlock{std::move(**text)}};
  }
  if (type == "input_image" && role != Role::kAssistant) {
    auto url = optString(part, "image_url", p + ".image_url");
    if (!url) return url.error();
    auto detail = optString(part, "detail", p + ".detail");
    if (!detail) return detail.error();
    if (*detail && !oneOf(**detail, {"low", "high", "auto"})) {
      return invalidValue(p + ".detail", **detail, {"low", "high", "auto"});
    }
    if (!*url) {
      // file_id images reference OpenAI's file store: only an OpenAI upstream can use them.
      if (field(part, "file_id") == nullptr) return missing(p + ".image_url");
      return ContentBlock{
          canonical::OpaqueBlock{canonical::Vendor::kOpenAI, json::serialize(part)}};
    }
    return ContentBlock{imageFromUrl(std::move(**url), detail->value_or(""))};
  }
  if (type == "refusal") {
    if (field(part, "refusal") == nullptr) return missing(p + ".refusal");
    return ContentBlock{canonical::OpaqueBlock{canonical::Vendor::kOpenAI, json::serialize(part)}};
  }
  if (type == "input_file" || type == "input_audio") {
    return ContentBlock{canonical::OpaqueBlock{canonical::Vendor::kOpenAI, json::serialize(part)}};
  }
  if (role == Role::kAssistant) return invalidValue(p + ".type", type, {"output_text", "refusal"});
  return invalidValue(p + ".type", type, {"input_text", "input_image", "input_file"});
}

Result<void> ItemDecoder::decodeCall(const json::object& o, std::string_view type,
                                     const std::string& p) {
  canonical::ToolUseBlock call;
  auto call_id = optString(o, "call_id", p + ".call_id");
  if (!call_id) return call_id.error();
  if (type == "local_shell_call") {
    // Older Codex builds carry the join key in `id` only.
    if (!*call_id) {
      call_id = optString(o, "id", p + ".id");
      if (!call_id) return call_id.error();
    }
    if (!*call_id) return missing(p + ".call_id");
    const json::value* action = field(o, "action");
    if (action == nullptr) return missing(p + ".action");
    if (!action->is_object()) return invalidType(p + ".action", "an object", *action);
    call.id = std::move(**call_id);
    call.name = "local_shell";
    call.input_json = json::serialize(*action);
    assistant().content.emplace_back(std::move(call));
    return {};
  }
  if (!*call_id) return missing(p + ".call_id");
  call.id = std::move(**call_id);
  auto name = optString(o, "name", p + ".name");
  if (!name) return name.error();
  if (!*name) return missing(p + ".name");
  call.name = std::move(**name);
  if (type == "custom_tool_call") {
    auto input = optString(o, "input", p + ".input");
    if (!input) return input.error();
    if (!*input) return missing(p + ".input");
    call.kind = canonical::ToolKind::kCustom;
    call.input_json = customInputJson(**input);
  } else {
    const json::value* args = field(o, "arguments");
    if (args == nullptr) return missing(p + ".arguments");
    if (args->is_string()) {
      call.input_json = std::string(args->get_string());  // verbatim, even if not JSON
    } else if (args->is_object()) {
      call.input_json = json::serialize(*args);
    } else {
      return invalidType(p + ".arguments", "a string", *args);
    }
    if (call.input_json.empty()) call.input_json = "{}";
  }
  assistant().content.emplace_back(std::move(call));
  return {};
}

Result<void> ItemDecoder::decodeOutput(const json::object& o, std::string_view type,
                                       const std::string& p) {
  closeAssistant();
  canonical::ToolResultBlock result;
  auto call_id = optString(o, "call_id", p + ".call_id");
  if (!call_id) return call_id.error();
  if (!*call_id && type == "local_shell_call_output") {
    call_id = optString(o, "id", p + ".id");
    if (!call_id) return call_id.error();
  }
  if (!*call_id) return missing(p + ".call_id");
  result.tool_use_id = std::move(**call_id);
  const json::value* output = field(o, "output");
  if (output == nullptr) return missing(p + ".output");
  Message m;
  m.role = Role::kTool;
  if (output->is_string()) {
    m.content_was_string = true;
    result.content.emplace_back(canonical::TextBlock{std::string(output->get_string())});
  } else if (output->is_array()) {
    const json::array& parts = output->get_array();
    for (std::size_t j = 0; j < parts.size(); ++j) {
      const std::string pp = indexed(p + ".output", j);
      if (!parts[j].is_object()) return invalidType(pp, "an object", parts[j]);
      const json::object& part = parts[j].get_object();
      const std::string ptype = str(part, "type");
      if (ptype == "input_text" || ptype == "output_text" || ptype == "text") {
        auto text = optString(part, "text", pp + ".text");
        if (!text) return text.error();
        result.content.emplace_back(canonical::TextBlock{text->value_or("")});
      } else if (ptype == "input_image") {
        auto url = optString(part, "image_url", pp + ".image_url");
        if (!url) return url.error();
        if (!*url) return missing(pp + ".image_url");
        auto detail = optString(part, "detail", pp + ".detail");
        if (!detail) return detail.error();
        result.content.emplace_back(imageFromUrl(std::move(**url), detail->value_or("")));
      } else {
        // A file in a tool result has no canonical form; dropping it would change what the
        // model is told.
        return invalidValue(pp + ".type", ptype, {"input_text", "input_image"});
      }
    }
  } else {
    return invalidType(p + ".output", "a string or an array", *output);
  }
  m.content.emplace_back(std::move(result));
  out_.push_back(std::move(m));
  return {};
}

Result<void> ItemDecoder::decodeReasoning(const json::object& o, const std::string& p) {
  canonical::ReasoningBlock block;
  auto id = optString(o, "id", p + ".id");
  if (!id) return id.error();
  block.id = id->value_or("");
  std::string text;
  if (const json::value* summary = field(o, "summary")) {
    if (!summary->is_array()) return invalidType(p + ".summary", "an array", *summary);
    for (const json::value& s : summary->get_array()) {
      if (!s.is_object()) continue;
      const std::string t = str(s.get_object(), "text");
      if (t.empty()) continue;
      if (!text.empty()) text += "\n\n";
      text += t;
    }
  }
  if (text.empty()) {
    if (const json::value* content = field(o, "content"); content && content->is_array()) {
      for (const json::value& s : content->get_array()) {
        if (s.is_object()) text += str(s.get_object(), "text");
      }
    }
  }
  block.text = std::move(text);
  auto encrypted = optString(o, "encrypted_content", p + ".encrypted_content");
  if (!encrypted) return encrypted.error();
  if (*encrypted) restoreEncryptedContent(**encrypted, block);
  // Reasoning joins the open assistant turn (interleaved thinking between calls included).
  assistant().content.emplace_back(std::move(block));
  return {};
}

// ---- encoding ----

json::object textPart(std::string_view type, const std::string& text) {
  return json::object{{"type", type}, {"text", text}};
}

class ItemEncoder {
 public:
  ItemEncoder(bool faithful, const std::vector<canonical::ToolUseBlock>& calls, bool stored)
      : faithful_(faithful), stored_(stored), calls_(calls) {}

  json::array encode(const std::vector<Message>& messages) {
    for (const Message& m : messages) encodeMessage(m);
    return std::move(items_);
  }

 private:
  void encodeMessage(const Message& m);
  void encodeAssistant(const Message& m);
  void encodeToolResult(const canonical::ToolResultBlock& r, bool was_string);
  void flushAssistantMessage(const Message& m);
  bool customCall(const std::string& id) const {
    for (const canonical::ToolUseBlock& c : calls_) {
      if (c.id == id) return c.kind == canonical::ToolKind::kCustom;
    }
    return false;
  }
  void pushMessage(json::object item, const Message& m) {
    if (faithful_) mergeMissing(item, m.extras);
    items_.push_back(std::move(item));
  }

  bool faithful_;
  bool stored_;
  const std::vector<canonical::ToolUseBlock>& calls_;
  json::array items_;
  json::array pending_parts_;  ///< output_text/refusal parts of the assistant message being built
  bool assistant_extras_used_ = false;
};

void ItemEncoder::encodeMessage(const Message& m) {
  switch (m.role) {
    case Role::kSystem:
    case Role::kDeveloper:
    case Role::kUser: {
      json::array parts;
      std::size_t texts = 0;
      for (const ContentBlock& b : m.content) {
        if (const auto* r = std::get_if<canonical::ToolResultBlock>(&b)) {
          encodeToolResult(*r, false);  // Anthropic/Bedrock style: results first, as items
        } else if (const auto* t = std::get_if<canonical::TextBlock>(&b)) {
          parts.push_back(textPart("input_text", t->text));
          ++texts;
        } else if (const auto* i = std::get_if<canonical::ImageBlock>(&b)) {
          if (m.role != Role::kUser) continue;
          json::object img{{"type", "input_image"}, {"image_url", imageUrl(*i)}};
          img["detail"] = i->detail.empty() ? std::string("auto") : i->detail;
          parts.push_back(std::move(img));
        } else if (const auto* o = std::get_if<canonical::OpaqueBlock>(&b)) {
          if (o->vendor != canonical::Vendor::kOpenAI) continue;
          auto v = parseJson(o->json);
          if (v && v->is_object() && isPartType(str(v->get_object(), "type"))) {
            parts.push_back(std::move(*v));
          }
        }
      }
      if (parts.empty()) return;
      json::object item{{"type", "message"}, {"role", canonical::roleName(m.role)}};
      if (m.content_was_string && texts == 1 && parts.size() == 1) {
        item["content"] = parts[0].get_object().at("text");
      } else {
        item["content"] = std::move(parts);
      }
      pushMessage(std::move(item), m);
      return;
    }
    case Role::kAssistant:
      encodeAssistant(m);
      return;
    case Role::kTool:
      for (const ContentBlock& b : m.content) {
        if (const auto* r = std::get_if<canonical::ToolResultBlock>(&b)) {
          encodeToolResult(*r, m.content_was_string);
        }
      }
      return;
  }
}

void ItemEncoder::flushAssistantMessage(const Message& m) {
  if (pending_parts_.empty()) return;
  json::object item{{"type", "message"}, {"role", "assistant"}};
  if (m.content_was_string && pending_parts_.size() == 1 &&
      str(pending_parts_[0].get_object(), "type") == "output_text") {
    item["content"] = pending_parts_[0].get_object().at("text");
  } else {
    item["content"] = std::move(pending_parts_);
  }
  pending_parts_ = json::array();
  if (faithful_ && !assistant_extras_used_) {
    mergeMissing(item, m.extras);
    assistant_extras_used_ = true;
  }
  items_.push_back(std::move(item));
}

void ItemEncoder::encodeAssistant(const Message& m) {
  assistant_extras_used_ = false;
  for (const ContentBlock& b : m.content) {
    if (const auto* t = std::get_if<canonical::TextBlock>(&b)) {
      if (!t->text.empty()) pending_parts_.push_back(textPart("output_text", t->text));
    } else if (const auto* o = std::get_if<canonical::OpaqueBlock>(&b)) {
      if (o->vendor != canonical::Vendor::kOpenAI) continue;
      auto v = parseJson(o->json);
      if (!v || !v->is_object()) continue;
      if (isPartType(str(v->get_object(), "type"))) {
        pending_parts_.push_back(std::move(*v));
      } else {
        flushAssistantMessage(m);
        items_.push_back(std::move(*v));  // a whole item (web_search_call, compaction ...)
      }
    } else if (const auto* r = std::get_if<canonical::ReasoningBlock>(&b)) {
      // OpenAI can only use its own reasoning: ciphertext it issued, or (re-sent by a client
      // of this door) an item with no foreign signature.
      const bool foreign = !r->signature.empty() || !r->redacted_data.empty();
      if (!stored_ && r->encrypted.empty() && (!faithful_ || foreign)) continue;
      flushAssistantMessage(m);
      json::object item{{"type", "reasoning"}};
      if (faithful_ && !r->id.empty()) item["id"] = r->id;
      json::array summary;
      if (!r->text.empty()) summary.push_back(textPart("summary_text", r->text));
      item["summary"] = std::move(summary);
      const std::string encrypted = stored_ ? encryptedContentOf(*r) : r->encrypted;
      if (!encrypted.empty()) item["encrypted_content"] = encrypted;
      items_.push_back(std::move(item));
    } else if (const auto* c = std::get_if<canonical::ToolUseBlock>(&b)) {
      flushAssistantMessage(m);
      if (c->kind == canonical::ToolKind::kCustom) {
        items_.push_back(json::object{{"type", "custom_tool_call"},
                                      {"call_id", c->id},
                                      {"name", c->name},
                                      {"input", customInput(c->input_json)}});
        continue;
      }
      if (c->name == "local_shell") {
        auto action = parseJson(c->input_json);
        if (action && action->is_object() && str(action->get_object(), "type") == "exec") {
          items_.push_back(json::object{{"type", "local_shell_call"},
                                        {"call_id", c->id},
                                        {"status", "completed"},
                                        {"action", std::move(*action)}});
          continue;
        }
      }
      items_.push_back(json::object{{"type", "function_call"},
                                    {"call_id", c->id},
                                    {"name", c->name},
                                    {"arguments", c->input_json.empty() ? "{}" : c->input_json}});
    }
  }
  flushAssistantMessage(m);
}

void ItemEncoder::encodeToolResult(const canonical::ToolResultBlock& r, bool was_string) {
  const bool custom = customCall(r.tool_use_id);
  bool has_image = false;
  std::size_t texts = 0;
  std::string joined;
  for (const canonical::ToolResultPart& part : r.content) {
    if (const auto* t = std::get_if<canonical::TextBlock>(&part)) {
      if (texts++ > 0) joined += "\n";
      joined += t->text;
    } else {
      has_image = true;
    }
  }
  json::object item{{"type", custom ? "custom_tool_call_output" : "function_call_output"},
                    {"call_id", r.tool_use_id}};
  // A plain string whenever it says the same thing: every server accepts it.
  if (custom || (!has_image && (was_string || texts <= 1 || !faithful_))) {
    item["output"] = std::move(joined);
  } else {
    json::array parts;
    for (const canonical::ToolResultPart& part : r.content) {
      if (const auto* t = std::get_if<canonical::TextBlock>(&part)) {
        parts.push_back(textPart("input_text", t->text));
      } else if (const auto* i = std::get_if<canonical::ImageBlock>(&part)) {
        json::object img{{"type", "input_image"}, {"image_url", imageUrl(*i)}};
        if (!i->detail.empty()) img["detail"] = i->detail;
        parts.push_back(std::move(img));
      }
    }
    item["output"] = std::move(parts);
  }
  items_.push_back(std::move(item));
}

}  // namespace

Result<void> decodeItems(const json::array& items, const std::string& path,
                         std::vector<Message>& out, std::size_t& extras_bytes) {
  return ItemDecoder(out, extras_bytes).decode(items, path);
}

json::array encodeItems(const std::vector<Message>& messages, bool faithful,
                        const std::vector<canonical::ToolUseBlock>& calls, bool stored) {
  return ItemEncoder(faithful, calls, stored).encode(messages);
}

std::vector<canonical::ToolUseBlock> collectCalls(const std::vector<Message>& messages,
                                                  const std::vector<ContentBlock>* extra) {
  std::vector<canonical::ToolUseBlock> calls;
  auto scan = [&](const std::vector<ContentBlock>& content) {
    for (const ContentBlock& b : content) {
      if (const auto* c = std::get_if<canonical::ToolUseBlock>(&b)) calls.push_back(*c);
    }
  };
  for (const Message& m : messages) scan(m.content);
  if (extra != nullptr) scan(*extra);
  return calls;
}

}  // namespace basalt::api::openai_responses::detail
