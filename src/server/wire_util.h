#pragma once
// Small pure helpers of the HTTP transport, kept free of Beast so they compile fast and can be
// unit-tested directly.

#include "basalt/core/exchange.h"

#include <cstddef>
#include <string>
#include <string_view>

namespace basalt::server {

/// The client's x-request-id if it is sane (1..128 chars of [A-Za-z0-9_.-]), else a new id.
std::string chooseRequestId(const std::string* client_value);

/// The current time as an IMF-fixdate ("Thu, 26 Nov 2026 07:31:32 GMT"), cached per thread
/// and refreshed once a second.
std::string_view httpDate();

/// What the first bytes of a plain-TCP connection announce.
enum class Protocol : unsigned char {
  kUndecided,  ///< too few bytes yet: they are a prefix of the HTTP/2 preface
  kHttp1,
  kHttp2,  ///< the HTTP/2 client connection preface (h2c prior knowledge)
};
Protocol sniffProtocol(std::string_view first_bytes);

/// How a response body is framed on an HTTP/1.x connection.
enum class Framing : unsigned char {
  kContentLength,  ///< `content-length: N`
  kNoBody,         ///< 1xx, 204, 304: no length, no body
  kChunked,        ///< `transfer-encoding: chunked` (HTTP/1.1 streams)
  kUntilClose,     ///< HTTP/1.0 streams: the body ends when the connection closes
};

/// Appends an HTTP/1.1 response head to `out`. Handler headers that the transport owns
/// (framing, connection, date, server, x-request-id) and headers carrying CR/LF are skipped.
/// `keep_alive_10`: the client spoke HTTP/1.0 with keep-alive and the connection stays open.
void appendResponseHead(std::string& out, int status, const Headers& headers, Framing framing,
                        std::size_t content_length, bool close, bool keep_alive_10,
                        std::string_view request_id);

/// `{"error":{"message":..,"type":"invalid_request_error","param":null,"code":..}}` — the
/// transport answers its own errors in the OpenAI shape since no door is known yet.
std::string transportErrorBody(std::string_view message, std::string_view code,
                               std::string_view type = "invalid_request_error");

/// The chunk-size line of one chunk ("1a\r\n") written into `buf`; returns its length.
std::size_t chunkHeader(char (&buf)[20], std::size_t size);

}  // namespace basalt::server
