#include "basalt/audit/audit_event.h"

#include "audit/audit_fixture.h"
#include "basalt/audit/rfc3339.h"

#include <gtest/gtest.h>

#include <regex>

namespace basalt::audit {
namespace {

using namespace std::chrono;

TEST(CanonicalRecord, GoldenTextWithSortedKeysAndSeq) {
  AuditEvent e = basalt::testing::sampleEvent("alice", 1);
  e.event_id = "00000000-0000-4000-8000-000000000001";
  const std::string expected =
      R"({"awsRegion":"us-east-1","eventID":"00000000-0000-4000-8000-000000000001",)"
      R"("eventName":"ChatCompletions","eventSource":"basalt",)"
      R"("eventTime":"2026-11-18T11:06:41.000Z","eventType":"AwsApiCall","eventVersion":"1.11",)"
      R"("policyDecision":{"effect":"Allow","policy":"invoke","sid":"AllowInvoke","statement":0},)"
      R"("requestID":"req-1",)"
      R"("requestParameters":{"inputBytes":101,"modelId":"gpt-5.5","stream":false},)"
      R"("responseElements":{"status":200,"stopReason":"stop",)"
      R"("usage":{"inputTokens":10,"outputTokens":20,"totalTokens":30}},)"
      R"("seq":7,"sourceIPAddress":"127.0.0.1","userAgent":"test/1.0",)"
      R"("userIdentity":{"accessKeyId":"bsk-key-alice","principalId":"prn_alice",)"
      R"("type":"user","userName":"alice"}})";
  EXPECT_EQ(canonicalRecord(e, 7), expected);
  EXPECT_EQ(canonicalRecord(e, 7), canonicalRecord(e, 7));
  const PreparedRecord p = prepareRecord(e);
  EXPECT_EQ(p.withSeq(7), expected);
  EXPECT_EQ(p.withSeq(123456789), canonicalRecord(e, 123456789));
  EXPECT_EQ(p.user_name, "alice");
  EXPECT_EQ(p.event_time_ms, 1'795'000'001'000LL);
}

TEST(CanonicalRecord, FailuresGuardrailsAndAdminParameters) {
  AuditEvent e;
  e.user_identity.type = "anonymous";
  e.event_name = "CreateKey";
  e.event_id = "id";
  e.request_parameters.extra = {{"principal", "bob"}, {"keyId", "k1"}};
  e.error_code = "AccessDeniedException";
  e.error_message = "denied";
  e.guardrail_interventions = {{"pii", "input", "ANONYMIZED", "EMAIL", 2}};
  const std::string text = canonicalRecord(e, 1);
  EXPECT_NE(text.find(R"("requestParameters":{"keyId":"k1","principal":"bob"})"), std::string::npos)
      << text;
  EXPECT_NE(text.find(R"("errorCode":"AccessDeniedException","errorMessage":"denied")"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"("guardrailInterventions":[{"action":"ANONYMIZED","count":2,)"
                      R"("guardrail":"pii","source":"input","type":"EMAIL"}])"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"("responseElements":null)"), std::string::npos);
  EXPECT_NE(text.find(R"("userIdentity":{"type":"anonymous"})"), std::string::npos);
  EXPECT_EQ(text.find("policyDecision"), std::string::npos);
}

TEST(CanonicalRecord, ExtraParametersSortWithTheFixedOnesWhichWinOnACollision) {
  AuditEvent e;
  e.event_id = "id";
  e.request_parameters.extra = {{"zeta", "z"}, {"modelId", "from-extra"}, {"Alpha", "a"}};
  e.request_parameters.model_id = "m";
  e.request_parameters.max_tokens = 5;
  const std::string text = canonicalRecord(e, 1);
  EXPECT_NE(
      text.find(R"("requestParameters":{"Alpha":"a","maxTokens":5,"modelId":"m","zeta":"z"})"),
      std::string::npos)
      << text;
}

TEST(CanonicalRecord, EscapesMinimallyAndReplacesInvalidUtf8) {
  AuditEvent e;
  e.event_id = "id";
  e.user_agent = std::string("a\"b\\c\n\t\x01\x1f/\xC3\xA9\xF0\x9F\x98\x80") + "\xFF" + "\xC3";
  const std::string text = canonicalRecord(e, 1);
  EXPECT_NE(text.find(R"("userAgent":"a\"b\\c\n\t\u0001\u001f/)"
                      "\xC3\xA9\xF0\x9F\x98\x80"
                      "\xEF\xBF\xBD\xEF\xBF\xBD\""),
            std::string::npos)
      << text;
}

TEST(CanonicalRecord, EventIdsAreRandomUuidV4) {
  const std::regex uuid("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  const std::string a = newEventId();
  EXPECT_TRUE(std::regex_match(a, uuid)) << a;
  EXPECT_NE(a, newEventId());
  AuditEvent e;
  EXPECT_NE(canonicalRecord(e, 1).find("\"eventID\":\""), std::string::npos);
}

TEST(Rfc3339, FormatsUtcWithMilliseconds) {
  EXPECT_EQ(formatRfc3339Ms(system_clock::time_point{}), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(formatRfc3339Ms(system_clock::time_point(milliseconds(951782400123))),
            "2000-02-29T00:00:00.123Z");
  EXPECT_EQ(formatRfc3339Ms(system_clock::time_point(milliseconds(-1))),
            "1969-12-31T23:59:59.999Z");
}

TEST(Rfc3339, ParsesWhatItFormatsAndOffsets) {
  for (std::int64_t ms : {0LL, 951782400123LL, 1795000001000LL, 4102444799999LL}) {
    const system_clock::time_point t{milliseconds(ms)};
    auto back = parseRfc3339(formatRfc3339Ms(t));
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, t);
  }
  const auto utc = parseRfc3339("2026-11-26T07:10:20Z");
  ASSERT_TRUE(utc.has_value());
  EXPECT_EQ(*parseRfc3339("2026-11-26T09:10:20+02:00"), *utc);
  EXPECT_EQ(*parseRfc3339("2026-11-26T02:10:20-05:00"), *utc);
  EXPECT_EQ(*parseRfc3339("2026-11-26t07:10:20.5z"), *utc + milliseconds(500));
  EXPECT_EQ(*parseRfc3339("2026-11-26T07:10:20.123999Z"), *utc + milliseconds(123));
  EXPECT_EQ(*parseRfc3339("2026-11-26"), *utc - hours(7) - minutes(10) - seconds(20));
}

TEST(Rfc3339, RejectsMalformed) {
  for (const char* bad :
       {"", "yesterday", "2026-13-01", "2026-02-30", "2025-02-29T00:00:00Z", "2026-11-26T24:00:00Z",
        "2026-11-26T07:10:20", "2026-11-26T07:10Z", "2026-11-26T07:10:20.Z",
        "2026-11-26T07:10:20Zjunk", "2026-11-26T07:10:20+0200"}) {
    auto r = parseRfc3339(bad);
    EXPECT_FALSE(r.has_value()) << bad;
    if (!r) {
      EXPECT_EQ(r.error().kind, ErrorKind::kInvalidRequest);
    }
  }
  EXPECT_TRUE(parseRfc3339("2024-02-29T00:00:00Z").has_value());
}

}  // namespace
}  // namespace basalt::audit
