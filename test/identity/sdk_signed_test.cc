// Requests signed by the real AWS SDKs (boto3 1.43.11, @aws-sdk/client-bedrock-runtime
// 3.1163.0 over HTTP/1.1 and HTTP/2) with a frozen clock, captured before sending
// (sdk_capture/). Key AKIAIOSFODNN7EXAMPLE / wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY.
#include "basalt/identity/sigv4_verifier.h"

#include "fake_keys.h"

#include <gtest/gtest.h>

namespace basalt::identity {
namespace {

using namespace std::chrono_literals;

struct SdkCase {
  const char* name;
  const char* target;
  std::vector<Header> headers;
  const char* body;
  const char* region;
};

const char kBotoBody[] =
    R"({"messages": [{"role": "user", "content": [{"text": "Hello, world"}]}], )"
    R"("inferenceConfig": {"maxTokens": 64}})";
const char kBotoUa[] =
    "Boto3/1.43.11 md/Botocore#1.43.11 ua/2.1 os/linux#6.18.44-fc-v669 md/arch#x86_64 "
    "lang/python#3.11.7 md/pyimpl#CPython m/N,e,D,Z,b cfg/retry-mode#legacy Botocore/1.43.11";
const char kJsBody[] = R"({"messages":[{"role":"user","content":[{"text":"Hello from JS"}]}]})";
const char kJsUa[] =
    "aws-sdk-js/3.1163.0 ua/2.1 os/linux#6.18.44-fc-v669 lang/js md/nodejs#20.20.2 "
    "api/bedrock-runtime#3.1163.0 m/N,E,e";

std::vector<Header> boto(const char* signature, const char* length, const char* invocation) {
  return {{"host", "127.0.0.1:8080"},
          {"content-type", "application/json"},
          {"user-agent", kBotoUa},
          {"x-amz-date", "20261126T071255Z"},
          {"authorization",
           std::string("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261126/eu-central-1/"
                       "bedrock/aws4_request, SignedHeaders=content-type;host;x-amz-date, "
                       "Signature=") +
               signature},
          {"amz-sdk-invocation-id", invocation},
          {"amz-sdk-request", "attempt=1"},
          {"content-length", length}};
}

std::vector<Header> js(bool h2) {
  std::vector<Header> h{
      {"content-type", "application/json"},
      {"content-length", "67"},
      {"x-amz-user-agent", "aws-sdk-js/3.1163.0"},
      {"user-agent", kJsUa},
      {h2 ? ":authority" : "host", "127.0.0.1:18081"},
      {"amz-sdk-invocation-id",
       h2 ? "cd2238c2-5f2d-457c-bb04-3e144824efa5" : "803489e1-d13e-4308-86c9-685203f3b31a"},
      {"amz-sdk-request", "attempt=1; max=1"},
      {"x-amz-date", "20261126T071255Z"},
      {"x-amz-content-sha256", "1103f82ae35b66f53c323b6c2cd4617c38f92fa5551d281feccf265183f471ba"},
  };
  h.push_back(Header{
      "authorization",
      h2 ? "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261126/us-west-2/bedrock/"
           "aws4_request, SignedHeaders=:authority;amz-sdk-invocation-id;amz-sdk-request;"
           "content-length;content-type;x-amz-content-sha256;x-amz-date;x-amz-user-agent, "
           "Signature=95a59de00d277b9aeef0fac9c38fb3624249cd212ad880418eb969eb35ea4cd5"
         : "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261126/us-west-2/bedrock/"
           "aws4_request, SignedHeaders=amz-sdk-invocation-id;amz-sdk-request;content-length;"
           "content-type;host;x-amz-content-sha256;x-amz-date;x-amz-user-agent, "
           "Signature=2f02ae84c5fe62aa5269ac20d99759b7f611428858f1e618330a7dda71aa4171"});
  return h;
}

std::vector<SdkCase> cases() {
  return {
      {"boto3_converse", "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse",
       boto("51ac8177856c36bb7676ec4b7c8accd216ebf7c7d850407d0e3ee3002b84999c", "109",
            "f6aebc47-5f88-41a0-a880-df8a4e0ba1d0"),
       kBotoBody, "eu-central-1"},
      {"boto3_converse_arn",
       "/model/arn%3Aaws%3Abedrock%3Aeu-central-1%3A%3Afoundation-model%2Fgpt-5.5/converse",
       boto("837b6c0c6ec9203e8baccced23b5ef1ee570abd406f5edfb905bf331d22f0241", "109",
            "ee8bf173-ef0d-4a99-a590-b343ccbfb3fc"),
       kBotoBody, "eu-central-1"},
      {"boto3_converse_stream", "/model/gpt-5.5/converse-stream",
       boto("a5cb470f59c3512db8cf34bd4dfbc8880431fa1fae92576478447f1613c1fd4b", "72",
            "a16e62be-e094-4ae8-b58a-2b7e3e28adf1"),
       R"({"messages": [{"role": "user", "content": [{"text": "stream please"}]}]})",
       "eu-central-1"},
      {"js_v3_http1", "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse", js(false),
       kJsBody, "us-west-2"},
      {"js_v3_h2", "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse", js(true), kJsBody,
       "us-west-2"},
  };
}

class SdkSigned : public ::testing::TestWithParam<SdkCase> {
 protected:
  SdkSigned() {
    keys_.add("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "sdk");
  }
  Sigv4Result verify(std::string_view target, const std::vector<Header>& headers,
                     std::string_view body, Clock::time_point now) {
    return Sigv4Verifier().verify({"POST", target, headers, body}, keys_, now);
  }
  testing::FakeKeys keys_;
  Clock::time_point now_ = *parseAmzDate("20261126T071255Z") + 2min;
};

TEST_P(SdkSigned, VerifiesAndCatchesTampering) {
  const SdkCase& c = GetParam();
  const Sigv4Result ok = verify(c.target, c.headers, c.body, now_);
  ASSERT_TRUE(ok.has_value()) << ok.error().aws_error_code << ": " << ok.error().message;
  EXPECT_EQ(ok->principal_id, "sdk");
  EXPECT_EQ(ok->region, c.region);
  EXPECT_EQ(ok->service, "bedrock");

  std::string body = c.body;
  body.back() = ' ';
  EXPECT_FALSE(verify(c.target, c.headers, body, now_).has_value());
  std::string target = c.target;
  target.insert(target.rfind('/'), "x");
  EXPECT_FALSE(verify(target, c.headers, c.body, now_).has_value());
  EXPECT_FALSE(verify(c.target, c.headers, c.body, now_ + 4min).has_value());  // 6 min skew
  std::vector<Header> headers = c.headers;
  for (Header& h : headers) {
    if (h.name == "content-type") h.value = "application/x-amz-json-1.1";
  }
  EXPECT_FALSE(verify(c.target, headers, c.body, now_).has_value());
}

INSTANTIATE_TEST_SUITE_P(RealSdks, SdkSigned, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<SdkCase>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace basalt::identity
