// The outbound signer against published SigV4 vectors (the AWS signature test suite as shipped
// in awslabs/aws-c-auth, and reference/bedrock.md §4.1), against the independent test signer,
// and round-tripped through the inbound Sigv4Verifier.
#include "basalt/identity/sigv4_signer.h"

#include "basalt/identity/sigv4_verifier.h"
#include "fake_keys.h"
#include "test_signer.h"

#include <gtest/gtest.h>

#include <string>

namespace basalt::identity {
namespace {

using testing::FakeKeys;

Clock::time_point vectorTime() {
  return *parseAmzDate("20150830T123600Z");
}

Sigv4Signer suiteSigner(std::string session_token = {}, bool content_sha256 = false) {
  return Sigv4Signer(Sigv4Credentials{testing::kExampleAccessKeyId, testing::kExampleSecret,
                                      std::move(session_token)},
                     "us-east-1", "service", content_sha256);
}

const std::string* find(const Headers& headers, std::string_view name) {
  for (const Header& h : headers) {
    if (h.name == name) return &h.value;
  }
  return nullptr;
}

std::string signatureOf(const Headers& headers) {
  const std::string* auth = find(headers, "authorization");
  if (auth == nullptr) return {};
  const std::size_t at = auth->find("Signature=");
  return at == std::string::npos ? std::string() : auth->substr(at + 10);
}

std::string signedHeadersOf(const Headers& headers) {
  const std::string* auth = find(headers, "authorization");
  if (auth == nullptr) return {};
  const std::size_t at = auth->find("SignedHeaders=");
  const std::size_t end = auth->find(',', at);
  return auth->substr(at + 14, end - at - 14);
}

struct Vector {
  const char* name;
  const char* method;
  const char* path;
  const char* query;
  std::vector<std::pair<const char*, const char*>> headers;
  const char* body;
  bool content_sha256;
  const char* session_token;
  const char* signed_headers;
  const char* signature;
};

class Sigv4SignerSuite : public ::testing::TestWithParam<Vector> {};

TEST_P(Sigv4SignerSuite, ReproducesTheSuiteSignature) {
  const Vector& v = GetParam();
  Headers headers;
  for (const auto& [n, val] : v.headers) headers.push_back(Header{n, val});
  suiteSigner(v.session_token, v.content_sha256)
      .sign({v.method, "example.amazonaws.com", v.path, v.query, v.body}, headers, vectorTime());
  EXPECT_EQ(signedHeadersOf(headers), v.signed_headers);
  EXPECT_EQ(signatureOf(headers), v.signature);
  ASSERT_NE(find(headers, "x-amz-date"), nullptr);
  EXPECT_EQ(*find(headers, "x-amz-date"), "20150830T123600Z");
  EXPECT_EQ(*find(headers, "authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=" +
                std::string(v.signed_headers) + ", Signature=" + v.signature);
}

const Vector kVectors[] = {
    {"get_vanilla",
     "GET",
     "/",
     "",
     {},
     "",
     false,
     "",
     "host;x-amz-date",
     "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
    {"get_vanilla_query_order_key_case",
     "GET",
     "/",
     "Param2=value2&Param1=value1",
     {},
     "",
     false,
     "",
     "host;x-amz-date",
     "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
    {"get_utf8",
     "GET",
     "/\xE1\x88\xB4",
     "",
     {},
     "",
     false,
     "",
     "host;x-amz-date",
     "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"},
    {"get_header_value_trim",
     "GET",
     "/",
     "",
     {{"My-Header1", " value1"}, {"My-Header2", " \"a   b   c\""}},
     "",
     false,
     "",
     "host;my-header1;my-header2;x-amz-date",
     "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"},
    {"post_vanilla",
     "POST",
     "/",
     "",
     {},
     "",
     false,
     "",
     "host;x-amz-date",
     "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
    {"post_header_key_sort",
     "POST",
     "/",
     "",
     {{"My-Header1", "value1"}},
     "",
     false,
     "",
     "host;my-header1;x-amz-date",
     "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c"},
    {"post_x_www_form_urlencoded",
     "POST",
     "/",
     "",
     {{"Content-Type", "application/x-www-form-urlencoded"}, {"Content-Length", "13"}},
     "Param1=value1",
     true,
     "",
     "content-length;content-type;host;x-amz-content-sha256;x-amz-date",
     "d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b"},
    // get-vanilla-with-session-token: the token is sent and signed.
    {"get_vanilla_with_session_token",
     "GET",
     "/",
     "",
     {},
     "",
     false,
     "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267",
     "host;x-amz-date;x-amz-security-token",
     "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8"},
};

INSTANTIATE_TEST_SUITE_P(AwsSuite, Sigv4SignerSuite, ::testing::ValuesIn(kVectors),
                         [](const ::testing::TestParamInfo<Vector>& info) {
                           return std::string(info.param.name);
                         });

TEST(Sigv4Signer, SessionTokenHeaderIsSent) {
  Headers headers;
  suiteSigner("the-token")
      .sign({"GET", "example.amazonaws.com", "/", "", ""}, headers, vectorTime());
  ASSERT_NE(find(headers, "x-amz-security-token"), nullptr);
  EXPECT_EQ(*find(headers, "x-amz-security-token"), "the-token");
  EXPECT_EQ(find(headers, "x-amz-content-sha256"), nullptr);
}

TEST(Sigv4Signer, BedrockConverseVector) {
  // reference/bedrock.md §4.1, generated with botocore SigV4Auth (service "bedrock").
  Headers headers{{"content-type", "application/json"}};
  const Sigv4Signer signer(
      Sigv4Credentials{testing::kExampleAccessKeyId, testing::kExampleSecret, {}}, "us-east-1",
      "bedrock");
  signer.sign({"POST", "bedrock-runtime.us-east-1.amazonaws.com",
               "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse", "",
               R"({"messages":[{"role":"user","content":[{"text":"hi"}]}]})"},
              headers, vectorTime());
  EXPECT_EQ(*find(headers, "authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/bedrock/aws4_request, "
            "SignedHeaders=content-type;host;x-amz-date, "
            "Signature=b2d89376425920647b8197be6560da5f53c4d9cc5ac66b56efafa43ba66c9022");
}

TEST(Sigv4Signer, MatchesTheIndependentTestSignerWithTokenAndContentHash) {
  testing::SignInput in;
  in.authority = "127.0.0.1:4443";
  in.path =
      "/model/arn%3Aaws%3Abedrock%3Aus-west-2%3A123456789012%3Ainference-profile%2Fus."
      "anthropic.claude-3-haiku-20240307-v1%3A0/converse-stream";
  in.headers = {{"content-type", "application/json"}, {"accept", "application/json"}};
  in.body = R"({"messages":[]})";
  in.sign_content_sha256 = true;
  in.session_token = "FQoGZXIvYXdzEXAMPLETOKEN==";
  in.region = "us-west-2";
  const testing::SignedRequest expected = testing::signWithHeader(in);

  Headers headers{{"content-type", "application/json"}, {"accept", "application/json"}};
  Sigv4Signer(Sigv4Credentials{in.access_key_id, in.secret, in.session_token}, "us-west-2",
              "bedrock", /*sign_content_sha256=*/true)
      .sign({"POST", in.authority, in.path, "", in.body}, headers, vectorTime());
  EXPECT_EQ(signatureOf(headers), expected.signature);
  EXPECT_EQ(signedHeadersOf(headers),
            "accept;content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token");
  EXPECT_EQ(*find(headers, "x-amz-content-sha256"), testing::sha256HexForTest(in.body));
}

TEST(Sigv4Signer, RoundTripsThroughTheVerifierWithAnEncodedArnPath) {
  const std::string path =
      "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A%3Afoundation-model%2Fanthropic.claude-3-haiku-"
      "20240307-v1%3A0/converse";
  const std::string body = R"({"messages":[{"role":"user","content":[{"text":"hi"}]}]})";
  Headers headers{{"content-type", "application/json"},
                  {"user-agent", "basalt"},
                  {"authorization", "stale"},
                  {"x-amz-date", "stale"}};
  const Sigv4Signer signer(
      Sigv4Credentials{testing::kExampleAccessKeyId, testing::kExampleSecret, {}}, "eu-west-3",
      "bedrock");
  const auto now = vectorTime() + std::chrono::hours(24 * 400);
  signer.sign({"POST", "127.0.0.1:8080", path, "a=1&b=x%20y", body}, headers, now);

  // The stale copies were replaced, user-agent is sent but not signed.
  int authorizations = 0;
  for (const Header& h : headers) authorizations += h.name == "authorization" ? 1 : 0;
  EXPECT_EQ(authorizations, 1);
  EXPECT_EQ(signedHeadersOf(headers), "content-type;host;x-amz-date");

  Headers received = headers;
  received.push_back(Header{"host", "127.0.0.1:8080"});
  FakeKeys keys;
  const std::string target = path + "?a=1&b=x%20y";
  const Sigv4Result ok = Sigv4Verifier().verify({"POST", target, received, body}, keys, now);
  ASSERT_TRUE(ok.has_value()) << ok.error().aws_error_code << ": " << ok.error().message;
  EXPECT_EQ(ok->region, "eu-west-3");
  EXPECT_EQ(ok->service, "bedrock");
  EXPECT_EQ(ok->principal_id, "principal-example");

  // A different body, a different path or another host does not verify.
  EXPECT_FALSE(Sigv4Verifier().verify({"POST", target, received, body + " "}, keys, now));
  EXPECT_FALSE(Sigv4Verifier().verify(
      {"POST", "/model/foundation-model%2Fx/converse?a=1&b=x%20y", received, body}, keys, now));
  received.back().value = "127.0.0.1:8081";
  EXPECT_FALSE(Sigv4Verifier().verify({"POST", target, received, body}, keys, now));
}

TEST(Sigv4Signer, WrongSecretDoesNotVerify) {
  Headers headers{{"content-type", "application/json"}};
  Sigv4Signer(Sigv4Credentials{testing::kExampleAccessKeyId, "not-the-secret", {}}, "us-east-1",
              "bedrock")
      .sign({"POST", "h", "/model/m/converse", "", "{}"}, headers, vectorTime());
  headers.push_back(Header{"host", "h"});
  FakeKeys keys;
  const Sigv4Result r =
      Sigv4Verifier().verify({"POST", "/model/m/converse", headers, "{}"}, keys, vectorTime());
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().aws_error_code, "InvalidSignatureException");
}

}  // namespace
}  // namespace basalt::identity
