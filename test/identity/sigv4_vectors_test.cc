// Reproduces published SigV4 vectors: the AWS signature test suite (as shipped in
// awslabs/aws-c-auth tests/aws-signing-test-suite/v4/<name>/header-signed-request.txt, the
// successor of botocore's aws4_testsuite; credentials AKIDEXAMPLE, 2015-08-30T12:36:00Z,
// us-east-1, service "service") and the Bedrock vector of reference/bedrock.md §4.1.
#include "basalt/identity/sigv4_canonical.h"

#include "basalt/identity/sigv4_verifier.h"
#include "fake_keys.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace basalt::identity {
namespace {

using testing::FakeKeys;

Clock::time_point vectorTime() {
  return *parseAmzDate("20150830T123600Z");
}

std::vector<Header> headersOf(std::initializer_list<std::pair<const char*, const char*>> list) {
  std::vector<Header> out;
  for (const auto& [n, v] : list) out.push_back(Header{n, v});
  return out;
}

// ---- canonical pieces ----------------------------------------------------------------------

TEST(Sigv4Canonical, SigningKeyOfTheSuite) {
  EXPECT_EQ(sigv4Hex(sigv4SigningKey(testing::kExampleSecret, "20150830", "us-east-1", "service")),
            "938127b5336810ddb6a5d6af445fcac9e371f9ed418ed386b022aed82901be75");
}

TEST(Sigv4Canonical, GetVanillaCanonicalRequestStringToSignAndSignature) {
  const auto headers =
      headersOf({{"host", "example.amazonaws.com"}, {"x-amz-date", "20150830T123600Z"}});
  std::string creq;
  ASSERT_TRUE(sigv4CanonicalRequest({"GET", "/", "", false, "host;x-amz-date", kEmptyPayloadSha256},
                                    headers, creq));
  EXPECT_EQ(creq,
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
            "host;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  const std::string sts =
      sigv4StringToSign("20150830T123600Z", "20150830/us-east-1/service/aws4_request", creq);
  EXPECT_EQ(sts,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
  const auto key = sigv4SigningKey(testing::kExampleSecret, "20150830", "us-east-1", "service");
  EXPECT_EQ(sigv4Hex(sigv4Signature(key, sts)),
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

TEST(Sigv4Canonical, PostXWwwFormUrlencodedCanonicalRequest) {
  const auto headers = headersOf({{"content-type", "application/x-www-form-urlencoded"},
                                  {"host", "example.amazonaws.com"},
                                  {"content-length", "13"},
                                  {"x-amz-date", "20150830T123600Z"}});
  std::string creq;
  ASSERT_TRUE(sigv4CanonicalRequest(
      {"POST", "/", "", false, "content-length;content-type;host;x-amz-date", kEmptyPayloadSha256},
      headers, creq));
  // aws-c-auth post-x-www-form-urlencoded/header-canonical-request.txt and its string to sign.
  EXPECT_EQ(creq,
            "POST\n/\n\ncontent-length:13\ncontent-type:application/x-www-form-urlencoded\n"
            "host:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
            "content-length;content-type;host;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  const std::string sts =
      sigv4StringToSign("20150830T123600Z", "20150830/us-east-1/service/aws4_request", creq);
  EXPECT_EQ(sts.substr(sts.rfind('\n') + 1),
            "0eccf3fbe5a3c5d3df1d87c98cdf5dbde190d26aabdd91c9407db930a0c00896");
}

TEST(Sigv4Canonical, NormalizePathCases) {
  // normalize-path/* of the suite (non-S3 services normalize), plus double encoding.
  EXPECT_EQ(sigv4CanonicalUri(""), "/");
  EXPECT_EQ(sigv4CanonicalUri("/"), "/");
  EXPECT_EQ(sigv4CanonicalUri("/example/.."), "/");                      // get-relative
  EXPECT_EQ(sigv4CanonicalUri("/example1/example2/../.."), "/");         // get-relative-relative
  EXPECT_EQ(sigv4CanonicalUri("//"), "/");                               // get-slash
  EXPECT_EQ(sigv4CanonicalUri("/./"), "/");                              // get-slash-dot-slash
  EXPECT_EQ(sigv4CanonicalUri("/./example"), "/example");                // get-slash-pointless-dot
  EXPECT_EQ(sigv4CanonicalUri("//example//"), "/example/");              // get-slashes
  EXPECT_EQ(sigv4CanonicalUri("/example space/"), "/example%20space/");  // get-space
  EXPECT_EQ(sigv4CanonicalUri("/\xE1\x88\xB4"), "/%E1%88%B4");           // get-utf8
  EXPECT_EQ(
      sigv4CanonicalUri("/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"),
      "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");
  // Bedrock: the wire path is encoded once; the canonical URI encodes it again.
  EXPECT_EQ(sigv4CanonicalUri("/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse"),
            "/model/anthropic.claude-3-haiku-20240307-v1%253A0/converse");
  EXPECT_EQ(sigv4CanonicalUri(
                "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A%3Afoundation-model%2Fx/converse"),
            "/model/arn%253Aaws%253Abedrock%253Aus-east-1%253A%253Afoundation-model%252Fx/"
            "converse");
}

TEST(Sigv4Canonical, QueryCases) {
  EXPECT_EQ(sigv4CanonicalQuery("Param2=value2&Param1=value1", false),
            "Param1=value1&Param2=value2");  // get-vanilla-query-order-key-case
  EXPECT_EQ(sigv4CanonicalQuery("Param1=value2&Param1=Value1", false),
            "Param1=Value1&Param1=value2");                    // get-vanilla-query-order-value
  EXPECT_EQ(sigv4CanonicalQuery("Param1", false), "Param1=");  // empty value
  EXPECT_EQ(sigv4CanonicalQuery("\xE1\x88\xB4=bar", false), "%E1%88%B4=bar");  // utf8 query
  EXPECT_EQ(sigv4CanonicalQuery("%E1%88%B4=bar", false), "%E1%88%B4=bar");     // already encoded
  EXPECT_EQ(sigv4CanonicalQuery("a=b c&a=b%20c", false), "a=b%20c&a=b%20c");
  EXPECT_EQ(sigv4CanonicalQuery("k=a+b", false), "k=a%2Bb");  // '+' is a plus, not a space
  EXPECT_EQ(sigv4CanonicalQuery("b=1&X-Amz-Signature=abc&a=2", true), "a=2&b=1");
  EXPECT_EQ(sigv4CanonicalQuery("b=1&X-Amz-Signature=abc&a=2", false),
            "X-Amz-Signature=abc&a=2&b=1");  // sorted by encoded name: upper-case first
}

TEST(Sigv4Canonical, HeaderValuesTrimmedCollapsedAndJoined) {
  EXPECT_EQ(sigv4CanonicalHeaderValue("  \"a   b   c\"  "), "\"a b c\"");  // get-header-value-trim
  EXPECT_EQ(sigv4CanonicalHeaderValue("value1\t \tvalue2"), "value1 value2");
  const auto headers = headersOf({{"host", "h"},
                                  {"my-header1", "value4"},
                                  {"My-Header1", "value1"},
                                  {"my-header1", " value3 "}});
  std::string out;
  ASSERT_TRUE(sigv4CanonicalHeaders(headers, "host;my-header1", out));
  EXPECT_EQ(out, "host:h\nmy-header1:value4,value1,value3\n");  // get-header-value-order
  EXPECT_FALSE(sigv4CanonicalHeaders(headers, "host;missing", out));
  EXPECT_FALSE(sigv4CanonicalHeaders(headers, "host;;my-header1", out));
}

TEST(Sigv4Canonical, HostAndAuthorityStandInForEachOther) {
  std::string out;
  ASSERT_TRUE(sigv4CanonicalHeaders(headersOf({{":authority", "127.0.0.1:18081"}}), "host", out));
  EXPECT_EQ(out, "host:127.0.0.1:18081\n");
  ASSERT_TRUE(sigv4CanonicalHeaders(headersOf({{"host", "127.0.0.1:18081"}}), ":authority", out));
  EXPECT_EQ(out, ":authority:127.0.0.1:18081\n");
}

TEST(Sigv4Canonical, BedrockConverseVector) {
  // reference/bedrock.md §4.1, generated with botocore SigV4Auth (service "bedrock").
  const std::string body = R"({"messages":[{"role":"user","content":[{"text":"hi"}]}]})";
  const auto headers = headersOf({{"content-type", "application/json"},
                                  {"host", "bedrock-runtime.us-east-1.amazonaws.com"},
                                  {"x-amz-date", "20150830T123600Z"}});
  std::string creq;
  ASSERT_TRUE(
      sigv4CanonicalRequest({"POST", "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse", "",
                             false, "content-type;host;x-amz-date",
                             "c3335e07d6e89650bf94cb98664be69f8774dbc3198df221f113db0a59ea14f0"},
                            headers, creq));
  EXPECT_EQ(creq,
            "POST\n/model/anthropic.claude-3-haiku-20240307-v1%253A0/converse\n\n"
            "content-type:application/json\nhost:bedrock-runtime.us-east-1.amazonaws.com\n"
            "x-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\n"
            "c3335e07d6e89650bf94cb98664be69f8774dbc3198df221f113db0a59ea14f0");
  const std::string sts =
      sigv4StringToSign("20150830T123600Z", "20150830/us-east-1/bedrock/aws4_request", creq);
  EXPECT_EQ(sts.substr(sts.rfind('\n') + 1),
            "70063920c38a0ff3e5f2d03983179e180c93a3c260cbe8f3e4d844bf97c892a0");
  const auto key = sigv4SigningKey(testing::kExampleSecret, "20150830", "us-east-1", "bedrock");
  EXPECT_EQ(sigv4Hex(sigv4Signature(key, sts)),
            "b2d89376425920647b8197be6560da5f53c4d9cc5ac66b56efafa43ba66c9022");

  // And end to end through the verifier.
  std::vector<Header> with_auth = headers;
  with_auth.push_back(
      Header{"authorization",
             "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/bedrock/aws4_request, "
             "SignedHeaders=content-type;host;x-amz-date, "
             "Signature=b2d89376425920647b8197be6560da5f53c4d9cc5ac66b56efafa43ba66c9022"});
  FakeKeys keys;
  const Sigv4Result r = Sigv4Verifier().verify(
      {"POST", "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse", with_auth, body}, keys,
      vectorTime());
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->service, "bedrock");
  EXPECT_EQ(r->region, "us-east-1");
}

// ---- whole signed requests from the suite -------------------------------------------------

struct SuiteCase {
  const char* name;
  const char* signed_request;  // header-signed-request.txt
};

// Splits "METHOD TARGET HTTP/1.1\nName:value\n...\n\nbody" (the suite's format; TARGET may
// contain raw spaces and UTF-8).
struct ParsedRequest {
  std::string method, target, body;
  std::vector<Header> headers;
};

ParsedRequest parseSuiteRequest(std::string_view text) {
  ParsedRequest r;
  const std::size_t eol = text.find('\n');
  std::string_view line = text.substr(0, eol);
  r.method = std::string(line.substr(0, line.find(' ')));
  r.target =
      std::string(line.substr(r.method.size() + 1, line.rfind(" HTTP/1.1") - r.method.size() - 1));
  text.remove_prefix(eol + 1);
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    if (line.empty()) break;
    const std::size_t colon = line.find(':');
    std::string name(line.substr(0, colon));
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    r.headers.push_back(Header{name, std::string(line.substr(colon + 1))});
  }
  r.body = std::string(text);
  return r;
}

#define SUITE_GET(target, extra, signed_headers, sig)                                 \
  "GET " target " HTTP/1.1\nHost:example.amazonaws.com\n" extra                       \
  "Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/" \
  "aws4_request, SignedHeaders=" signed_headers ", Signature=" sig                    \
  "\nX-Amz-Date:20150830T123600Z\n\n"

const SuiteCase kSuite[] = {
    {"get-vanilla", SUITE_GET("/", "", "host;x-amz-date",
                              "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")},
    {"get-vanilla-empty-query-key",
     SUITE_GET("/?Param1=value1", "", "host;x-amz-date",
               "a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb")},
    {"get-vanilla-query-order-key-case",
     SUITE_GET("/?Param2=value2&Param1=value1", "", "host;x-amz-date",
               "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500")},
    {"get-vanilla-query-unreserved",
     SUITE_GET("/?-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz="
               "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
               "", "host;x-amz-date",
               "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197")},
    {"get-vanilla-utf8-query",
     SUITE_GET("/?\xE1\x88\xB4=bar", "", "host;x-amz-date",
               "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04")},
    {"get-unreserved",
     SUITE_GET("/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", "",
               "host;x-amz-date",
               "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f")},
    {"get-utf8", SUITE_GET("/\xE1\x88\xB4", "", "host;x-amz-date",
                           "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85")},
    {"get-space-normalized",
     SUITE_GET("/example space/", "", "host;x-amz-date",
               "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741")},
    {"get-header-value-trim",
     SUITE_GET("/", "My-Header1: value1\nMy-Header2: \"a   b   c\"\n",
               "host;my-header1;my-header2;x-amz-date",
               "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736")},
    {"get-header-key-duplicate",
     SUITE_GET("/", "My-Header1:value2\nMy-Header1:value2\nMy-Header1:value1\n",
               "host;my-header1;x-amz-date",
               "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea")},
    {"get-header-value-order",
     SUITE_GET("/", "My-Header1:value4\nMy-Header1:value1\nMy-Header1:value3\nMy-Header1:value2\n",
               "host;my-header1;x-amz-date",
               "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01")},
    {"normalize-path/get-relative",
     SUITE_GET("/example/..", "", "host;x-amz-date",
               "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")},
    {"normalize-path/get-relative-relative",
     SUITE_GET("/example1/example2/../..", "", "host;x-amz-date",
               "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")},
    {"normalize-path/get-slash",
     SUITE_GET("//", "", "host;x-amz-date",
               "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")},
    {"normalize-path/get-slash-dot-slash",
     SUITE_GET("/./", "", "host;x-amz-date",
               "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")},
    {"normalize-path/get-slash-pointless-dot",
     SUITE_GET("/./example", "", "host;x-amz-date",
               "ef75d96142cf21edca26f06005da7988e4f8dc83a165a80865db7089db637ec5")},
    {"normalize-path/get-slashes",
     SUITE_GET("//example//", "", "host;x-amz-date",
               "9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84")},
    {"post-vanilla",
     "POST / HTTP/1.1\nHost:example.amazonaws.com\n"
     "Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/"
     "aws4_request, SignedHeaders=host;x-amz-date, "
     "Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b\n"
     "X-Amz-Date:20150830T123600Z\n\n"},
    {"post-vanilla-query",
     "POST /?Param1=value1 HTTP/1.1\nHost:example.amazonaws.com\n"
     "Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/"
     "aws4_request, SignedHeaders=host;x-amz-date, "
     "Signature=28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11\n"
     "X-Amz-Date:20150830T123600Z\n\n"},
    {"post-header-key-sort",
     "POST / HTTP/1.1\nHost:example.amazonaws.com\nMy-Header1:value1\n"
     "Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/"
     "aws4_request, SignedHeaders=host;my-header1;x-amz-date, "
     "Signature=c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c\n"
     "X-Amz-Date:20150830T123600Z\n\n"},
    {"post-header-value-case",
     "POST / HTTP/1.1\nHost:example.amazonaws.com\nMy-Header1:VALUE1\n"
     "Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/"
     "aws4_request, SignedHeaders=host;my-header1;x-amz-date, "
     "Signature=cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d\n"
     "X-Amz-Date:20150830T123600Z\n\n"},
    {"post-x-www-form-urlencoded",
     "POST / HTTP/1.1\nContent-Type:application/x-www-form-urlencoded\n"
     "Host:example.amazonaws.com\nContent-Length:13\n"
     "x-amz-content-sha256:9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e\n"
     "Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/"
     "aws4_request, SignedHeaders=content-length;content-type;host;x-amz-content-sha256;"
     "x-amz-date, Signature=d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b\n"
     "X-Amz-Date:20150830T123600Z\n\nParam1=value1"},
    // Presigned (query-signed-request.txt): X-Amz-Expires=3600, empty payload.
    {"presigned/post-vanilla",
     "POST /?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2F"
     "us-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host"
     "&X-Amz-Expires=3600&X-Amz-Signature="
     "2ce6e6d2e0cf2f9d1b55fafec88cd20574c31dc2e7631979f71ba2310083e95b HTTP/1.1\n"
     "Host:example.amazonaws.com\nX-Amz-Date:20150830T123600Z\n\n"},
    {"presigned/get-vanilla-query-unreserved",
     "GET /?-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz="
     "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz&X-Amz-Algorithm="
     "AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2F"
     "aws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600"
     "&X-Amz-Signature=8e76a88a7433637b12778d5592799b29ad21ecd6cf6325051c21d86f0acda2bf"
     " HTTP/1.1\nHost:example.amazonaws.com\nX-Amz-Date:20150830T123600Z\n\n"},
};

class Sigv4Suite : public ::testing::TestWithParam<SuiteCase> {};

TEST_P(Sigv4Suite, VerifiesAndRejectsATamperedSignature) {
  const ParsedRequest req = parseSuiteRequest(GetParam().signed_request);
  FakeKeys keys;
  const Sigv4Verifier verifier(Sigv4Options{.services = {"service"}});
  const Sigv4Result ok =
      verifier.verify({req.method, req.target, req.headers, req.body}, keys, vectorTime());
  ASSERT_TRUE(ok.has_value()) << GetParam().name << ": " << ok.error().aws_error_code << ": "
                              << ok.error().message;
  EXPECT_EQ(ok->principal_id, "principal-example");
  EXPECT_EQ(ok->region, "us-east-1");
  EXPECT_EQ(ok->service, "service");

  // Flip the last hex digit of the signature wherever it is.
  std::string tampered_target = req.target;
  std::vector<Header> tampered_headers = req.headers;
  auto flip = [](std::string& s) { s.back() = s.back() == '0' ? '1' : '0'; };
  if (ok->presigned) {
    flip(tampered_target);
  } else {
    for (Header& h : tampered_headers) {
      if (h.name == "authorization") flip(h.value);
    }
  }
  const Sigv4Result bad = verifier.verify({req.method, tampered_target, tampered_headers, req.body},
                                          keys, vectorTime());
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().aws_error_code, "InvalidSignatureException");
  EXPECT_EQ(bad.error().message, kSignatureMismatchMessage);
  EXPECT_EQ(bad.error().http_status, 403);
}

INSTANTIATE_TEST_SUITE_P(AwsSuite, Sigv4Suite, ::testing::ValuesIn(kSuite),
                         [](const ::testing::TestParamInfo<SuiteCase>& info) {
                           std::string n = info.param.name;
                           for (char& c : n) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return n;
                         });

TEST(Sigv4SuiteSessionToken, GetVanillaWithSessionTokenIsRejected) {
  // The suite's request is correctly signed, but Basalt issues no session credentials.
  const ParsedRequest req = parseSuiteRequest(
      "GET / HTTP/1.1\nHost:example.amazonaws.com\n"
      "Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/"
      "aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token, "
      "Signature=07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8\n"
      "X-Amz-Date:20150830T123600Z\n"
      "X-Amz-Security-Token:6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267\n\n");
  FakeKeys keys;
  const Sigv4Result r =
      Sigv4Verifier(Sigv4Options{.services = {"service"}})
          .verify({req.method, req.target, req.headers, req.body}, keys, vectorTime());
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().aws_error_code, "UnrecognizedClientException");
  EXPECT_EQ(r.error().message, "The security token included in the request is invalid.");
}

}  // namespace
}  // namespace basalt::identity
