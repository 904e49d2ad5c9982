#include "condition.h"

#include <algorithm>

namespace basalt::policy::detail {
namespace {

bool startsWithFolded(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    char p = prefix[i];
    if (p >= 'A' && p <= 'Z') p = static_cast<char>(p + 32);
    if (c != p) return false;
  }
  return true;
}

bool equalsFolded(std::string_view a, std::string_view b) {
  return a.size() == b.size() && startsWithFolded(a, b);
}

struct OperatorName {
  std::string_view name;
  OperatorFamily family;
  Comparison comparison;
  bool negated;
};

constexpr OperatorName kOperators[] = {
    {"StringEquals", OperatorFamily::kString, Comparison::kEqual, false},
    {"StringNotEquals", OperatorFamily::kString, Comparison::kEqual, true},
    {"StringEqualsIgnoreCase", OperatorFamily::kStringIgnoreCase, Comparison::kEqual, false},
    {"StringNotEqualsIgnoreCase", OperatorFamily::kStringIgnoreCase, Comparison::kEqual, true},
    {"StringLike", OperatorFamily::kStringLike, Comparison::kEqual, false},
    {"StringNotLike", OperatorFamily::kStringLike, Comparison::kEqual, true},
    {"NumericEquals", OperatorFamily::kNumeric, Comparison::kEqual, false},
    {"NumericNotEquals", OperatorFamily::kNumeric, Comparison::kEqual, true},
    {"NumericLessThan", OperatorFamily::kNumeric, Comparison::kLess, false},
    {"NumericLessThanEquals", OperatorFamily::kNumeric, Comparison::kLessEqual, false},
    {"NumericGreaterThan", OperatorFamily::kNumeric, Comparison::kGreater, false},
    {"NumericGreaterThanEquals", OperatorFamily::kNumeric, Comparison::kGreaterEqual, false},
    {"DateEquals", OperatorFamily::kDate, Comparison::kEqual, false},
    {"DateNotEquals", OperatorFamily::kDate, Comparison::kEqual, true},
    {"DateLessThan", OperatorFamily::kDate, Comparison::kLess, false},
    {"DateLessThanEquals", OperatorFamily::kDate, Comparison::kLessEqual, false},
    {"DateGreaterThan", OperatorFamily::kDate, Comparison::kGreater, false},
    {"DateGreaterThanEquals", OperatorFamily::kDate, Comparison::kGreaterEqual, false},
    {"Bool", OperatorFamily::kBool, Comparison::kEqual, false},
    {"BinaryEquals", OperatorFamily::kBinary, Comparison::kEqual, false},
    {"IpAddress", OperatorFamily::kIp, Comparison::kEqual, false},
    {"NotIpAddress", OperatorFamily::kIp, Comparison::kEqual, true},
    {"ArnEquals", OperatorFamily::kArn, Comparison::kEqual, false},
    {"ArnLike", OperatorFamily::kArn, Comparison::kEqual, false},
    {"ArnNotEquals", OperatorFamily::kArn, Comparison::kEqual, true},
    {"ArnNotLike", OperatorFamily::kArn, Comparison::kEqual, true},
    {"Null", OperatorFamily::kNull, Comparison::kEqual, false},
};

template <class T>
bool compare(Comparison c, T request, T policy) {
  switch (c) {
    case Comparison::kEqual:
      return request == policy;
    case Comparison::kLess:
      return request < policy;
    case Comparison::kLessEqual:
      return request <= policy;
    case Comparison::kGreater:
      return request > policy;
    case Comparison::kGreaterEqual:
      return request >= policy;
  }
  return false;
}

}  // namespace

Result<Operator> parseOperator(std::string_view name) {
  Operator op;
  std::string_view base = name;
  constexpr std::string_view kAny = "ForAnyValue:";
  constexpr std::string_view kAll = "ForAllValues:";
  if (startsWithFolded(base, kAny)) {
    op.qualifier = SetQualifier::kForAnyValue;
    base.remove_prefix(kAny.size());
  } else if (startsWithFolded(base, kAll)) {
    op.qualifier = SetQualifier::kForAllValues;
    base.remove_prefix(kAll.size());
  }
  constexpr std::string_view kIfExists = "IfExists";
  if (base.size() > kIfExists.size() &&
      equalsFolded(base.substr(base.size() - kIfExists.size()), kIfExists)) {
    op.if_exists = true;
    base.remove_suffix(kIfExists.size());
  }
  for (const OperatorName& known : kOperators) {
    if (!equalsFolded(base, known.name)) continue;
    op.family = known.family;
    op.comparison = known.comparison;
    op.negated = known.negated;
    if (op.family == OperatorFamily::kNull &&
        (op.if_exists || op.qualifier != SetQualifier::kNone)) {
      return Error::invalid("condition operator '" + std::string(name) +
                            "' is not allowed: Null takes no IfExists or set qualifier");
    }
    return op;
  }
  return Error::invalid("unknown condition operator '" + std::string(name) + "'");
}

Result<Condition> Condition::compile(const Operator& op, std::string_view op_name,
                                     std::string_view key, const std::vector<std::string>& values,
                                     bool variables) {
  Condition c;
  c.op_ = op;
  if (key.empty() || key.find(':') == std::string_view::npos || key.front() == ':') {
    return Error::invalid("condition key '" + std::string(key) +
                          "' must be prefixed by a service, e.g. aws:SourceIp");
  }
  c.key_.reserve(key.size());
  for (char ch : key) c.key_.push_back((ch >= 'A' && ch <= 'Z') ? static_cast<char>(ch + 32) : ch);
  if (values.empty()) {
    return Error::invalid("condition " + std::string(op_name) + " has no values for key '" +
                          std::string(key) + "'");
  }
  auto bad_value = [&](const std::string& v) {
    return Error::invalid("invalid value '" + v + "' for condition operator " +
                          std::string(op_name) + " on key '" + std::string(key) + "'");
  };
  for (const std::string& text : values) {
    Value v;
    switch (op.family) {
      case OperatorFamily::kString:
      case OperatorFamily::kStringIgnoreCase:
      case OperatorFamily::kBinary:
      case OperatorFamily::kStringLike:
      case OperatorFamily::kArn: {
        const bool wildcards =
            op.family == OperatorFamily::kStringLike || op.family == OperatorFamily::kArn;
        const bool vars = variables && op.family != OperatorFamily::kBinary;
        auto pattern = Pattern::compile(text, {.wildcards = wildcards, .variables = vars});
        if (!pattern) return pattern.error();
        v.pattern = std::move(*pattern);
        break;
      }
      case OperatorFamily::kNumeric: {
        const auto n = parseNumber(text);
        if (!n) return bad_value(text);
        v.number = *n;
        break;
      }
      case OperatorFamily::kDate: {
        const auto d = parseDate(text);
        if (!d) return bad_value(text);
        v.date_ms = *d;
        break;
      }
      case OperatorFamily::kBool:
      case OperatorFamily::kNull: {
        const auto b = parseBool(text);
        if (!b) return bad_value(text);
        v.boolean = *b;
        break;
      }
      case OperatorFamily::kIp: {
        const auto net = parseIpNetwork(text);
        if (!net) return bad_value(text);
        v.network = *net;
        break;
      }
    }
    c.values_.push_back(std::move(v));
  }
  return c;
}

std::optional<bool> Condition::matchesAny(const RequestContext& ctx,
                                          std::string_view request) const {
  switch (op_.family) {
    case OperatorFamily::kString:
    case OperatorFamily::kStringIgnoreCase:
    case OperatorFamily::kStringLike:
    case OperatorFamily::kBinary:
    case OperatorFamily::kArn: {
      const bool fold = op_.family == OperatorFamily::kStringIgnoreCase;
      ResolvedPieces pieces;
      for (const Value& v : values_) {
        const auto resolved = v.pattern.pieces(ctx, pieces);
        if (!resolved) continue;  // an unresolvable variable matches nothing
        const bool hit = op_.family == OperatorFamily::kArn ? arnMatch(*resolved, request)
                                                            : globMatch(*resolved, request, fold);
        if (hit) return true;
      }
      return false;
    }
    case OperatorFamily::kNumeric: {
      const auto n = parseNumber(request);
      if (!n) return std::nullopt;
      return std::any_of(values_.begin(), values_.end(),
                         [&](const Value& v) { return compare(op_.comparison, *n, v.number); });
    }
    case OperatorFamily::kDate: {
      const auto d = parseDate(request);
      if (!d) return std::nullopt;
      return std::any_of(values_.begin(), values_.end(),
                         [&](const Value& v) { return compare(op_.comparison, *d, v.date_ms); });
    }
    case OperatorFamily::kBool: {
      const auto b = parseBool(request);
      if (!b) return std::nullopt;
      return std::any_of(values_.begin(), values_.end(),
                         [&](const Value& v) { return v.boolean == *b; });
    }
    case OperatorFamily::kIp: {
      const auto host = parseIpNetwork(request);
      if (!host) return std::nullopt;
      return std::any_of(values_.begin(), values_.end(),
                         [&](const Value& v) { return v.network.contains(*host); });
    }
    case OperatorFamily::kNull:
      break;  // handled in evaluate()
  }
  return std::nullopt;
}

bool Condition::evaluate(const RequestContext& ctx) const {
  const std::vector<std::string>* request = ctx.findLowercase(key_);
  const bool absent = request == nullptr || request->empty();

  if (op_.family == OperatorFamily::kNull) {
    // {"Null": {"k": "true"}} holds when k is absent; "false" when it is present.
    return std::any_of(values_.begin(), values_.end(),
                       [&](const Value& v) { return v.boolean == absent; });
  }
  if (absent) {
    if (op_.if_exists) return true;
    switch (op_.qualifier) {
      case SetQualifier::kForAnyValue:
        return false;
      case SetQualifier::kForAllValues:
        return true;  // vacuous truth, as in AWS
      case SetQualifier::kNone:
        return op_.negated;
    }
  }
  // Per request value: the operator's verdict (a negated operator holds when no policy value
  // matches); a value of the wrong type makes the verdict false either way.
  auto verdict = [&](const std::string& value) {
    const std::optional<bool> hit = matchesAny(ctx, value);
    if (!hit) return false;
    return op_.negated ? !*hit : *hit;
  };
  switch (op_.qualifier) {
    case SetQualifier::kForAnyValue:
      return std::any_of(request->begin(), request->end(), verdict);
    case SetQualifier::kForAllValues:
      return std::all_of(request->begin(), request->end(), verdict);
    case SetQualifier::kNone:
      // A single-valued key has one value. Should a multi-valued key reach an unqualified
      // operator, a positive one holds when some value matches and a negated one is its exact
      // complement (no value matches), so `X` and `NotX` never both hold.
      return op_.negated ? std::all_of(request->begin(), request->end(), verdict)
                         : std::any_of(request->begin(), request->end(), verdict);
  }
  return false;
}

}  // namespace basalt::policy::detail
