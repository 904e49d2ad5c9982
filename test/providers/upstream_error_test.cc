#include "basalt/providers/http/upstream_error.h"

#include <gtest/gtest.h>

namespace basalt::providers::http {
namespace {

using std::chrono::system_clock;

system_clock::time_point at(std::string_view date) { return parseHttpDate(date).value(); }

TEST(HttpDate, ParsesImfFixdate) {
  auto t = parseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT");
  ASSERT_TRUE(t);
  EXPECT_EQ(system_clock::to_time_t(*t), 784111777);
}

TEST(HttpDate, RejectsOtherForms) {
  EXPECT_FALSE(parseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT"));
  EXPECT_FALSE(parseHttpDate("Sun Nov  6 08:49:37 1994"));
  EXPECT_FALSE(parseHttpDate("Sun, 06 Foo 1994 08:49:37 GMT"));
  EXPECT_FALSE(parseHttpDate("Sun, 06 Nov 1994 25:49:37 GMT"));
  EXPECT_FALSE(parseHttpDate(""));
}

TEST(RetryAfter, DeltaSecondsDateAndMilliseconds) {
  const auto now = at("Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(retryAfterSeconds({{"retry-after", "20"}}, now), 20);
  EXPECT_EQ(retryAfterSeconds({{"retry-after", " 3 "}}, now), 3);
  EXPECT_EQ(retryAfterSeconds({{"retry-after", "Sun, 06 Nov 1994 08:50:07 GMT"}}, now), 30);
  EXPECT_EQ(retryAfterSeconds({{"retry-after", "Sun, 06 Nov 1994 08:40:00 GMT"}}, now), 0);
  EXPECT_EQ(retryAfterSeconds({{"retry-after-ms", "1500"}}, now), 2);
  EXPECT_EQ(retryAfterSeconds({{"retry-after-ms", "250.5"}}, now), 1);
  // retry-after-ms is more precise and wins.
  EXPECT_EQ(retryAfterSeconds({{"retry-after", "9"}, {"retry-after-ms", "1000"}}, now), 1);
  EXPECT_EQ(retryAfterSeconds({{"retry-after", "soon"}}, now), 0);
  EXPECT_EQ(retryAfterSeconds({{"retry-after", "-5"}}, now), 0);
  EXPECT_EQ(retryAfterSeconds({}, now), 0);
}

TEST(ErrorFromStatus, RateLimitKeepsRetryAfter) {
  Error e = errorFromStatus(429, {{"retry-after", "7"}}, "Rate limit reached");
  EXPECT_EQ(e.kind, ErrorKind::kRateLimited);
  EXPECT_EQ(e.retry_after_s, 7);
  EXPECT_EQ(e.upstream_status, 429);
  EXPECT_NE(e.message.find("Rate limit reached"), std::string::npos);
}

TEST(ErrorFromStatus, ServerErrors) {
  EXPECT_EQ(errorFromStatus(500, {}, "boom").kind, ErrorKind::kUpstreamError);
  EXPECT_EQ(errorFromStatus(502, {}, "").kind, ErrorKind::kUpstreamError);
  EXPECT_EQ(errorFromStatus(503, {}, "overloaded").kind, ErrorKind::kUpstreamUnavailable);
  EXPECT_EQ(errorFromStatus(504, {}, "").kind, ErrorKind::kUpstreamTimeout);
  EXPECT_EQ(errorFromStatus(500, {}, "boom").upstream_status, 500);
}

TEST(ErrorFromStatus, CredentialsRejectionIsNotTheClientsAuthFailure) {
  for (int status : {401, 403}) {
    Error e = errorFromStatus(status, {}, "Incorrect API key provided: sk-abc");
    EXPECT_EQ(e.kind, ErrorKind::kUpstreamError);
    EXPECT_NE(e.message.find("provider rejected Basalt's credentials"), std::string::npos);
    // The upstream's message may echo the key: it is not passed on.
    EXPECT_EQ(e.message.find("sk-abc"), std::string::npos);
    EXPECT_EQ(e.upstream_status, status);
  }
}

TEST(ErrorFromStatus, ClientErrorsKeepKindAndMessage) {
  Error bad = errorFromStatus(400, {}, "max_tokens is too large");
  EXPECT_EQ(bad.kind, ErrorKind::kInvalidRequest);
  EXPECT_EQ(bad.message, "max_tokens is too large");
  EXPECT_EQ(errorFromStatus(404, {}, "model not found").kind, ErrorKind::kNotFound);
  EXPECT_EQ(errorFromStatus(422, {}, "x").kind, ErrorKind::kInvalidRequest);
  EXPECT_EQ(errorFromStatus(413, {}, "x").kind, ErrorKind::kPayloadTooLarge);
  EXPECT_EQ(errorFromStatus(408, {}, "x").kind, ErrorKind::kUpstreamTimeout);
  EXPECT_EQ(errorFromStatus(405, {}, "x").kind, ErrorKind::kUpstreamError);
  EXPECT_EQ(errorFromStatus(302, {}, "").kind, ErrorKind::kUpstreamError);
  EXPECT_EQ(errorFromStatus(400, {}, "").message, "upstream returned HTTP 400");
}

TEST(MetricKind, Labels) {
  EXPECT_EQ(metricKind(errorFromStatus(429, {}, "")), "status_429");
  EXPECT_EQ(metricKind(errorFromStatus(503, {}, "")), "status_5xx");
  EXPECT_EQ(metricKind(errorFromStatus(401, {}, "")), "auth");
  EXPECT_EQ(metricKind(errorFromStatus(400, {}, "")), "status_4xx");
  EXPECT_EQ(metricKind(Error{ErrorKind::kUpstreamTimeout, "t"}), "timeout");
  EXPECT_EQ(metricKind(Error{ErrorKind::kUpstreamError, "refused"}), "connect");
  Error early{ErrorKind::kUpstreamError, "upstream closed the stream early"};
  early.upstream_status = 200;
  EXPECT_EQ(metricKind(early), "protocol");
}

}  // namespace
}  // namespace basalt::providers::http
