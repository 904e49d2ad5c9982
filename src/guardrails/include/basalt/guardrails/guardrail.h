#pragma once
/// Guardrails (Bedrock Guardrails semantics, DESIGN.md "Guardrails"): PII detectors, blocked word
/// lists and user regexes applied to prompt text (input) and model text (output). Anonymize
/// replaces each match by `{ENTITY}` / `{regex name}`; block means the caller answers with
/// blocked_message and the door's own content-filter signal (a blocked input never reaches a
/// provider). Pure decisions: no I/O, no JSON, RE2 stays inside the .cc files.

#include "basalt/config/settings.h"
#include "basalt/core/error.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace basalt::guardrails {

namespace detail {
class Detector;
struct Candidate;
struct Prefilter;
}  // namespace detail

class StreamFilter;

/// Which side of the model call a text belongs to.
enum class Direction : std::uint8_t { kInput, kOutput };

/// What a guardrail did to a text. kBlocked wins over kAnonymized.
enum class Action : std::uint8_t { kNone, kAnonymized, kBlocked };

/// Which policy of the guardrail matched (Bedrock: sensitiveInformationPolicy.piiEntities /
/// .regexes, wordPolicy.customWords).
enum class PolicyType : std::uint8_t { kPii, kRegex, kWord };

/// "NONE" / "ANONYMIZED" / "BLOCKED" (Bedrock assessment spelling, for audit records).
std::string_view actionName(Action action);
/// "pii" / "regex" / "word".
std::string_view policyTypeName(PolicyType type);

/// One kind of intervention and how often it happened in a text. The matched text itself is
/// deliberately absent: interventions go to audit records and logs, which must not hold secrets.
struct Intervention {
  PolicyType type = PolicyType::kPii;
  std::string name;  ///< PII entity (EMAIL), regex name, or the configured blocked word
  Action action = Action::kNone;  ///< kAnonymized or kBlocked
  int count = 0;

  bool operator==(const Intervention&) const = default;
};

/// The result of applying a guardrail to one text.
struct Outcome {
  Action action = Action::kNone;
  /// kNone: the input text; kAnonymized: the masked text; kBlocked: the blocked_message.
  std::string text;
  /// In first-seen order of (type, name, action). For kBlocked this lists every blocking match
  /// and the anonymizations that would have applied.
  std::vector<Intervention> interventions;
};

/// A guardrail compiled from its settings at startup. Immutable and thread-safe; share it.
class Guardrail {
 public:
  /// Compiles the PII detectors, the word list and the user regexes (RE2, linear time, memory
  /// capped). A regex that does not compile is an Error naming the guardrail, the regex and the
  /// pattern. PII entities without a detector (see README.md) are accepted and reported by
  /// undetectedEntities().
  static Result<std::unique_ptr<const Guardrail>> compile(
      const config::GuardrailSettings& settings);

  ~Guardrail();
  Guardrail(const Guardrail&) = delete;
  Guardrail& operator=(const Guardrail&) = delete;

  const std::string& name() const { return name_; }
  const std::string& blockedMessage() const { return blocked_message_; }
  /// Whether the settings' apply_to includes this direction; apply() is a no-op otherwise.
  bool appliesTo(Direction direction) const;
  /// Configured PII entities that this engine does not detect (startup may warn about them).
  const std::vector<std::string>& undetectedEntities() const { return undetected_; }

  /// Applies the guardrail to a whole text (a message, a complete response).
  Outcome apply(std::string_view text, Direction direction) const;

  /// A filter for streamed output text with the same result as apply() on the concatenation.
  StreamFilter stream(Direction direction = Direction::kOutput) const;

  // ---- used by StreamFilter (not part of the pipeline-facing API) ----

  /// Appends the candidate matches that begin in [from, text.size()); text[0, from) is context
  /// that detectors may look at (word boundaries, the "secret" keyword before a secret key).
  void findCandidates(std::string_view text, std::size_t from,
                      std::vector<detail::Candidate>& out) const;
  /// The earliest position in `text` (>= from) at which a match could still be in progress if
  /// more text were appended: everything before it is final once no candidate crosses it.
  std::size_t openStart(std::string_view text, std::size_t from) const;
  /// Longest hold-back any configured detector needs (bounded; see StreamFilter).
  std::size_t maxWindow() const { return max_window_; }
  /// Resolves overlapping candidates (sorted in place) and appends the masked text of
  /// text[from, to) to `out`, counting interventions into `acc`. Returns true when a blocking
  /// match was among the candidates.
  bool render(std::string_view text, std::size_t from, std::size_t to,
              std::vector<detail::Candidate>& candidates, std::string& out,
              std::vector<Intervention>& acc) const;

 private:
  Guardrail();
  void buildPrefilter();

  struct Rule {
    PolicyType type;
    std::string name;
    config::GuardrailAction action;
    std::string placeholder;  ///< "{EMAIL}", "{ticket}"
  };

  std::string name_;
  std::string blocked_message_;
  bool apply_input_ = true;
  bool apply_output_ = true;
  std::vector<Rule> rules_;
  std::vector<std::unique_ptr<detail::Detector>> detectors_;
  std::vector<const detail::Detector*> custom_;  ///< the kCustom-shaped subset of detectors_
  std::vector<std::string> undetected_;
  std::unique_ptr<detail::Prefilter> prefilter_;
  std::size_t max_window_ = 0;
  bool has_token_ = false;
  bool has_numeric_ = false;
};

/// Every configured guardrail compiled once, looked up by the name a model refers to.
class GuardrailSet {
 public:
  /// Fails on the first guardrail that does not compile, or on two with the same name.
  static Result<GuardrailSet> compile(const std::vector<config::GuardrailSettings>& settings);
  /// The guardrail with this name, or nullptr.
  const Guardrail* find(std::string_view name) const;
  std::size_t size() const { return guardrails_.size(); }

 private:
  std::vector<std::unique_ptr<const Guardrail>> guardrails_;
};

}  // namespace basalt::guardrails
