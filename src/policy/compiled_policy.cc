// Policy document compiler: the only place in basalt_policy that sees JSON.

#include "basalt/policy/compiled_policy.h"

#include "policy_body.h"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

namespace basalt::policy {

const detail::PolicyBody& bodyOf(const CompiledPolicy& policy) {
  return *policy.body_;
}

namespace {

namespace json = boost::json;
using detail::Condition;
using detail::Pattern;
using detail::Statement;

constexpr std::string_view kCode = "MalformedPolicyDocument";

Error malformed(std::string message, std::string param = {}) {
  return Error::invalid(std::move(message), std::move(param), std::string(kCode));
}

std::string at(std::size_t index) {
  return "Statement[" + std::to_string(index) + "]";
}

/// SAX handler that stops at the first object key repeated within one object. json::parse keeps
/// only the last of duplicate keys; in a policy that would silently drop, say, one of two
/// "StringEquals" blocks and widen an Allow, so such documents are rejected instead.
// NOLINTBEGIN(readability-identifier-naming): the member names are Boost.JSON's handler API.
class DuplicateKeyFinder {
 public:
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  std::string duplicate;  ///< the repeated key, empty when none

  bool on_document_begin(boost::system::error_code&) { return true; }
  bool on_document_end(boost::system::error_code&) { return true; }
  bool on_object_begin(boost::system::error_code&) {
    keys_.emplace_back();
    return true;
  }
  bool on_object_end(std::size_t, boost::system::error_code&) {
    keys_.pop_back();
    return true;
  }
  bool on_array_begin(boost::system::error_code&) { return true; }
  bool on_array_end(std::size_t, boost::system::error_code&) { return true; }
  bool on_key_part(std::string_view part, std::size_t, boost::system::error_code&) {
    key_.append(part);
    return true;
  }
  bool on_key(std::string_view part, std::size_t, boost::system::error_code& ec) {
    key_.append(part);
    std::vector<std::string>& seen = keys_.back();
    if (std::find(seen.begin(), seen.end(), key_) != seen.end()) {
      duplicate = key_;
      ec = json::error::syntax;
      return false;
    }
    seen.push_back(std::move(key_));
    key_.clear();
    return true;
  }
  bool on_string_part(std::string_view, std::size_t, boost::system::error_code&) { return true; }
  bool on_string(std::string_view, std::size_t, boost::system::error_code&) { return true; }
  bool on_number_part(std::string_view, boost::system::error_code&) { return true; }
  bool on_int64(std::int64_t, std::string_view, boost::system::error_code&) { return true; }
  bool on_uint64(std::uint64_t, std::string_view, boost::system::error_code&) { return true; }
  bool on_double(double, std::string_view, boost::system::error_code&) { return true; }
  bool on_bool(bool, boost::system::error_code&) { return true; }
  bool on_null(boost::system::error_code&) { return true; }
  bool on_comment_part(std::string_view, boost::system::error_code&) { return true; }
  bool on_comment(std::string_view, boost::system::error_code&) { return true; }

 private:
  std::vector<std::vector<std::string>> keys_;
  std::string key_;
};
// NOLINTEND(readability-identifier-naming)

/// The first key that appears twice in one object of `document` (already known to be valid
/// JSON), or empty.
std::string findDuplicateKey(std::string_view document, const json::parse_options& opts) {
  json::basic_parser<DuplicateKeyFinder> parser(opts);
  boost::system::error_code ec;
  parser.write_some(false, document.data(), document.size(), ec);
  return std::move(parser.handler().duplicate);
}

/// Compiles one statement; errors carry no location (the caller prefixes "Statement[i]: ").
class StatementCompiler {
 public:
  StatementCompiler(PolicyVersion version, const CompileLimits& limits)
      : variables_(version == PolicyVersion::k2012_10_17), limits_(limits) {}

  Result<Statement> compile(const json::object& obj) {
    Statement st;
    const json::value* action = nullptr;
    const json::value* not_action = nullptr;
    const json::value* resource = nullptr;
    const json::value* not_resource = nullptr;
    const json::value* effect = nullptr;
    for (const auto& [key, value] : obj) {
      if (key == "Sid") {
        if (!value.is_string()) return Error::invalid("Sid must be a string");
        st.sid = value.get_string();
      } else if (key == "Effect") {
        effect = &value;
      } else if (key == "Action") {
        action = &value;
      } else if (key == "NotAction") {
        not_action = &value;
      } else if (key == "Resource") {
        resource = &value;
      } else if (key == "NotResource") {
        not_resource = &value;
      } else if (key == "Condition") {
        auto ok = compileConditions(value, st.conditions);
        if (!ok) return ok.error();
      } else if (key == "Principal" || key == "NotPrincipal") {
        return Error::invalid(std::string(key) +
                              " is not allowed in an identity policy (it names who is allowed "
                              "by a resource policy; attach this policy to the principal instead)");
      } else {
        return Error::invalid("unknown element '" + std::string(key) + "'");
      }
    }

    if (effect == nullptr) return Error::invalid("missing Effect");
    if (!effect->is_string() ||
        (effect->get_string() != "Allow" && effect->get_string() != "Deny")) {
      return Error::invalid("Effect must be \"Allow\" or \"Deny\"");
    }
    st.deny = effect->get_string() == "Deny";

    if ((action != nullptr) == (not_action != nullptr)) {
      return Error::invalid(action != nullptr ? "has both Action and NotAction"
                                              : "missing Action or NotAction");
    }
    st.not_action = not_action != nullptr;
    auto actions = compileList(st.not_action ? *not_action : *action,
                               st.not_action ? "NotAction" : "Action", /*is_action=*/true);
    if (!actions) return actions.error();
    st.actions = std::move(*actions);

    if ((resource != nullptr) == (not_resource != nullptr)) {
      return Error::invalid(resource != nullptr ? "has both Resource and NotResource"
                                                : "missing Resource or NotResource");
    }
    st.not_resource = not_resource != nullptr;
    auto resources = compileList(st.not_resource ? *not_resource : *resource,
                                 st.not_resource ? "NotResource" : "Resource",
                                 /*is_action=*/false);
    if (!resources) return resources.error();
    st.resources = std::move(*resources);
    return st;
  }

 private:
  Result<std::vector<Pattern>> compileList(const json::value& value, std::string_view element,
                                           bool is_action) {
    std::vector<const json::string*> items;
    if (value.is_string()) {
      items.push_back(&value.get_string());
    } else if (value.is_array()) {
      for (const json::value& item : value.get_array()) {
        if (!item.is_string()) {
          return Error::invalid(std::string(element) + " entries must be strings");
        }
        items.push_back(&item.get_string());
      }
    } else {
      return Error::invalid(std::string(element) + " must be a string or an array of strings");
    }
    if (items.empty()) return Error::invalid(std::string(element) + " must not be empty");

    std::vector<Pattern> out;
    out.reserve(items.size());
    for (const json::string* item : items) {
      const std::string_view text(item->data(), item->size());
      if (text.size() > limits_.max_string_bytes) {
        return Error::invalid(std::string(element) + " entry longer than " +
                              std::to_string(limits_.max_string_bytes) + " bytes");
      }
      if (is_action) {
        const std::size_t colon = text.find(':');
        if (text != "*" && (colon == std::string_view::npos || colon == 0)) {
          return Error::invalid(std::string(element) + " '" + std::string(text) +
                                "' must be prefixed by a service, e.g. bedrock:InvokeModel");
        }
      } else if (text != "*" && text.substr(0, 4) != "arn:") {
        return Error::invalid(std::string(element) + " '" + std::string(text) +
                              "' must be \"*\" or an ARN (arn:partition:service:...)");
      }
      auto pattern =
          Pattern::compile(text, {.wildcards = true, .variables = !is_action && variables_});
      if (!pattern) return pattern.error();
      out.push_back(std::move(*pattern));
    }
    return out;
  }

  Result<void> compileConditions(const json::value& value, std::vector<Condition>& out) {
    if (!value.is_object()) return Error::invalid("Condition must be an object");
    for (const auto& [op_name, block] : value.get_object()) {
      auto op = detail::parseOperator(op_name);
      if (!op) return op.error();
      if (!block.is_object()) {
        return Error::invalid("condition operator '" + std::string(op_name) +
                              "' must map condition keys to values");
      }
      for (const auto& [key, values] : block.get_object()) {
        if (key.size() > limits_.max_string_bytes) {
          return Error::invalid("condition key longer than " +
                                std::to_string(limits_.max_string_bytes) + " bytes");
        }
        std::vector<std::string> texts;
        const std::string_view key_name = key;  // lambdas may not capture structured bindings
        auto add = [&](const json::value& v) -> Result<void> {
          std::string text;
          if (v.is_string()) {
            text = v.get_string();
          } else if (v.is_bool()) {
            text = v.get_bool() ? "true" : "false";
          } else if (v.is_int64() || v.is_uint64() || v.is_double()) {
            text = json::serialize(v);  // AWS accepts unquoted numbers and booleans
          } else {
            return Error::invalid("condition values for key '" + std::string(key_name) +
                                  "' must be strings, numbers or booleans");
          }
          if (text.size() > limits_.max_string_bytes) {
            return Error::invalid("condition value longer than " +
                                  std::to_string(limits_.max_string_bytes) + " bytes");
          }
          texts.push_back(std::move(text));
          return {};
        };
        if (values.is_array()) {
          for (const json::value& v : values.get_array()) {
            auto ok = add(v);
            if (!ok) return ok.error();
          }
        } else {
          auto ok = add(values);
          if (!ok) return ok.error();
        }
        auto condition = Condition::compile(*op, op_name, key, texts, variables_);
        if (!condition) return condition.error();
        out.push_back(std::move(*condition));
      }
    }
    return {};
  }

  bool variables_;
  const CompileLimits& limits_;
};

}  // namespace

Result<CompiledPolicy> CompiledPolicy::compile(std::string name, std::string_view document,
                                               const CompileLimits& limits) {
  if (document.size() > limits.max_document_bytes) {
    return Error::invalid("policy document is " + std::to_string(document.size()) +
                              " bytes; the limit is " + std::to_string(limits.max_document_bytes),
                          {}, "LimitExceeded");
  }
  std::size_t significant = 0;
  for (char c : document) {
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') ++significant;
  }
  if (significant > limits.max_policy_chars) {
    return Error::invalid("policy document has " + std::to_string(significant) +
                              " characters (whitespace excluded); the limit is " +
                              std::to_string(limits.max_policy_chars),
                          {}, "LimitExceeded");
  }

  // The parse tree lives in a stack-seeded arena and dies with this call.
  unsigned char arena[8192];
  json::monotonic_resource mr(arena, sizeof arena);
  json::parse_options opts;
  opts.max_depth = 16;
  boost::system::error_code ec;
  const json::value root = json::parse(document, ec, &mr, opts);
  if (ec) return malformed("policy document is not valid JSON: " + ec.message());
  if (!root.is_object()) return malformed("policy document must be a JSON object");
  if (std::string dup = findDuplicateKey(document, opts); !dup.empty()) {
    return malformed("policy document repeats the key '" + dup + "' within one object");
  }

  auto body = std::make_shared<detail::PolicyBody>();
  body->name = std::move(name);
  const json::value* statements = nullptr;
  for (const auto& [key, value] : root.get_object()) {
    if (key == "Version") {
      if (value.is_string() && value.get_string() == "2012-10-17") {
        body->version = PolicyVersion::k2012_10_17;
      } else if (value.is_string() && value.get_string() == "2008-10-17") {
        body->version = PolicyVersion::k2008_10_17;
      } else {
        return malformed("Version must be \"2012-10-17\" or \"2008-10-17\"", "Version");
      }
    } else if (key == "Id") {
      if (!value.is_string()) return malformed("Id must be a string", "Id");
      body->id = value.get_string();
    } else if (key == "Statement") {
      statements = &value;
    } else {
      return malformed("unknown top-level element '" + std::string(key) + "'", std::string(key));
    }
  }
  if (statements == nullptr) return malformed("missing Statement", "Statement");

  std::vector<const json::object*> items;
  if (statements->is_object()) {
    items.push_back(&statements->get_object());
  } else if (statements->is_array()) {
    std::size_t index = 0;
    for (const json::value& item : statements->get_array()) {
      if (!item.is_object()) return malformed(at(index) + ": must be an object", at(index));
      items.push_back(&item.get_object());
      ++index;
    }
  } else {
    return malformed("Statement must be an object or an array of objects", "Statement");
  }
  if (items.empty()) return malformed("Statement must not be empty", "Statement");
  if (items.size() > limits.max_statements) {
    return Error::invalid("policy has " + std::to_string(items.size()) +
                              " statements; the limit is " + std::to_string(limits.max_statements),
                          "Statement", "LimitExceeded");
  }

  StatementCompiler compiler(body->version, limits);
  std::unordered_set<std::string_view> sids;
  body->statements.reserve(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    auto st = compiler.compile(*items[i]);
    if (!st) return malformed(at(i) + ": " + st.error().message, at(i));
    body->statements.push_back(std::move(*st));
  }
  for (std::size_t i = 0; i < body->statements.size(); ++i) {
    const std::string& sid = body->statements[i].sid;
    if (!sid.empty() && !sids.insert(sid).second) {
      return malformed(at(i) + ": duplicate Sid '" + sid + "'", at(i));
    }
  }
  return CompiledPolicy(std::move(body));
}

const std::string& CompiledPolicy::name() const {
  return body_->name;
}
PolicyVersion CompiledPolicy::version() const {
  return body_->version;
}
const std::string& CompiledPolicy::id() const {
  return body_->id;
}
std::size_t CompiledPolicy::statementCount() const {
  return body_->statements.size();
}
std::string_view CompiledPolicy::statementSid(std::size_t index) const {
  return body_->statements[index].sid;
}

}  // namespace basalt::policy
