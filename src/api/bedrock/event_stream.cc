#include "basalt/api/bedrock/event_stream.h"

#include <boost/json/serialize.hpp>
#include <boost/json/string_view.hpp>

#include <zlib.h>

namespace basalt::api::bedrock {
namespace {

void putU32(std::string& out, std::uint32_t v) {
  out += static_cast<char>((v >> 24U) & 0xFFU);
  out += static_cast<char>((v >> 16U) & 0xFFU);
  out += static_cast<char>((v >> 8U) & 0xFFU);
  out += static_cast<char>(v & 0xFFU);
}

std::uint32_t getU32(std::string_view b, std::size_t at) {
  auto u = [&](std::size_t i) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(b[i]));
  };
  return (u(at) << 24U) | (u(at + 1) << 16U) | (u(at + 2) << 8U) | u(at + 3);
}

std::uint16_t getU16(std::string_view b, std::size_t at) {
  auto u = [&](std::size_t i) {
    return static_cast<std::uint16_t>(static_cast<unsigned char>(b[i]));
  };
  return static_cast<std::uint16_t>((u(at) << 8U) | u(at + 1));
}

Error frameError(std::string message) {
  Error e = Error::invalid("event-stream: " + std::move(message));
  e.kind = ErrorKind::kUpstreamError;
  return e;
}

// Maximums enforced by botocore's decoder.
constexpr std::size_t kMaxHeadersBytes = std::size_t{128} * 1024;
constexpr std::size_t kMaxPayloadBytes = std::size_t{24} * 1024 * 1024;

}  // namespace

std::uint32_t crc32(std::string_view bytes, std::uint32_t crc) {
  return static_cast<std::uint32_t>(::crc32(static_cast<uLong>(crc),
                                            reinterpret_cast<const Bytef*>(bytes.data()),
                                            static_cast<uInt>(bytes.size())));
}

std::string_view EventStreamMessage::header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (n == name) return v;
  }
  return {};
}

std::string encodeEventStreamMessage(const std::vector<EventStreamHeader>& headers,
                                     std::string_view payload) {
  std::size_t headers_len = 0;
  for (const auto& [name, value] : headers) headers_len += 1 + name.size() + 1 + 2 + value.size();
  const std::size_t total = 12 + headers_len + payload.size() + 4;
  std::string out;
  out.reserve(total);
  putU32(out, static_cast<std::uint32_t>(total));
  putU32(out, static_cast<std::uint32_t>(headers_len));
  putU32(out, crc32(out));
  for (const auto& [name, value] : headers) {
    out += static_cast<char>(name.size());
    out += name;
    out += static_cast<char>(7);  // string
    out += static_cast<char>((value.size() >> 8U) & 0xFFU);
    out += static_cast<char>(value.size() & 0xFFU);
    out += value;
  }
  out += payload;
  putU32(out, crc32(out));
  return out;
}

std::string encodeBedrockEvent(std::string_view event_type, std::string_view json_payload) {
  return encodeEventStreamMessage({{":event-type", std::string(event_type)},
                                   {":content-type", "application/json"},
                                   {":message-type", "event"}},
                                  json_payload);
}

std::string encodeBedrockException(std::string_view exception_type, std::string_view message) {
  std::string payload = "{\"message\":";
  payload += boost::json::serialize(boost::json::string_view(message.data(), message.size()));
  payload += "}";
  return encodeEventStreamMessage({{":exception-type", std::string(exception_type)},
                                   {":content-type", "application/json"},
                                   {":message-type", "exception"}},
                                  payload);
}

Result<EventStreamMessage> decodeEventStreamMessage(std::string_view bytes, std::size_t& consumed) {
  if (bytes.size() < 16) return frameError("truncated prelude");
  const std::uint32_t total = getU32(bytes, 0);
  const std::uint32_t headers_len = getU32(bytes, 4);
  if (crc32(bytes.substr(0, 8)) != getU32(bytes, 8)) return frameError("prelude CRC mismatch");
  if (total < 16 || headers_len > total - 16 || headers_len > kMaxHeadersBytes ||
      total - 16 - headers_len > kMaxPayloadBytes) {
    return frameError("bad lengths");
  }
  if (bytes.size() < total) return frameError("truncated message");
  if (crc32(bytes.substr(0, total - 4)) != getU32(bytes, total - 4)) {
    return frameError("message CRC mismatch");
  }
  EventStreamMessage msg;
  std::string_view h = bytes.substr(12, headers_len);
  std::size_t i = 0;
  while (i < h.size()) {
    const std::size_t name_len = static_cast<unsigned char>(h[i++]);
    if (i + name_len + 1 > h.size()) return frameError("truncated header name");
    std::string name(h.substr(i, name_len));
    i += name_len;
    const auto type = static_cast<unsigned char>(h[i++]);
    std::size_t value_len = 0;
    switch (type) {
      case 0:
      case 1:
        value_len = 0;
        break;
      case 2:
        value_len = 1;
        break;
      case 3:
        value_len = 2;
        break;
      case 4:
        value_len = 4;
        break;
      case 5:
      case 8:
        value_len = 8;
        break;
      case 9:
        value_len = 16;
        break;
      case 6:
      case 7:
        if (i + 2 > h.size()) return frameError("truncated header length");
        value_len = getU16(h, i);
        i += 2;
        break;
      default:
        return frameError("unknown header type");
    }
    if (i + value_len > h.size()) return frameError("truncated header value");
    msg.headers.emplace_back(std::move(name), std::string(h.substr(i, value_len)));
    i += value_len;
  }
  msg.payload = std::string(bytes.substr(12 + headers_len, total - 16 - headers_len));
  consumed = total;
  return msg;
}

Result<std::vector<EventStreamMessage>> decodeEventStream(std::string_view bytes) {
  std::vector<EventStreamMessage> out;
  while (!bytes.empty()) {
    std::size_t consumed = 0;
    auto m = decodeEventStreamMessage(bytes, consumed);
    if (!m) return m.error();
    out.push_back(std::move(*m));
    bytes.remove_prefix(consumed);
  }
  return out;
}

Result<void> EventStreamReader::feed(std::string_view bytes, std::vector<EventStreamMessage>& out) {
  if (failed_) return frameError("stream already failed");
  buffer_.append(bytes);
  while (true) {
    std::string_view rest = std::string_view(buffer_).substr(offset_);
    if (rest.size() < 12) break;
    // Check the prelude before waiting for the body, so garbage cannot make us buffer forever.
    if (crc32(rest.substr(0, 8)) != getU32(rest, 8)) {
      failed_ = true;
      return frameError("prelude CRC mismatch");
    }
    const std::uint32_t total = getU32(rest, 0);
    if (total < 16 || total > 16 + kMaxHeadersBytes + kMaxPayloadBytes) {
      failed_ = true;
      return frameError("bad lengths");
    }
    if (rest.size() < total) break;
    std::size_t consumed = 0;
    Result<EventStreamMessage> m = decodeEventStreamMessage(rest, consumed);
    if (!m) {
      failed_ = true;
      return m.error();
    }
    out.push_back(std::move(*m));
    offset_ += consumed;
  }
  // Compact once the consumed prefix dominates, keeping appends amortised O(1).
  if (offset_ > 0 && offset_ * 2 >= buffer_.size()) {
    buffer_.erase(0, offset_);
    offset_ = 0;
  }
  return {};
}

}  // namespace basalt::api::bedrock
