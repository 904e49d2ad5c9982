#include "toml_reader.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace basalt::config::detail {
namespace {

/// Edit distance for "did you mean" suggestions; keys are short, so O(n*m) is fine.
std::size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string withArticle(std::string_view noun) {
  const bool vowel =
      !noun.empty() && std::string_view("aeiou").find(noun[0]) != std::string_view::npos;
  return std::string(vowel ? "an " : "a ") + std::string(noun);
}

}  // namespace

Position positionOf(const toml::source_region& region) {
  return Position{static_cast<std::uint32_t>(region.begin.line),
                  static_cast<std::uint32_t>(region.begin.column)};
}

void Diagnostics::add(Position at, std::string path, std::string message) {
  entries_.push_back(Entry{at, std::move(path), std::move(message)});
}

Error Diagnostics::toError() const {
  std::vector<const Entry*> sorted;
  sorted.reserve(entries_.size());
  for (const Entry& entry : entries_) sorted.push_back(&entry);
  // Stable: problems at one position keep the order they were found in.
  std::stable_sort(sorted.begin(), sorted.end(), [](const Entry* a, const Entry* b) {
    const auto key = [](const Entry* e) {
      const std::uint32_t no_line = e->at.line == 0 ? 1 : 0;
      return std::tuple(no_line, e->at.line, e->at.column);
    };
    return key(a) < key(b);
  });
  std::string message;
  const std::size_t shown = std::min(sorted.size(), kMaxReported);
  for (std::size_t i = 0; i < shown; ++i) {
    const Entry& entry = *sorted[i];
    if (i > 0) message += '\n';
    if (entry.at.line > 0) {
      message += source_ + ":" + std::to_string(entry.at.line) + ":" +
                 std::to_string(entry.at.column) + ": ";
    }
    message += entry.message;
  }
  if (sorted.size() > shown) {
    message += "\n(" + std::to_string(sorted.size() - shown) + " more problems not shown)";
  }
  return Error::invalid(std::move(message), sorted.empty() ? std::string() : sorted[0]->path,
                        "config_invalid");
}

std::string inQuotes(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out += '\'';
  out += text;
  out += '\'';
  return out;
}

std::string_view typeName(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table:
      return "table";
    case toml::node_type::array:
      return "array";
    case toml::node_type::string:
      return "string";
    case toml::node_type::integer:
      return "integer";
    case toml::node_type::floating_point:
      return "float";
    case toml::node_type::boolean:
      return "boolean";
    case toml::node_type::date:
      return "date";
    case toml::node_type::time:
      return "time";
    case toml::node_type::date_time:
      return "date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

TableReader::TableReader(Diagnostics& diags, const toml::table& table, std::string path)
    : diags_(diags), table_(table), path_(std::move(path)) {}

std::string TableReader::pathOf(std::string_view key) const {
  if (path_.empty()) return std::string(key);
  std::string out = path_;
  out += '.';
  out += key;
  return out;
}

Position TableReader::keyPos(std::string_view key) const {
  const auto it = table_.find(key);
  if (it == table_.end()) return tablePos();
  return positionOf(it->first.source());
}

const toml::node* TableReader::lookup(std::string_view key) {
  known_.emplace(key);
  return table_.get(key);
}

void TableReader::typeError(std::string_view key, const toml::node& node,
                            std::string_view expected) {
  diags_.add(positionOf(node.source()), pathOf(key),
             inQuotes(pathOf(key)) + " must be " + withArticle(expected) + ", got " +
                 std::string(typeName(node)));
}

bool TableReader::getString(std::string_view key, std::string& out) {
  const toml::node* node = lookup(key);
  if (node == nullptr) return false;
  if (const auto* value = node->as_string()) {
    out = value->get();
    return true;
  }
  typeError(key, *node, "string");
  return false;
}

bool TableReader::getBool(std::string_view key, bool& out) {
  const toml::node* node = lookup(key);
  if (node == nullptr) return false;
  if (const auto* value = node->as_boolean()) {
    out = value->get();
    return true;
  }
  typeError(key, *node, "boolean");
  return false;
}

bool TableReader::getInt(std::string_view key, std::int64_t& out) {
  const toml::node* node = lookup(key);
  if (node == nullptr) return false;
  if (const auto* value = node->as_integer()) {
    out = value->get();
    return true;
  }
  typeError(key, *node, "integer");
  return false;
}

bool TableReader::getNumber(std::string_view key, double& out) {
  const toml::node* node = lookup(key);
  if (node == nullptr) return false;
  if (const auto* value = node->as_integer()) {
    out = static_cast<double>(value->get());
    return true;
  }
  if (const auto* value = node->as_floating_point()) {
    if (!std::isfinite(value->get())) {
      error(key, inQuotes(pathOf(key)) + " must be a finite number");
      return false;
    }
    out = value->get();
    return true;
  }
  typeError(key, *node, "number");
  return false;
}

const toml::table* TableReader::getTable(std::string_view key) {
  const toml::node* node = lookup(key);
  if (node == nullptr) return nullptr;
  if (const toml::table* table = node->as_table()) return table;
  typeError(key, *node, "table");
  return nullptr;
}

const toml::array* TableReader::getArray(std::string_view key) {
  const toml::node* node = lookup(key);
  if (node == nullptr) return nullptr;
  if (const toml::array* array = node->as_array()) return array;
  typeError(key, *node, "array");
  return nullptr;
}

bool TableReader::getInt64In(std::string_view key, std::int64_t& out, std::int64_t min,
                             std::int64_t max) {
  std::int64_t value = 0;
  if (!getInt(key, value)) return false;
  if (value < min || value > max) {
    std::string range;
    if (max == std::numeric_limits<std::int64_t>::max() || max == std::numeric_limits<int>::max()) {
      range = min == 1 ? "greater than 0" : "at least " + std::to_string(min);
    } else {
      range = "between " + std::to_string(min) + " and " + std::to_string(max);
    }
    error(key, inQuotes(pathOf(key)) + " must be " + range + ", got " + std::to_string(value));
    return false;
  }
  out = value;
  return true;
}

bool TableReader::getIntIn(std::string_view key, int& out, std::int64_t min, std::int64_t max) {
  std::int64_t value = 0;
  if (!getInt64In(key, value, min, std::min<std::int64_t>(max, std::numeric_limits<int>::max()))) {
    return false;
  }
  out = static_cast<int>(value);
  return true;
}

bool TableReader::getSizeIn(std::string_view key, std::size_t& out, std::int64_t min,
                            std::int64_t max) {
  std::int64_t value = 0;
  if (!getInt64In(key, value, min, max)) return false;
  out = static_cast<std::size_t>(value);
  return true;
}

bool TableReader::getOneOf(std::string_view key, std::string& out,
                           std::initializer_list<std::string_view> allowed) {
  std::string value;
  if (!getString(key, value)) return false;
  if (std::find(allowed.begin(), allowed.end(), value) != allowed.end()) {
    out = std::move(value);
    return true;
  }
  std::string choices;
  for (std::string_view choice : allowed) {
    if (!choices.empty()) choices += ", ";
    choices += choice;
  }
  error(key, inQuotes(pathOf(key)) + " must be one of " + choices + ", got " + inQuotes(value));
  return false;
}

bool TableReader::requireString(std::string_view key, std::string& out) {
  std::string value;
  if (!has(key)) {
    known_.emplace(key);
    tableError("missing required key " + inQuotes(pathOf(key)));
    return false;
  }
  if (!getString(key, value)) return false;
  if (value.empty()) {
    error(key, inQuotes(pathOf(key)) + " must not be empty");
    return false;
  }
  out = std::move(value);
  return true;
}

void TableReader::forbid(std::string_view key, std::string message) {
  known_.emplace(key);
  forbidden_.emplace(key);
  if (has(key)) error(key, std::move(message));
}

void TableReader::error(std::string_view key, std::string message) {
  diags_.add(keyPos(key), pathOf(key), std::move(message));
}

void TableReader::tableError(std::string message) {
  diags_.add(tablePos(), path_, std::move(message));
}

void TableReader::finish() {
  for (const auto& [key, node] : table_) {
    const std::string_view name = key.str();
    if (known_.contains(name)) continue;
    std::string message = "unknown key " + inQuotes(pathOf(name));
    std::string_view best;
    std::size_t best_distance = 3;  // suggest only close misspellings
    for (const std::string& candidate : known_) {
      if (forbidden_.contains(candidate)) continue;
      const std::size_t distance = editDistance(name, candidate);
      if (distance < best_distance) {
        best_distance = distance;
        best = candidate;
      }
    }
    if (!best.empty()) message += " (did you mean " + inQuotes(best) + "?)";
    diags_.add(positionOf(key.source()), pathOf(name), std::move(message));
  }
}

}  // namespace basalt::config::detail
