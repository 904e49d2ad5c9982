#include "basalt/guardrails/stream_filter.h"

#include "detector.h"

#include <algorithm>

namespace basalt::guardrails {
namespace {

// Raw released text kept as left context for detectors (boundaries, the keyword before an AWS
// secret key). Larger than any detector's look-behind.
constexpr std::size_t kContext = 128;

bool continuation(char c) {
  return (static_cast<unsigned char>(c) & 0xC0U) == 0x80U;
}

std::size_t charStartAtOrBefore(std::string_view s, std::size_t i) {
  while (i > 0 && i < s.size() && continuation(s[i])) --i;
  return i;
}

std::size_t charStartAtOrAfter(std::string_view s, std::size_t i) {
  while (i < s.size() && continuation(s[i])) ++i;
  return i;
}

}  // namespace

StreamFilter::StreamFilter(const Guardrail& guardrail, Direction direction)
    : guardrail_(&guardrail), active_(guardrail.appliesTo(direction)) {}

StreamChunk StreamFilter::push(std::string_view delta) {
  if (blocked_ || finished_) return {};
  if (!active_) return StreamChunk{std::string(delta), false};
  buffer_.append(delta);
  return release(false);
}

StreamChunk StreamFilter::finish() {
  if (blocked_ || finished_) return {};
  finished_ = true;
  if (!active_) return {};
  return release(true);
}

StreamChunk StreamFilter::release(bool final) {
  const std::string_view b = buffer_;
  const std::size_t from = context_;
  std::vector<detail::Candidate> candidates;
  guardrail_->findCandidates(b, from, candidates);

  std::size_t cut = b.size();
  if (!final) {
    cut = charStartAtOrBefore(b, guardrail_->openStart(b, from));
    // Nothing released may end inside a candidate.
    for (bool moved = true; moved;) {
      moved = false;
      for (const auto& c : candidates) {
        if (c.begin < cut && c.end > cut) {
          cut = c.begin;
          moved = true;
        }
      }
    }
    if (b.size() - cut > kMaxHoldBack) {
      // Too long to wait for: release as if the text ended here, masking whole any candidate
      // that reaches past the forced cut.
      cut = charStartAtOrAfter(b, b.size() - kMaxHoldBack);
      for (bool moved = true; moved;) {
        moved = false;
        for (const auto& c : candidates) {
          if (c.begin < cut && c.end > cut) {
            cut = c.end;
            moved = true;
          }
        }
      }
    }
  }
  std::erase_if(candidates, [cut](const detail::Candidate& c) { return c.end > cut; });

  StreamChunk out;
  if (cut > from) {
    if (guardrail_->render(b, from, cut, candidates, out.text, interventions_)) {
      blocked_ = true;
      out.text.clear();
      out.blocked = true;
      buffer_.clear();
      context_ = 0;
      return out;
    }
  }
  const std::size_t keep = charStartAtOrBefore(b, cut > kContext ? cut - kContext : 0);
  buffer_.erase(0, keep);
  context_ = cut - keep;
  return out;
}

}  // namespace basalt::guardrails
