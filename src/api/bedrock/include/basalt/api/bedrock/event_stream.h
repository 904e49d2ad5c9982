#pragma once
/// AWS event-stream binary framing (`application/vnd.amazon.eventstream`), as Bedrock's
/// ConverseStream sends it: [u32 total][u32 headers_len][u32 prelude CRC32][headers][payload]
/// [u32 message CRC32], big-endian, CRC32 = zlib's. The encoder writes string headers only
/// (all Bedrock uses); the decoder reads every header type and checks both CRCs. The format lives
/// only here: the Converse codec, the bedrock provider and the mock upstream all use it.

#include "basalt/core/error.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace basalt::api::bedrock {

/// CRC32 (IEEE 802.3, as zlib) of `bytes`, continuing from `crc`.
std::uint32_t crc32(std::string_view bytes, std::uint32_t crc = 0);

using EventStreamHeader = std::pair<std::string, std::string>;

/// One message with string headers (name, value).
struct EventStreamMessage {
  std::vector<EventStreamHeader> headers;
  std::string payload;

  /// The value of header `name`, or empty.
  std::string_view header(std::string_view name) const;
};

/// Encodes one message; header values are written as type 7 (string).
std::string encodeEventStreamMessage(const std::vector<EventStreamHeader>& headers,
                                     std::string_view payload);

/// A Bedrock event message: `:event-type`, `:content-type: application/json`,
/// `:message-type: event`, in the order real Bedrock sends them.
std::string encodeBedrockEvent(std::string_view event_type, std::string_view json_payload);
/// A Bedrock mid-stream exception (`:message-type: exception`, `:exception-type`).
std::string encodeBedrockException(std::string_view exception_type, std::string_view message);

/// Decodes the first message of `bytes`, checking lengths and both CRCs. Sets `consumed` to
/// the message's length. Non-string header values are returned as their raw bytes.
Result<EventStreamMessage> decodeEventStreamMessage(std::string_view bytes, std::size_t& consumed);

/// Decodes a whole body of back-to-back messages (fails on a truncated tail).
Result<std::vector<EventStreamMessage>> decodeEventStream(std::string_view bytes);

/// Reassembles messages from a body that arrives in arbitrary pieces (one HTTP chunk may hold
/// several messages or part of one).
class EventStreamReader {
 public:
  /// Buffers `bytes` and appends every message completed so far to `out`. A corrupt or
  /// oversized frame is an error (kUpstreamError); the stream cannot resynchronise after it.
  Result<void> feed(std::string_view bytes, std::vector<EventStreamMessage>& out);
  /// Bytes of an incomplete message still buffered: non-zero at end of body means truncation.
  std::size_t pending() const { return buffer_.size() - offset_; }

 private:
  std::string buffer_;
  std::size_t offset_ = 0;  ///< start of the first undecoded byte in buffer_
  bool failed_ = false;
};

}  // namespace basalt::api::bedrock
