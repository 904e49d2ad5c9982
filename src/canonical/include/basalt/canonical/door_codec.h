#pragma once
/// The port every front door implements (api/<door>/): wire bytes <-> canonical model.
/// The pipeline drives a request through a DoorCodec without knowing the wire format.

#include "basalt/canonical/chat.h"
#include "basalt/canonical/stream_event.h"
#include "basalt/core/error.h"
#include "basalt/core/exchange.h"

#include <memory>
#include <string>
#include <string_view>

namespace basalt::canonical {

/// A complete HTTP answer produced by a codec (errors, non-streamed bodies).
struct EncodedReply {
  int status = 200;
  Headers headers;  ///< includes content-type
  std::string body;
};

/// Turns canonical stream events into one door's streaming wire format. One instance per
/// response; it keeps the per-stream state (indexes, ids, sequence numbers).
class StreamEncoder {
 public:
  virtual ~StreamEncoder() = default;
  /// Appends the wire bytes for `event` to `out` (possibly nothing). A kError event produces
  /// the door's in-stream error frame; after kMessageStop or kError the stream is complete.
  virtual void encode(const StreamEvent& event, std::string& out) = 0;
  /// Headers for the streamed response (content-type ...).
  virtual Headers headers() const = 0;
};

class DoorCodec {
 public:
  virtual ~DoorCodec() = default;
  virtual Door door() const = 0;
  /// Parses and validates the request (body, and the path where the wire format puts the model
  /// there). Errors carry the offending field in `param`.
  virtual Result<ChatRequest> decode(const HttpRequest& request) const = 0;
  /// The non-streamed response body (with its headers).
  virtual EncodedReply encodeResponse(const ChatResponse& response,
                                      const ChatRequest& request) const = 0;
  virtual std::unique_ptr<StreamEncoder> newStreamEncoder(const ChatRequest& request) const = 0;
  /// The door's native error shape and status for `error`.
  virtual EncodedReply encodeError(const Error& error) const = 0;
};

}  // namespace basalt::canonical
