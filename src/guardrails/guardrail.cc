#include "basalt/guardrails/guardrail.h"

#include "basalt/guardrails/stream_filter.h"
#include "detector.h"

#include <re2/set.h>

#include <algorithm>
#include <utility>

namespace basalt::guardrails {

using detail::Candidate;
using detail::Shape;

namespace {

// A numeric-shape match is at most 40 bytes and its checks look 2 bytes past its end.
constexpr std::size_t kNumericWindow = 48;

void count(std::vector<Intervention>& acc, PolicyType type, const std::string& name,
           Action action) {
  for (Intervention& i : acc) {
    if (i.type == type && i.action == action && i.name == name) {
      ++i.count;
      return;
    }
  }
  acc.push_back(Intervention{type, name, action, 1});
}

}  // namespace

std::string_view actionName(Action action) {
  switch (action) {
    case Action::kNone:
      return "NONE";
    case Action::kAnonymized:
      return "ANONYMIZED";
    case Action::kBlocked:
      return "BLOCKED";
  }
  return "NONE";
}

std::string_view policyTypeName(PolicyType type) {
  switch (type) {
    case PolicyType::kPii:
      return "pii";
    case PolicyType::kRegex:
      return "regex";
    case PolicyType::kWord:
      return "word";
  }
  return "pii";
}

// One RE2::Set pass over a text tells which regex-based detectors can match at all; on prose
// without PII it replaces one DFA pass per detector.
struct detail::Prefilter {
  explicit Prefilter(const re2::RE2::Options& options) : set(options, re2::RE2::UNANCHORED) {}
  re2::RE2::Set set;
  std::vector<int> set_index;  // per detector: its index in `set`, or -1 (always run)
};

Guardrail::Guardrail() = default;
Guardrail::~Guardrail() = default;

Result<std::unique_ptr<const Guardrail>> Guardrail::compile(
    const config::GuardrailSettings& settings) {
  std::unique_ptr<Guardrail> g(new Guardrail());
  g->name_ = settings.name;
  g->blocked_message_ = settings.blocked_message;
  g->apply_input_ = settings.apply_input;
  g->apply_output_ = settings.apply_output;
  const std::string where = "guardrail \"" + settings.name + "\"";
  const std::string param = "guardrails." + settings.name;

  for (const config::PiiRule& pii : settings.pii) {
    if (std::find(config::kPiiEntityTypes.begin(), config::kPiiEntityTypes.end(), pii.entity) ==
        config::kPiiEntityTypes.end()) {
      return Error::invalid(where + ": unknown PII entity type \"" + pii.entity + "\"",
                            param + ".pii");
    }
    const auto rule = static_cast<std::uint32_t>(g->rules_.size());
    auto det = detail::makePiiDetector(pii.entity, rule);
    if (!det) {
      g->undetected_.push_back(pii.entity);
      continue;
    }
    g->rules_.push_back(Rule{PolicyType::kPii, pii.entity, pii.action, "{" + pii.entity + "}"});
    g->detectors_.push_back(std::move(det));
  }
  for (const config::RegexRule& rx : settings.regexes) {
    if (rx.name.empty()) return Error::invalid(where + ": a regex has no name", param + ".regexes");
    if (rx.pattern.empty()) {
      return Error::invalid(where + ": regex \"" + rx.name + "\" has an empty pattern",
                            param + ".regexes." + rx.name);
    }
    const auto rule = static_cast<std::uint32_t>(g->rules_.size());
    auto det = detail::makeRegexDetector(rx.pattern, rule);
    if (!det) {
      return Error::invalid(where + ": regex \"" + rx.name + "\" pattern \"" + rx.pattern +
                                "\" does not compile: " + det.error().message,
                            param + ".regexes." + rx.name);
    }
    g->rules_.push_back(Rule{PolicyType::kRegex, rx.name, rx.action, "{" + rx.name + "}"});
    g->detectors_.push_back(std::move(*det));
  }
  if (std::any_of(settings.words.begin(), settings.words.end(),
                  [](const std::string& w) { return !w.empty(); })) {
    const auto first = static_cast<std::uint32_t>(g->rules_.size());
    for (const std::string& w : settings.words) {
      g->rules_.push_back(Rule{PolicyType::kWord, w, config::GuardrailAction::kBlock, {}});
    }
    auto det = detail::makeWordDetector(settings.words, first);
    if (!det) {
      return Error::invalid(where + ": " + det.error().message, param + ".words");
    }
    g->detectors_.push_back(std::move(*det));
  }
  g->buildPrefilter();
  for (const auto& d : g->detectors_) {
    switch (d->shape()) {
      case Shape::kToken:
        g->has_token_ = true;
        break;
      case Shape::kNumeric:
        g->has_numeric_ = true;
        break;
      case Shape::kWindow:
        g->max_window_ = std::max(g->max_window_, d->maxLen());
        break;
      case Shape::kCustom:
        g->custom_.push_back(d.get());
        g->max_window_ = std::max(g->max_window_, d->maxLen());
        break;
    }
  }
  return std::unique_ptr<const Guardrail>(std::move(g));
}

bool Guardrail::appliesTo(Direction direction) const {
  return direction == Direction::kInput ? apply_input_ : apply_output_;
}

void Guardrail::buildPrefilter() {
  re2::RE2::Options options;
  options.set_log_errors(false);
  options.set_max_mem(4 * detail::kRegexMaxMem);
  auto p = std::make_unique<detail::Prefilter>(options);
  int in_set = 0;
  for (const auto& d : detectors_) {
    const std::string pattern = d->setPattern();
    int index = -1;
    if (!pattern.empty()) index = p->set.Add(pattern, nullptr);
    p->set_index.push_back(index);
    in_set += index >= 0 ? 1 : 0;
  }
  // Without at least two regexes to share a pass the set only adds work; a set too large to
  // compile simply means every detector runs.
  if (in_set >= 2 && p->set.Compile()) prefilter_ = std::move(p);
}

void Guardrail::findCandidates(std::string_view text, std::size_t from,
                               std::vector<Candidate>& out) const {
  std::vector<int> hits;
  bool filtered = false;
  if (prefilter_) {
    re2::RE2::Set::ErrorInfo info{};
    prefilter_->set.Match(re2::StringPiece(text.data(), text.size()), &hits, &info);
    filtered = info.kind == re2::RE2::Set::kNoError;  // on a DFA memory error run everything
  }
  for (std::size_t i = 0; i < detectors_.size(); ++i) {
    if (filtered && prefilter_->set_index[i] >= 0 &&
        std::find(hits.begin(), hits.end(), prefilter_->set_index[i]) == hits.end()) {
      continue;
    }
    detectors_[i]->find(text, from, out);
  }
}

std::size_t Guardrail::openStart(std::string_view text, std::size_t from) const {
  const std::size_t n = text.size();
  std::size_t open = n;
  if (has_token_) {
    std::size_t i = n;
    while (i > from && !detail::isSpace(text[i - 1])) --i;
    open = std::min(open, i);
  }
  if (has_numeric_) {
    std::size_t i = n;
    while (i > from && detail::isNumericChar(text[i - 1])) --i;
    while (i < n && !(detail::isDigit(text[i]) || text[i] == '+' || text[i] == '(')) ++i;
    // Far enough back, a numeric match would already be complete inside the text.
    if (n > kNumericWindow) i = std::max(i, n - kNumericWindow);
    open = std::min(open, i);
  }
  for (const auto& d : detectors_) {
    if (d->shape() == Shape::kWindow) {
      open = std::min(open, n > from + d->maxLen() ? n - d->maxLen() : from);
    }
  }
  for (const detail::Detector* d : custom_) open = std::min(open, d->openStart(text, from));
  return std::max(open, from);
}

bool Guardrail::render(std::string_view text, std::size_t from, std::size_t to,
                       std::vector<Candidate>& candidates, std::string& out,
                       std::vector<Intervention>& acc) const {
  // Leftmost first; at equal starts the longest; then configuration order.
  std::sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
    if (a.begin != b.begin) return a.begin < b.begin;
    if (a.end != b.end) return a.end > b.end;
    return a.rule < b.rule;
  });
  bool blocked = false;
  std::size_t cursor = from;
  for (const Candidate& c : candidates) {
    const Rule& rule = rules_[c.rule];
    if (rule.action == config::GuardrailAction::kBlock) {
      blocked = true;
      count(acc, rule.type, rule.name, Action::kBlocked);
      continue;
    }
    if (c.begin < cursor) continue;  // overlaps a match already masked
    out.append(text.substr(cursor, c.begin - cursor));
    out.append(rule.placeholder);
    cursor = c.end;
    count(acc, rule.type, rule.name, Action::kAnonymized);
  }
  out.append(text.substr(cursor, to - cursor));
  return blocked;
}

Outcome Guardrail::apply(std::string_view text, Direction direction) const {
  Outcome o;
  if (!appliesTo(direction) || detectors_.empty()) {
    o.text.assign(text);
    return o;
  }
  std::vector<Candidate> candidates;
  findCandidates(text, 0, candidates);
  if (candidates.empty()) {
    o.text.assign(text);
    return o;
  }
  std::string masked;
  masked.reserve(text.size());
  if (render(text, 0, text.size(), candidates, masked, o.interventions)) {
    o.action = Action::kBlocked;
    o.text = blocked_message_;
  } else {
    o.action = o.interventions.empty() ? Action::kNone : Action::kAnonymized;
    o.text = std::move(masked);
  }
  return o;
}

StreamFilter Guardrail::stream(Direction direction) const {
  return StreamFilter(*this, direction);
}

Result<GuardrailSet> GuardrailSet::compile(const std::vector<config::GuardrailSettings>& settings) {
  GuardrailSet set;
  for (const auto& s : settings) {
    if (set.find(s.name) != nullptr) {
      return Error::invalid("guardrail \"" + s.name + "\" is defined twice", "guardrails");
    }
    auto g = Guardrail::compile(s);
    if (!g) return g.error();
    set.guardrails_.push_back(std::move(*g));
  }
  return set;
}

const Guardrail* GuardrailSet::find(std::string_view name) const {
  for (const auto& g : guardrails_) {
    if (g->name() == name) return g.get();
  }
  return nullptr;
}

}  // namespace basalt::guardrails
