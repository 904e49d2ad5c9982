#include "basalt/providers/http/sse_parser.h"

#include <algorithm>
#include <utility>

namespace basalt::providers::http {
namespace {
constexpr std::string_view kBom = "\xEF\xBB\xBF";
}  // namespace

Error SseParser::tooLong() const {
  return Error{ErrorKind::kUpstreamError, "upstream event stream has a line or event longer than " +
                                              std::to_string(max_line_) + " bytes"};
}

Result<void> SseParser::feed(std::string_view chunk, std::vector<SseEvent>& out) {
  if (!bom_checked_) {
    // The stream may begin with a UTF-8 BOM, itself possibly split across chunks.
    const std::size_t take = std::min(chunk.size(), kBom.size() - bom_prefix_.size());
    bom_prefix_.append(chunk.substr(0, take));
    chunk.remove_prefix(take);
    if (bom_prefix_.size() < kBom.size() && kBom.starts_with(bom_prefix_)) return {};
    bom_checked_ = true;
    std::string head = std::exchange(bom_prefix_, {});
    if (head != kBom) {
      Result<void> r = scan(head, out);
      if (!r) return r;
    }
  }
  return scan(chunk, out);
}

Result<void> SseParser::scan(std::string_view chunk, std::vector<SseEvent>& out) {
  std::size_t pos = 0;
  if (skip_lf_ && !chunk.empty()) {
    if (chunk.front() == '\n') pos = 1;
    skip_lf_ = false;
  }
  while (pos < chunk.size()) {
    const std::size_t end = chunk.find_first_of("\r\n", pos);
    if (end == std::string_view::npos) {
      if (line_.size() + (chunk.size() - pos) > max_line_) return tooLong();
      line_.append(chunk.substr(pos));
      break;
    }
    std::string_view line = chunk.substr(pos, end - pos);
    if (!line_.empty()) {
      // Only a line split across chunks is copied; whole lines are parsed in place.
      if (line_.size() + line.size() > max_line_) return tooLong();
      line_.append(line);
      line = line_;
    } else if (line.size() > max_line_) {
      return tooLong();
    }
    if (!processLine(line, out)) return tooLong();
    line_.clear();
    pos = end + 1;
    if (chunk[end] == '\r') {
      if (pos < chunk.size()) {
        if (chunk[pos] == '\n') ++pos;
      } else {
        skip_lf_ = true;
      }
    }
  }
  return {};
}

bool SseParser::processLine(std::string_view line, std::vector<SseEvent>& out) {
  if (line.empty()) {
    dispatch(out);
    return true;
  }
  if (line.front() == ':') return true;  // comment (keep-alive pings)
  const std::size_t colon = line.find(':');
  const std::string_view field = line.substr(0, colon);
  std::string_view value;
  if (colon != std::string_view::npos) {
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    if (data_.size() + value.size() + 1 > max_line_) return false;
    if (have_data_) data_.push_back('\n');
    data_.append(value);
    have_data_ = true;
  } else if (field == "event") {
    event_.assign(value);
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) last_id_.assign(value);
  }
  // "retry" and unknown fields are ignored, as the specification requires.
  return true;
}

void SseParser::dispatch(std::vector<SseEvent>& out) {
  if (have_data_) out.push_back(SseEvent{std::move(event_), std::move(data_), last_id_});
  event_.clear();
  data_.clear();
  have_data_ = false;
}

void SseParser::finish(std::vector<SseEvent>& out) {
  if (!bom_checked_) {
    bom_checked_ = true;
    std::string head = std::exchange(bom_prefix_, {});
    if (head != kBom) (void)scan(head, out);
  }
  if (!line_.empty()) {
    (void)processLine(line_, out);
    line_.clear();
  }
  skip_lf_ = false;
  dispatch(out);
}

}  // namespace basalt::providers::http
