#include "basalt/audit/audit_event.h"

#include "basalt/audit/rfc3339.h"
#include "basalt/core/ids.h"
#include "canonical_json.h"

#include <boost/container/small_vector.hpp>

#include <algorithm>
#include <vector>

namespace basalt::audit {

std::string newEventId() {
  std::string raw = secureRandomBytes(16);
  raw[6] = static_cast<char>((static_cast<unsigned char>(raw[6]) & 0x0FU) | 0x40U);
  raw[8] = static_cast<char>((static_cast<unsigned char>(raw[8]) & 0x3FU) | 0x80U);
  const std::string hex = hexEncode(raw);
  return hex.substr(0, 8) + '-' + hex.substr(8, 4) + '-' + hex.substr(12, 4) + '-' +
         hex.substr(16, 4) + '-' + hex.substr(20);
}

std::int64_t eventTimeMs(const AuditEvent& event) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(event.event_time.time_since_epoch())
      .count();
}

std::string PreparedRecord::withSeq(std::uint64_t seq) const {
  std::string out;
  out.reserve(head.size() + tail.size() + 20);
  out += head;
  out += std::to_string(seq);
  out += tail;
  return out;
}

std::string canonicalRecord(const AuditEvent& event, std::uint64_t seq) {
  return prepareRecord(event).withSeq(seq);
}

namespace {

/// The members of one JSON object in canonical form, added in any order and written sorted by
/// key (byte order, as appendCanonicalJson sorts a json::object). Adding a key again replaces
/// its value, as assigning into a json::object did. Values are kept as canonical text, so a
/// record costs a few small strings instead of a JSON tree (this runs on every request).
class CanonicalObject {
 public:
  void text(std::string_view key, std::string value_text) {
    for (auto& [k, v] : members_) {
      if (k == key) {
        v = std::move(value_text);
        return;
      }
    }
    members_.emplace_back(key, std::move(value_text));
  }
  void string(std::string_view key, std::string_view value) {
    std::string t;
    t.reserve(value.size() + 2);
    appendCanonicalString(value, t);
    text(key, std::move(t));
  }
  template <class Int>
  void integer(std::string_view key, Int value) {
    text(key, std::to_string(value));
  }
  void boolean(std::string_view key, bool value) { text(key, value ? "true" : "false"); }
  bool empty() const { return members_.empty(); }

  /// The object's text. With `split`, the text before member `split_key` (whose value the
  /// caller supplies later) goes to `out`, and the rest to `*split`.
  void write(std::string& out, std::string_view split_key = {}, std::string* split = nullptr) {
    std::sort(members_.begin(), members_.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    std::string* text = &out;
    text->push_back('{');
    bool first = true;
    const auto member = [&](std::string_view key) {
      if (!first) text->push_back(',');
      first = false;
      appendCanonicalString(key, *text);
      text->push_back(':');
    };
    bool split_done = split == nullptr;
    for (const auto& [key, value] : members_) {
      if (!split_done && key > split_key) {
        member(split_key);
        text = split;
        split_done = true;
      }
      member(key);
      text->append(value);
    }
    if (!split_done) {
      member(split_key);
      text = split;
    }
    text->push_back('}');
  }

  std::string str() {
    std::string out;
    write(out);
    return out;
  }

 private:
  boost::container::small_vector<std::pair<std::string_view, std::string>, 16> members_;
};

}  // namespace

PreparedRecord prepareRecord(const AuditEvent& e) {
  CanonicalObject rec;
  rec.string("eventVersion", kEventVersion);
  rec.string("eventSource", kEventSource);
  rec.string("eventType", "AwsApiCall");

  CanonicalObject who;
  who.string("type", e.user_identity.type);
  if (!e.user_identity.principal_id.empty())
    who.string("principalId", e.user_identity.principal_id);
  if (!e.user_identity.user_name.empty()) who.string("userName", e.user_identity.user_name);
  if (!e.user_identity.access_key_id.empty()) {
    who.string("accessKeyId", e.user_identity.access_key_id);
  }
  rec.text("userIdentity", who.str());

  rec.string("eventTime", formatRfc3339Ms(e.event_time));
  rec.string("eventName", e.event_name);
  rec.string("awsRegion", e.aws_region);
  rec.string("sourceIPAddress", e.source_ip_address);
  rec.string("userAgent", e.user_agent);

  const RequestParameters& rp = e.request_parameters;
  CanonicalObject params;
  for (const auto& [name, value] : rp.extra) params.string(name, value);
  if (!rp.model_id.empty()) params.string("modelId", rp.model_id);
  if (rp.stream) params.boolean("stream", *rp.stream);
  if (rp.input_bytes) params.integer("inputBytes", *rp.input_bytes);
  if (rp.max_tokens) params.integer("maxTokens", *rp.max_tokens);
  rec.text("requestParameters", params.str());

  const ResponseElements& re = e.response_elements;
  if (re.status != 0) {
    CanonicalObject resp;
    resp.integer("status", re.status);
    if (!re.stop_reason.empty()) resp.string("stopReason", re.stop_reason);
    if (re.usage) {
      CanonicalObject usage;
      usage.integer("inputTokens", re.usage->input_tokens);
      usage.integer("outputTokens", re.usage->output_tokens);
      usage.integer("totalTokens", re.usage->input_tokens + re.usage->output_tokens);
      resp.text("usage", usage.str());
    }
    if (re.output_bytes) resp.integer("outputBytes", *re.output_bytes);
    rec.text("responseElements", resp.str());
  } else {
    rec.text("responseElements", "null");
  }

  rec.string("requestID", e.request_id);
  const std::string event_id = e.event_id.empty() ? newEventId() : std::string();
  rec.string("eventID", e.event_id.empty() ? event_id : e.event_id);
  if (!e.error_code.empty()) rec.string("errorCode", e.error_code);
  if (!e.error_message.empty()) rec.string("errorMessage", e.error_message);

  const PolicyDecision& pd = e.policy_decision;
  if (!pd.effect.empty()) {
    CanonicalObject dec;
    dec.string("effect", pd.effect);
    if (!pd.policy.empty()) dec.string("policy", pd.policy);
    if (pd.statement >= 0) dec.integer("statement", pd.statement);
    if (!pd.sid.empty()) dec.string("sid", pd.sid);
    rec.text("policyDecision", dec.str());
  }

  if (!e.guardrail_interventions.empty()) {
    std::string list = "[";
    for (const auto& g : e.guardrail_interventions) {
      if (list.size() > 1) list.push_back(',');
      CanonicalObject item;
      item.string("guardrail", g.guardrail);
      item.string("source", g.source);
      item.string("action", g.action);
      item.string("type", g.type);
      item.integer("count", g.count);
      item.write(list);
    }
    list.push_back(']');
    rec.text("guardrailInterventions", std::move(list));
  }

  // The seq member (an integer placed by key order like any other) splits the text into head
  // and tail, so the writer thread only has to put the digits in between.
  PreparedRecord out;
  out.user_name = e.user_identity.user_name;
  out.event_time_ms = eventTimeMs(e);
  out.head.reserve(512);
  rec.write(out.head, "seq", &out.tail);
  return out;
}

}  // namespace basalt::audit
