#include "basalt/api/bedrock/converse_codec.h"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

namespace basalt::api::bedrock {
namespace {

namespace json = boost::json;

std::string header(const canonical::EncodedReply& r, std::string_view name) {
  for (const Header& h : r.headers) {
    if (h.name == name) return h.value;
  }
  return "<missing>";
}

TEST(BedrockErrors, HttpShapes) {
  struct Case {
    ErrorKind kind;
    int status;
    const char* name;
  };
  for (const Case& c : {Case{ErrorKind::kInvalidRequest, 400, "ValidationException"},
                        Case{ErrorKind::kPermissionDenied, 403, "AccessDeniedException"},
                        Case{ErrorKind::kNotFound, 404, "ResourceNotFoundException"},
                        Case{ErrorKind::kRateLimited, 429, "ThrottlingException"},
                        Case{ErrorKind::kUpstreamTimeout, 504, "ModelTimeoutException"},
                        Case{ErrorKind::kUpstreamUnavailable, 503, "ServiceUnavailableException"},
                        Case{ErrorKind::kUpstreamError, 502, "ModelErrorException"},
                        Case{ErrorKind::kInternal, 500, "InternalServerException"}}) {
    Error e;
    e.kind = c.kind;
    e.message = "went \"wrong\"";
    canonical::EncodedReply r = encodeError(e);
    EXPECT_EQ(r.status, c.status) << c.name;
    EXPECT_EQ(header(r, "x-amzn-errortype"), c.name);
    EXPECT_EQ(header(r, "content-type"), "application/json");
    EXPECT_EQ(json::parse(r.body), json::parse(R"({"message":"went \"wrong\""})"));
  }
}

TEST(BedrockErrors, RetryAfterAndExplicitNames) {
  Error e;
  e.kind = ErrorKind::kRateLimited;
  e.message = "Too many requests, please wait before trying again.";
  e.retry_after_s = 7;
  EXPECT_EQ(header(encodeError(e), "retry-after"), "7");
  e.kind = ErrorKind::kInvalidRequest;
  e.code = "ServiceQuotaExceededException";
  EXPECT_EQ(header(encodeError(e), "x-amzn-errortype"), "ServiceQuotaExceededException");
  e.code = "model_not_found";  // an OpenAI-style code does not leak into the name
  EXPECT_EQ(header(encodeError(e), "x-amzn-errortype"), "ValidationException");
}

TEST(BedrockErrors, StreamExceptionFrames) {
  Error e;
  e.kind = ErrorKind::kRateLimited;
  e.message = "Too many requests, please wait before trying again.";
  auto frames = decodeEventStream(encodeStreamError(e));
  ASSERT_TRUE(frames);
  ASSERT_EQ(frames->size(), 1u);
  const EventStreamMessage& m = frames->front();
  EXPECT_EQ(m.header(":message-type"), "exception");
  EXPECT_EQ(m.header(":exception-type"), "throttlingException");
  EXPECT_EQ(m.header(":content-type"), "application/json");
  // Byte-identical to the vector verified against botocore and the JS SDK (bedrock.md §2.4).
  EXPECT_EQ(encodeStreamError(e), encodeBedrockException("throttlingException", e.message));

  e.kind = ErrorKind::kUpstreamError;
  e.upstream_status = 500;
  frames = decodeEventStream(encodeStreamError(e));
  ASSERT_TRUE(frames);
  EXPECT_EQ(frames->front().header(":exception-type"), "modelStreamErrorException");
  EXPECT_EQ(json::parse(frames->front().payload).at("originalStatusCode"), 500);
  for (auto [kind, type] :
       {std::pair{ErrorKind::kInvalidRequest, "validationException"},
        std::pair{ErrorKind::kUpstreamUnavailable, "serviceUnavailableException"},
        std::pair{ErrorKind::kInternal, "internalServerException"}}) {
    e.kind = kind;
    frames = decodeEventStream(encodeStreamError(e));
    ASSERT_TRUE(frames);
    EXPECT_EQ(frames->front().header(":exception-type"), type);
  }
}

TEST(BedrockErrors, UpstreamErrors) {
  Error e = decodeUpstreamError(
      429, "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/",
      R"({"message":"Too many tokens"})");
  EXPECT_EQ(e.kind, ErrorKind::kRateLimited);
  EXPECT_EQ(e.code, "ThrottlingException");
  EXPECT_EQ(e.message, "Too many tokens");
  EXPECT_EQ(e.upstream_status, 429);
  e = decodeUpstreamError(400, "",
                          R"({"__type":"com.amazon#ValidationException","Message":"bad"})");
  EXPECT_EQ(e.kind, ErrorKind::kInvalidRequest);
  EXPECT_EQ(e.code, "ValidationException");
  EXPECT_EQ(e.message, "bad");
  e = decodeUpstreamError(403, "AccessDeniedException", R"({"message":"no"})");
  EXPECT_EQ(e.kind, ErrorKind::kUpstreamError);
  EXPECT_EQ(e.code, "");  // the gateway's credentials, not the client's
  e = decodeUpstreamError(503, "", "<html>");
  EXPECT_EQ(e.kind, ErrorKind::kUpstreamUnavailable);
  EXPECT_EQ(e.message, "<html>");
  EXPECT_EQ(decodeUpstreamError(408, "ModelTimeoutException", "{}").kind,
            ErrorKind::kUpstreamTimeout);
}

}  // namespace
}  // namespace basalt::api::bedrock
