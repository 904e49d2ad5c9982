#include "wire_util.h"

#include <gtest/gtest.h>

namespace basalt::server {
namespace {

TEST(WireUtil, RequestIdKeepsSaneClientValues) {
  const std::string sane = "req_ABC-123.x";
  EXPECT_EQ(chooseRequestId(&sane), sane);
  const std::string spaces = "has space";
  EXPECT_EQ(chooseRequestId(&spaces).size(), 32U);
  const std::string empty;
  EXPECT_EQ(chooseRequestId(&empty).size(), 32U);
  const std::string longest(128, 'a');
  EXPECT_EQ(chooseRequestId(&longest), longest);
  const std::string too_long(129, 'a');
  EXPECT_NE(chooseRequestId(&too_long), too_long);
  EXPECT_NE(chooseRequestId(nullptr), chooseRequestId(nullptr));
}

TEST(WireUtil, SniffsTheHttp2Preface) {
  EXPECT_EQ(sniffProtocol("GET / HTTP/1.1\r\n"), Protocol::kHttp1);
  EXPECT_EQ(sniffProtocol("P"), Protocol::kUndecided);
  EXPECT_EQ(sniffProtocol("PRI * HTTP/2.0\r\n"), Protocol::kUndecided);
  EXPECT_EQ(sniffProtocol("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\nxyz"), Protocol::kHttp2);
  EXPECT_EQ(sniffProtocol("POST /v1 HTTP/1.1"), Protocol::kHttp1);
}

TEST(WireUtil, ResponseHeadOwnsFramingAndDropsLineBreaks) {
  std::string head;
  appendResponseHead(head, 200,
                     {{"content-type", "application/json"},
                      {"Content-Length", "5"},
                      {"x-bad", "a\r\nb: c"},
                      {"Server", "other"}},
                     Framing::kContentLength, 12, false, false, "rid");
  EXPECT_EQ(head.rfind("HTTP/1.1 200 OK\r\n", 0), 0U);
  EXPECT_NE(head.find("content-type: application/json\r\n"), std::string::npos);
  EXPECT_NE(head.find("content-length: 12\r\n"), std::string::npos);
  EXPECT_EQ(head.find("Content-Length"), std::string::npos);
  EXPECT_EQ(head.find("x-bad"), std::string::npos);
  EXPECT_EQ(head.find("other"), std::string::npos);
  EXPECT_NE(head.find("server: basalt\r\n"), std::string::npos);
  EXPECT_NE(head.find("x-request-id: rid\r\n"), std::string::npos);
  EXPECT_EQ(head.find("connection"), std::string::npos);
  EXPECT_EQ(head.substr(head.size() - 4), "\r\n\r\n");

  head.clear();
  appendResponseHead(head, 200, {}, Framing::kChunked, 0, true, false, "rid");
  EXPECT_NE(head.find("transfer-encoding: chunked\r\n"), std::string::npos);
  EXPECT_NE(head.find("connection: close\r\n"), std::string::npos);
  EXPECT_EQ(head.find("content-length"), std::string::npos);
}

TEST(WireUtil, TransportErrorBodyIsOpenAiShaped) {
  EXPECT_EQ(transportErrorBody("too \"big\"", "request_too_large"),
            R"({"error":{"message":"too \"big\"","type":"invalid_request_error",)"
            R"("param":null,"code":"request_too_large"}})");
}

TEST(WireUtil, ChunkHeaderIsHex) {
  char buf[20];
  EXPECT_EQ(std::string(buf, chunkHeader(buf, 26)), "1a\r\n");
  EXPECT_EQ(std::string(buf, chunkHeader(buf, 0)), "0\r\n");
}

TEST(WireUtil, HttpDateLooksLikeImfFixdate) {
  const std::string_view date = httpDate();
  EXPECT_EQ(date.size(), 29U);
  EXPECT_EQ(date.substr(date.size() - 4), " GMT");
}

}  // namespace
}  // namespace basalt::server
