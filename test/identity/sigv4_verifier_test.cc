// Bedrock-shaped requests signed by the independent test signer (test_signer.cc), then
// tampered with; each tampering must produce the error AWS would return.
#include "basalt/identity/sigv4_verifier.h"

#include "fake_keys.h"
#include "test_signer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cctype>
#include <random>
#include <thread>

namespace basalt::identity {
namespace {

using namespace std::chrono_literals;
using testing::FakeKeys;
using testing::presign;
using testing::SignedRequest;
using testing::SignInput;
using testing::signWithHeader;

constexpr char kConversePath[] = "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse";
constexpr char kBody[] = R"({"messages":[{"role":"user","content":[{"text":"hi"}]}]})";

Clock::time_point signingTime() {
  return *parseAmzDate("20150830T123600Z");
}

SignInput converse() {
  SignInput in;
  in.path = kConversePath;
  in.body = kBody;
  in.headers = {{"Content-Type", "application/json"}};
  return in;
}

// What the JS SDK v3 sends over HTTP/2 (reference/bedrock.md §0.2, §4.1).
SignInput converseJsH2() {
  SignInput in = converse();
  in.http2 = true;
  in.authority = "127.0.0.1:18081";
  in.sign_content_sha256 = true;
  in.headers = {{"content-type", "application/json"},
                {"content-length", std::to_string(in.body.size())},
                {"amz-sdk-invocation-id", "6f1f7e52-8b5e-4a51-9f43-6a7d1b2f0c11"},
                {"amz-sdk-request", "attempt=1; max=3"},
                {"x-amz-user-agent", "aws-sdk-js/3.1164.0"}};
  return in;
}

class Sigv4VerifierTest : public ::testing::Test {
 protected:
  Sigv4Result verify(const SignedRequest& r, Clock::time_point now = signingTime()) {
    return verifier_.verify({r.method, r.target, r.headers, r.body}, keys_, now);
  }
  static void expectError(const Sigv4Result& r, std::string_view code, int status,
                          std::string_view message = {}) {
    ASSERT_FALSE(r.has_value()) << "expected " << code;
    EXPECT_EQ(r.error().aws_error_code, code) << r.error().message;
    EXPECT_EQ(r.error().http_status, status);
    if (!message.empty()) {
      EXPECT_EQ(r.error().message, message);
    }
  }
  static void expectMismatch(const Sigv4Result& r) {
    expectError(r, "InvalidSignatureException", 403, kSignatureMismatchMessage);
  }
  static void setHeader(SignedRequest& r, std::string_view name, std::string value) {
    for (Header& h : r.headers) {
      if (h.name == name) {
        h.value = std::move(value);
        return;
      }
    }
    r.headers.push_back(Header{std::string(name), std::move(value)});
  }
  static void dropHeader(SignedRequest& r, std::string_view name) {
    std::erase_if(r.headers, [&](const Header& h) { return h.name == name; });
  }

  FakeKeys keys_;
  Sigv4Verifier verifier_;
};

TEST_F(Sigv4VerifierTest, SignerReproducesTheBedrockReferenceVector) {
  // Guards the test signer itself against reference/bedrock.md §4.1.
  const SignedRequest r = signWithHeader(converse());
  EXPECT_EQ(r.signature, "b2d89376425920647b8197be6560da5f53c4d9cc5ac66b56efafa43ba66c9022");
}

TEST_F(Sigv4VerifierTest, AcceptsBoto3ShapedRequest) {
  const Sigv4Result r = verify(signWithHeader(converse()));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->principal_id, "principal-example");
  EXPECT_EQ(r->access_key_id, "AKIDEXAMPLE");
  EXPECT_EQ(r->region, "us-east-1");
  EXPECT_EQ(r->service, "bedrock");
  EXPECT_EQ(r->signed_at, signingTime());
  EXPECT_FALSE(r->presigned);
  EXPECT_TRUE(r->payload_signed);
}

TEST_F(Sigv4VerifierTest, AcceptsJsSdkHttp2RequestSigningAuthority) {
  const SignedRequest signed_req = signWithHeader(converseJsH2());
  ASSERT_NE(signed_req.canonical_request.find("\n:authority:127.0.0.1:18081\n"), std::string::npos);
  const Sigv4Result r = verify(signed_req);
  ASSERT_TRUE(r.has_value()) << r.error().message;

  // A server that presents the h2 authority as `host` must verify the same request.
  SignedRequest as_host = signed_req;
  for (Header& h : as_host.headers) {
    if (h.name == ":authority") h.name = "host";
  }
  EXPECT_TRUE(verify(as_host).has_value());
}

TEST_F(Sigv4VerifierTest, AnyRegionIsAcceptedAndRecorded) {
  SignInput in = converse();
  in.region = "eu-west-3";
  in.authority = "bedrock-runtime.eu-west-3.amazonaws.com";
  const Sigv4Result r = verify(signWithHeader(in));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->region, "eu-west-3");
}

TEST_F(Sigv4VerifierTest, ArnModelIdIsDoubleEncoded) {
  SignInput in = converse();
  in.path =
      "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A%3Afoundation-model%2Fmodel-x/converse-stream";
  const SignedRequest r = signWithHeader(in);
  EXPECT_NE(r.canonical_request.find("%253A%253Afoundation-model%252Fmodel-x"), std::string::npos);
  EXPECT_TRUE(verify(r).has_value());
}

TEST_F(Sigv4VerifierTest, QueryParametersAreCoveredInAnyOrder) {
  SignInput in = converse();
  in.method = "GET";
  in.path = "/async-invoke";
  in.body.clear();
  in.query = {{"maxResults", "10"}, {"nextToken", "a/b c+d"}, {"sortOrder", "Descending"}};
  SignedRequest r = signWithHeader(in);
  ASSERT_TRUE(verify(r).has_value());
  // Reordered on the wire: still the same canonical query.
  const std::size_t q = r.target.find('?');
  std::string reordered =
      r.target.substr(0, q) + "?sortOrder=Descending&maxResults=10&" + "nextToken=a%2Fb%20c%2Bd";
  SignedRequest moved = r;
  moved.target = reordered;
  EXPECT_TRUE(verify(moved).has_value());
  // A changed value is not.
  SignedRequest changed = r;
  changed.target.replace(changed.target.find("maxResults=10"), 13, "maxResults=99");
  expectMismatch(verify(changed));
}

TEST_F(Sigv4VerifierTest, TamperedBodyIsRejected) {
  SignedRequest r = signWithHeader(converse());
  r.body[r.body.find("hi")] = 'H';
  expectMismatch(verify(r));
}

TEST_F(Sigv4VerifierTest, TamperedBodyWithDeclaredHashIsRejected) {
  SignedRequest r = signWithHeader(converseJsH2());
  r.body[r.body.find("hi")] = 'H';
  expectError(verify(r), "InvalidSignatureException", 403,
              "The provided 'x-amz-content-sha256' header does not match what was computed.");
}

TEST_F(Sigv4VerifierTest, DeclaredHashMustMatchTheBodyEvenWhenSigned) {
  SignInput in = converse();
  in.content_sha256 = std::string(64, 'a');  // signed, but not the body's hash
  expectError(verify(signWithHeader(in)), "InvalidSignatureException", 403);
}

TEST_F(Sigv4VerifierTest, UnsignedPayloadSkipsTheBodyAndSaysSo) {
  SignInput in = converse();
  in.content_sha256 = "UNSIGNED-PAYLOAD";
  SignedRequest r = signWithHeader(in);
  r.body = R"({"messages":[]})";
  const Sigv4Result ok = verify(r);
  ASSERT_TRUE(ok.has_value()) << ok.error().message;
  EXPECT_FALSE(ok->payload_signed);
}

TEST_F(Sigv4VerifierTest, SignedStreamingPayloadIsRefused) {
  SignInput in = converse();
  in.content_sha256 = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
  expectError(verify(signWithHeader(in)), "IncompleteSignatureException", 403);
}

TEST_F(Sigv4VerifierTest, TamperedSignedHeaderIsRejected) {
  SignedRequest r = signWithHeader(converse());
  setHeader(r, "content-type", "text/plain");
  expectMismatch(verify(r));
}

TEST_F(Sigv4VerifierTest, UnsignedExtraHeaderDoesNotMatter) {
  SignedRequest r = signWithHeader(converse());
  r.headers.push_back(Header{"user-agent", "Boto3/1.43.11"});
  EXPECT_TRUE(verify(r).has_value());
}

TEST_F(Sigv4VerifierTest, MissingSignedHeaderIsRejected) {
  SignedRequest r = signWithHeader(converse());
  dropHeader(r, "content-type");
  expectMismatch(verify(r));
}

TEST_F(Sigv4VerifierTest, TamperedPathIsRejected) {
  SignedRequest r = signWithHeader(converse());
  r.target = "/model/anthropic.claude-3-opus-20240229-v1%3A0/converse";
  expectMismatch(verify(r));
  SignedRequest stream = signWithHeader(converse());
  stream.target += "-stream";
  expectMismatch(verify(stream));
}

TEST_F(Sigv4VerifierTest, TamperedMethodIsRejected) {
  SignedRequest r = signWithHeader(converse());
  r.method = "PUT";
  expectMismatch(verify(r));
}

TEST_F(Sigv4VerifierTest, ClockSkewOfSixMinutesIsRejectedBothWays) {
  const SignedRequest r = signWithHeader(converse());
  expectError(verify(r, signingTime() + 6min), "InvalidSignatureException", 403,
              "Signature expired: 20150830T123600Z is now earlier than 20150830T123700Z "
              "(20150830T124200Z - 5 min.)");
  expectError(verify(r, signingTime() - 6min), "InvalidSignatureException", 403,
              "Signature not yet current: 20150830T123600Z is still later than "
              "20150830T123500Z (20150830T123000Z + 5 min.)");
  EXPECT_TRUE(verify(r, signingTime() + 5min).has_value());
  EXPECT_TRUE(verify(r, signingTime() - 5min).has_value());
  EXPECT_TRUE(verify(r, signingTime() + 299s).has_value());
}

TEST_F(Sigv4VerifierTest, ChangedDateHeaderBreaksTheSignature) {
  SignedRequest r = signWithHeader(converse());
  setHeader(r, "x-amz-date", "20150830T123700Z");
  expectMismatch(verify(r));
}

TEST_F(Sigv4VerifierTest, HttpDateHeaderInsteadOfXAmzDate) {
  // Clients may sign the Date header; the string to sign still uses ISO 8601 basic.
  SignInput in = converse();
  in.http_date = "Sun, 30 Aug 2015 12:36:00 GMT";
  SignedRequest r = signWithHeader(in);
  const Sigv4Result ok = verify(r);
  ASSERT_TRUE(ok.has_value()) << ok.error().message;
  EXPECT_EQ(ok->signed_at, signingTime());
  expectError(verify(r, signingTime() + 6min), "InvalidSignatureException", 403);
  setHeader(r, "date", "Sun, 30 Aug 2015 12:36:01 GMT");
  expectMismatch(verify(r));
}

TEST_F(Sigv4VerifierTest, WrongServiceIsRejected) {
  SignInput in = converse();
  in.service = "bedrock-runtime";
  expectError(verify(signWithHeader(in)), "InvalidSignatureException", 403,
              "Credential should be scoped to correct service: 'bedrock'. ");
}

TEST_F(Sigv4VerifierTest, BadTerminatorAndRegionAreRejected) {
  SignedRequest r = signWithHeader(converse());
  for (Header& h : r.headers) {
    if (h.name == "authorization") {
      h.value.replace(h.value.find("aws4_request"), 12, "aws5_request");
    }
  }
  expectError(verify(r), "InvalidSignatureException", 403,
              "Credential should be scoped with a valid terminator: 'aws4_request', not "
              "'aws5_request'. ");
  SignInput in = converse();
  in.region = "US EAST";
  expectError(verify(signWithHeader(in)), "InvalidSignatureException", 403,
              "Credential should be scoped to a valid region. ");
}

TEST_F(Sigv4VerifierTest, ScopeDateMustMatchRequestDate) {
  SignedRequest r = signWithHeader(converse());
  for (Header& h : r.headers) {
    if (h.name == "authorization") h.value.replace(h.value.find("/20150830/"), 10, "/20150831/");
  }
  expectError(verify(r), "InvalidSignatureException", 403,
              "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
              "from HTTP: '20150831' != '20150830', from '20150830T123600Z'.");
}

TEST_F(Sigv4VerifierTest, UnknownRevokedAndExpiredKeysAreUnrecognized) {
  SignInput in = converse();
  in.access_key_id = "AKIAUNKNOWNUNKNOWN00";
  expectError(verify(signWithHeader(in)), "UnrecognizedClientException", 401, kInvalidTokenMessage);

  const SignedRequest good = signWithHeader(converse());
  keys_.at("AKIDEXAMPLE").revoked = true;
  expectError(verify(good), "UnrecognizedClientException", 401);
  keys_.at("AKIDEXAMPLE").revoked = false;
  keys_.at("AKIDEXAMPLE").expires_at = signingTime();
  expectError(verify(good), "UnrecognizedClientException", 401);
  keys_.at("AKIDEXAMPLE").expires_at = signingTime() + 1s;
  EXPECT_TRUE(verify(good).has_value());
}

TEST_F(Sigv4VerifierTest, WrongSecretIsASignatureMismatch) {
  SignInput in = converse();
  in.secret = "not-the-secret";
  expectMismatch(verify(signWithHeader(in)));
}

TEST_F(Sigv4VerifierTest, SecurityTokenIsRejected) {
  SignInput in = converse();
  in.session_token = "FwoGZXIvYXdzEBYaDKZexampletoken";
  expectError(verify(signWithHeader(in)), "UnrecognizedClientException", 401,
              "The security token included in the request is invalid.");
  // Even unsigned, a token means temporary credentials Basalt never issued.
  SignedRequest r = signWithHeader(converse());
  r.headers.push_back(Header{"x-amz-security-token", "x"});
  expectError(verify(r), "UnrecognizedClientException", 401);
}

TEST_F(Sigv4VerifierTest, HostMustBeSigned) {
  SignedRequest r = signWithHeader(converse());
  for (Header& h : r.headers) {
    if (h.name == "authorization") {
      h.value.replace(h.value.find("content-type;host;x-amz-date"), 28, "content-type;x-amz-date");
    }
  }
  expectError(verify(r), "IncompleteSignatureException", 403,
              "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
}

TEST_F(Sigv4VerifierTest, MalformedAuthorizationHeaders) {
  auto with_auth = [&](std::string value) {
    SignedRequest r = signWithHeader(converse());
    setHeader(r, "authorization", std::move(value));
    return verify(r);
  };
  expectError(with_auth("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/bedrock/"
                        "aws4_request, SignedHeaders=host;x-amz-date"),
              "IncompleteSignatureException", 403,
              "Authorization header requires 'Signature' parameter.");
  expectError(with_auth("AWS4-HMAC-SHA256"), "IncompleteSignatureException", 403,
              "Authorization header requires 'Credential' parameter. Authorization header "
              "requires 'Signature' parameter. Authorization header requires 'SignedHeaders' "
              "parameter.");
  expectError(with_auth("AWS4-ECDSA-P256-SHA256 Credential=a/b/c/d/aws4_request, "
                        "SignedHeaders=host, Signature=00"),
              "IncompleteSignatureException", 403);
  expectError(with_auth("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/bedrock/aws4_request, "
                        "SignedHeaders=host;x-amz-date, Signature=00"),
              "IncompleteSignatureException", 403);
  expectMismatch(
      with_auth("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/bedrock/"
                "aws4_request, SignedHeaders=content-type;host;x-amz-date, "
                "Signature=not-hex"));
  // Whitespace variations are tolerated.
  SignedRequest r = signWithHeader(converse());
  for (Header& h : r.headers) {
    if (h.name == "authorization") {
      std::string v = h.value;
      for (std::size_t p = v.find(", "); p != std::string::npos; p = v.find(", ", p + 3)) {
        v.replace(p, 2, " ,  ");
      }
      h.value = "  " + v + " ";
    }
  }
  EXPECT_TRUE(verify(r).has_value());
}

TEST_F(Sigv4VerifierTest, MissingOrMalformedDate) {
  SignedRequest r = signWithHeader(converse());
  dropHeader(r, "x-amz-date");
  expectError(verify(r), "IncompleteSignatureException", 403,
              "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' "
              "header.");
  setHeader(r, "x-amz-date", "2015-08-30T12:36:00Z");
  expectError(verify(r), "IncompleteSignatureException", 403);
}

TEST_F(Sigv4VerifierTest, RepeatedControlHeadersAreRejected) {
  SignedRequest r = signWithHeader(converseJsH2());
  r.headers.push_back(Header{"x-amz-content-sha256", "UNSIGNED-PAYLOAD"});
  expectError(verify(r), "IncompleteSignatureException", 403);
  SignedRequest d = signWithHeader(converse());
  d.headers.insert(d.headers.begin(), Header{"x-amz-date", "20150830T123500Z"});
  expectError(verify(d), "IncompleteSignatureException", 403);
}

TEST_F(Sigv4VerifierTest, OverlongInputsAreBoundedInErrors) {
  SignedRequest r = signWithHeader(converse());
  std::string many = "host";
  for (int i = 0; i < 200; ++i) many += ";h" + std::to_string(i);
  for (Header& h : r.headers) {
    if (h.name == "authorization") {
      h.value.replace(h.value.find("content-type;host;x-amz-date"), 28, many);
    }
  }
  expectError(verify(r), "IncompleteSignatureException", 403);

  SignedRequest alg = signWithHeader(converse());
  setHeader(alg, "authorization", "AWS4-" + std::string(10000, 'X') + " Credential=x");
  const Sigv4Result e = verify(alg);
  ASSERT_FALSE(e.has_value());
  EXPECT_LT(e.error().message.size(), 200u);
}

TEST_F(Sigv4VerifierTest, TwoMechanismsOrNoneAreRejected) {
  SignedRequest r = presign(converse(), 300);
  r.headers.push_back(Header{"authorization", "AWS4-HMAC-SHA256 Credential=x"});
  expectError(verify(r), "IncompleteSignatureException", 403);
  SignedRequest none = signWithHeader(converse());
  dropHeader(none, "authorization");
  expectError(verify(none), "MissingAuthenticationTokenException", 401);
  // A lone X-Amz-Credential is a (broken) presigned request, not "no credentials".
  none.target += "?X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fbedrock%2Faws4_request";
  expectError(verify(none), "IncompleteSignatureException", 403,
              "AWS query-string parameters must include 'X-Amz-Algorithm'. Re-examine the "
              "query-string parameters.");
}

// ---- presigned form ----------------------------------------------------------------------

TEST_F(Sigv4VerifierTest, PresignedRequestIsAccepted) {
  const SignedRequest r = presign(converse(), 900);
  ASSERT_NE(r.target.find("X-Amz-Signature="), std::string::npos);
  const Sigv4Result ok = verify(r, signingTime() + 899s);
  ASSERT_TRUE(ok.has_value()) << ok.error().message;
  EXPECT_TRUE(ok->presigned);
  EXPECT_EQ(ok->region, "us-east-1");
}

TEST_F(Sigv4VerifierTest, ExpiredPresignIsRejected) {
  const SignedRequest r = presign(converse(), 900);
  expectError(verify(r, signingTime() + 901s), "InvalidSignatureException", 403,
              "Signature expired: 20150830T125100Z is now earlier than 20150830T125101Z "
              "(20150830T123600Z + 900 sec.)");
  expectError(verify(r, signingTime() - 6min), "InvalidSignatureException", 403);
}

TEST_F(Sigv4VerifierTest, PresignLongerThanAWeekIsRejected) {
  EXPECT_TRUE(verify(presign(converse(), 604800)).has_value());
  expectError(verify(presign(converse(), 604801)), "IncompleteSignatureException", 403);
}

TEST_F(Sigv4VerifierTest, PresignTamperingIsRejected) {
  SignedRequest r = presign(converse(), 900);
  r.target.replace(r.target.find("X-Amz-Expires=900"), 17, "X-Amz-Expires=901");
  expectMismatch(verify(r));

  SignedRequest body = presign(converse(), 900);
  body.body += " ";
  expectMismatch(verify(body));

  SignedRequest missing = presign(converse(), 900);
  missing.target.replace(missing.target.find("X-Amz-Expires=900&"), 18, "");
  expectError(verify(missing), "IncompleteSignatureException", 403,
              "AWS query-string parameters must include 'X-Amz-Expires'. Re-examine the "
              "query-string parameters.");

  SignedRequest dup = presign(converse(), 900);
  dup.target += "&X-Amz-Date=20150830T123600Z";
  expectError(verify(dup), "IncompleteSignatureException", 403);
}

TEST_F(Sigv4VerifierTest, PresignWithSecurityTokenIsRejected) {
  SignInput in = converse();
  in.session_token = "token";
  expectError(verify(presign(in, 900)), "UnrecognizedClientException", 401);
}

TEST_F(Sigv4VerifierTest, PresignUnknownKeyAndWrongService) {
  SignInput in = converse();
  in.access_key_id = "AKIANOPE";
  expectError(verify(presign(in, 900)), "UnrecognizedClientException", 401);
  SignInput svc = converse();
  svc.service = "s3";
  expectError(verify(presign(svc, 900)), "InvalidSignatureException", 403);
}

TEST_F(Sigv4VerifierTest, NoSingleCharacterSubstitutionInASignedPartVerifies) {
  // Deterministic sweep: replace one alphanumeric character of the path, the body, a signed
  // header value or the signature with a different alphanumeric character.
  const SignedRequest good = signWithHeader(converseJsH2());
  ASSERT_TRUE(verify(good).has_value());
  std::mt19937 rng(12345);
  constexpr std::string_view kAlnum =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  auto mutate = [&](std::string& s) {
    std::vector<std::size_t> positions;
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (kAlnum.find(s[i]) != std::string_view::npos) positions.push_back(i);
    }
    const std::size_t at = positions[rng() % positions.size()];
    char c = s[at];
    while (c == s[at] || (std::tolower(c) == std::tolower(s[at]) && std::isxdigit(c))) {
      c = kAlnum[rng() % kAlnum.size()];
    }
    s[at] = c;
  };
  int checked = 0;
  for (int i = 0; i < 3000; ++i) {
    SignedRequest r = good;
    switch (i % 4) {
      case 0:
        mutate(r.target);
        break;
      case 1:
        mutate(r.body);
        break;
      case 2: {
        Header& h = r.headers[rng() % r.headers.size()];
        if (h.name == "authorization") {
          std::string sig = h.value.substr(h.value.size() - 64);
          mutate(sig);
          h.value.replace(h.value.size() - 64, 64, sig);
        } else {
          mutate(h.value);
        }
        break;
      }
      default: {
        Header& h = r.headers.back();  // authorization: scope, signed headers or signature
        mutate(h.value);
        break;
      }
    }
    const Sigv4Result res = verify(r);
    EXPECT_FALSE(res.has_value()) << "iteration " << i << " verified: " << r.target;
    ++checked;
  }
  EXPECT_EQ(checked, 3000);
}

// ---- key rotation, cache and threads ------------------------------------------------------

TEST_F(Sigv4VerifierTest, RotatedSecretIsNotServedFromTheSigningKeyCache) {
  ASSERT_TRUE(verify(signWithHeader(converse())).has_value());  // caches the derived key
  keys_.at("AKIDEXAMPLE").secret_access_key = "rotated-secret";
  expectMismatch(verify(signWithHeader(converse())));
  SignInput in = converse();
  in.secret = "rotated-secret";
  EXPECT_TRUE(verify(signWithHeader(in)).has_value());
}

TEST_F(Sigv4VerifierTest, ManyKeysAndDaysThroughTheCache) {
  // More distinct (key, day) pairs than cache slots, twice over: every answer stays right.
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 20; ++i) {
      const std::string id = "AKIATEST" + std::to_string(100 + i);
      keys_.add(id, "secret-" + std::to_string(i), "p" + std::to_string(i));
      SignInput in = converse();
      in.access_key_id = id;
      in.secret = "secret-" + std::to_string(i);
      in.amz_date = "201508" + std::to_string(10 + i) + "T123600Z";
      const Sigv4Result r = verify(signWithHeader(in), *parseAmzDate(in.amz_date));
      ASSERT_TRUE(r.has_value()) << i << ": " << r.error().message;
      EXPECT_EQ(r->principal_id, "p" + std::to_string(i));
    }
  }
}

TEST_F(Sigv4VerifierTest, ConcurrentVerificationFromSeveralThreads) {
  const SignedRequest good = signWithHeader(converseJsH2());
  SignedRequest bad = good;
  bad.body += "x";
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        if (!verify(good).has_value()) ++failures;
        if (verify(bad).has_value()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST(Sigv4Misc, IsSigv4AndToError) {
  const SignedRequest h = signWithHeader(converse());
  EXPECT_TRUE(Sigv4Verifier::isSigv4({h.method, h.target, h.headers, h.body}));
  const SignedRequest p = presign(converse(), 60);
  EXPECT_TRUE(Sigv4Verifier::isSigv4({p.method, p.target, p.headers, p.body}));
  const std::vector<Header> bearer{{"authorization", "Bearer bsk-x"}};
  EXPECT_FALSE(Sigv4Verifier::isSigv4({"POST", "/v1/chat/completions", bearer, ""}));

  const Sigv4Error e{"InvalidSignatureException", "m", 403};
  EXPECT_EQ(e.toError().kind, ErrorKind::kPermissionDenied);
  EXPECT_EQ(e.toError().code, "InvalidSignatureException");
  EXPECT_EQ((Sigv4Error{"UnrecognizedClientException", "m", 401}.toError().kind),
            ErrorKind::kUnauthenticated);
}

TEST(Sigv4Misc, AmzDateRoundTrip) {
  const auto t = parseAmzDate("20150830T123600Z");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(formatAmzDate(*t), "20150830T123600Z");
  EXPECT_EQ(parseAmzDate("Sun, 30 Aug 2015 12:36:00 GMT"), t);
  EXPECT_FALSE(parseAmzDate("20150230T123600Z").has_value());  // no 30 February
  EXPECT_FALSE(parseAmzDate("20150830T253600Z").has_value());
  EXPECT_FALSE(parseAmzDate("20150830 123600Z").has_value());
  EXPECT_FALSE(parseAmzDate("").has_value());
}

}  // namespace
}  // namespace basalt::identity
