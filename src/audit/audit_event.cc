#include "basalt/audit/audit_event.h"

#include "basalt/audit/rfc3339.h"
#include "basalt/core/ids.h"
#include "canonical_json.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

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

PreparedRecord prepareRecord(const AuditEvent& e) {
  namespace json = boost::json;
  json::object rec;
  rec["eventVersion"] = kEventVersion;
  rec["eventSource"] = kEventSource;
  rec["eventType"] = "AwsApiCall";

  json::object who;
  who["type"] = e.user_identity.type;
  if (!e.user_identity.principal_id.empty()) who["principalId"] = e.user_identity.principal_id;
  if (!e.user_identity.user_name.empty()) who["userName"] = e.user_identity.user_name;
  if (!e.user_identity.access_key_id.empty()) {
    who["accessKeyId"] = e.user_identity.access_key_id;
  }
  rec["userIdentity"] = std::move(who);

  rec["eventTime"] = formatRfc3339Ms(e.event_time);
  rec["eventName"] = e.event_name;
  rec["awsRegion"] = e.aws_region;
  rec["sourceIPAddress"] = e.source_ip_address;
  rec["userAgent"] = e.user_agent;

  const RequestParameters& rp = e.request_parameters;
  json::object params;
  for (const auto& [name, value] : rp.extra) params[name] = value;
  if (!rp.model_id.empty()) params["modelId"] = rp.model_id;
  if (rp.stream) params["stream"] = *rp.stream;
  if (rp.input_bytes) params["inputBytes"] = *rp.input_bytes;
  if (rp.max_tokens) params["maxTokens"] = *rp.max_tokens;
  rec["requestParameters"] = std::move(params);

  const ResponseElements& re = e.response_elements;
  if (re.status != 0) {
    json::object resp;
    resp["status"] = re.status;
    if (!re.stop_reason.empty()) resp["stopReason"] = re.stop_reason;
    if (re.usage) {
      resp["usage"] =
          json::object{{"inputTokens", re.usage->input_tokens},
                       {"outputTokens", re.usage->output_tokens},
                       {"totalTokens", re.usage->input_tokens + re.usage->output_tokens}};
    }
    if (re.output_bytes) resp["outputBytes"] = *re.output_bytes;
    rec["responseElements"] = std::move(resp);
  } else {
    rec["responseElements"] = nullptr;
  }

  rec["requestID"] = e.request_id;
  rec["eventID"] = e.event_id.empty() ? newEventId() : e.event_id;
  if (!e.error_code.empty()) rec["errorCode"] = e.error_code;
  if (!e.error_message.empty()) rec["errorMessage"] = e.error_message;

  const PolicyDecision& pd = e.policy_decision;
  if (!pd.effect.empty()) {
    json::object dec;
    dec["effect"] = pd.effect;
    if (!pd.policy.empty()) dec["policy"] = pd.policy;
    if (pd.statement >= 0) dec["statement"] = pd.statement;
    if (!pd.sid.empty()) dec["sid"] = pd.sid;
    rec["policyDecision"] = std::move(dec);
  }

  if (!e.guardrail_interventions.empty()) {
    json::array list;
    for (const auto& g : e.guardrail_interventions) {
      list.push_back(json::object{{"guardrail", g.guardrail},
                                  {"source", g.source},
                                  {"action", g.action},
                                  {"type", g.type},
                                  {"count", g.count}});
    }
    rec["guardrailInterventions"] = std::move(list);
  }

  // The top-level object by hand, so the seq member (an integer placed by key order like any
  // other) splits the text into head and tail.
  std::vector<const json::key_value_pair*> members;
  members.reserve(rec.size());
  for (const auto& kv : rec) members.push_back(&kv);
  std::sort(members.begin(), members.end(),
            [](const auto* a, const auto* b) { return a->key() < b->key(); });
  PreparedRecord out;
  out.user_name = e.user_identity.user_name;
  out.event_time_ms = eventTimeMs(e);
  std::string* text = &out.head;
  text->reserve(512);
  text->push_back('{');
  bool first = true;
  bool seq_written = false;
  const auto write_seq = [&] {
    if (!first) text->push_back(',');
    first = false;
    text->append("\"seq\":");
    text = &out.tail;
    seq_written = true;
  };
  for (const auto* kv : members) {
    if (!seq_written && std::string_view(kv->key()) > "seq") write_seq();
    if (!first) text->push_back(',');
    first = false;
    appendCanonicalString(kv->key(), *text);
    text->push_back(':');
    appendCanonicalJson(kv->value(), *text);
  }
  if (!seq_written) write_seq();
  text->push_back('}');
  return out;
}

}  // namespace basalt::audit
