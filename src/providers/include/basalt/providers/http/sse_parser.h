#pragma once
/// Incremental Server-Sent Events parser (WHATWG "event stream interpretation"), pure: no I/O.
/// Upstream providers (OpenAI, Anthropic ...) stream their answers as SSE; the body arrives in
/// arbitrary pieces, so the parser keeps the partial line and the event being built between
/// calls to `feed`.

#include "basalt/core/error.h"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace basalt::providers::http {

/// One dispatched event.
struct SseEvent {
  std::string event;  ///< the `event:` field; empty when the stream did not name one ("message")
  std::string data;   ///< `data:` lines joined with '\n'
  std::string id;     ///< the last `id:` seen on the stream so far (it persists across events)
};

class SseParser {
 public:
  static constexpr std::size_t kDefaultMaxLine = 16U << 20U;

  /// `max_line` caps one line and one event's accumulated data; beyond it `feed` fails.
  explicit SseParser(std::size_t max_line = kDefaultMaxLine) : max_line_(max_line) {}

  /// Parses `chunk` (any split of the byte stream: lines, line ends and UTF-8 sequences may be
  /// cut anywhere) and appends every event it completes to `out`. After an error the parser
  /// must not be fed again.
  Result<void> feed(std::string_view chunk, std::vector<SseEvent>& out);

  /// At end of body: dispatches a last event that was not followed by a blank line.
  void finish(std::vector<SseEvent>& out);

 private:
  Result<void> scan(std::string_view chunk, std::vector<SseEvent>& out);
  /// False when the event's data would exceed max_line_.
  bool processLine(std::string_view line, std::vector<SseEvent>& out);
  void dispatch(std::vector<SseEvent>& out);
  Error tooLong() const;

  std::size_t max_line_;
  std::string line_;          ///< the partial line carried over from the previous chunk
  bool skip_lf_ = false;      ///< the last chunk ended in '\r': a leading '\n' belongs to it
  bool bom_checked_ = false;  ///< a UTF-8 BOM is only stripped at the very start
  std::string bom_prefix_;    ///< first bytes while we cannot yet tell whether they are a BOM
  bool have_data_ = false;
  std::string data_;
  std::string event_;
  std::string last_id_;
};

}  // namespace basalt::providers::http
