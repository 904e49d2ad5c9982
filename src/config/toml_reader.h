#pragma once
/// Internal: typed, position-aware reads from a toml++ table. Every problem becomes a diagnostic
/// (never an exception) that names FILE:LINE:COLUMN and the full key path; keys a schema never
/// asked for are reported as unknown. Nothing outside src/config includes this header.

#include "basalt/core/error.h"

#include <toml++/toml.h>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace basalt::config::detail {

/// A place in the document; line 0 means "not from the file" (environment, command line).
struct Position {
  std::uint32_t line = 0;
  std::uint32_t column = 0;
};

Position positionOf(const toml::source_region& region);

/// Collects every problem in one load so that a user can fix them in one pass.
class Diagnostics {
 public:
  explicit Diagnostics(std::string source) : source_(std::move(source)) {}

  /// Records a problem; `message` is complete ("'server.threads' must be ..."), `path` is the
  /// offending key path for Error::param.
  void add(Position at, std::string path, std::string message);
  bool empty() const { return entries_.empty(); }
  const std::string& source() const { return source_; }

  /// All problems in document order (then the ones without a position), one per line, each
  /// prefixed with `source:line:column: `; at most kMaxReported are listed.
  Error toError() const;

  static constexpr std::size_t kMaxReported = 20;

 private:
  struct Entry {
    Position at;
    std::string path;
    std::string message;
  };
  std::string source_;
  std::vector<Entry> entries_;
};

/// "'a.b'" — the quoting every message uses for key paths and values.
std::string inQuotes(std::string_view text);

/// "string", "integer", "float", ... as messages name TOML types.
std::string_view typeName(const toml::node& node);

/// Reads the keys of one table. Every getter records its key as known, so finish() can report
/// the keys the schema never asked about. Getters return false when the key is absent or has
/// the wrong type (the latter is reported at the value's position); `out` is then untouched.
class TableReader {
 public:
  TableReader(Diagnostics& diags, const toml::table& table, std::string path);

  /// The full path of a key in this table: "providers[0].name".
  std::string pathOf(std::string_view key) const;
  const std::string& path() const { return path_; }
  /// Where the key is written, or where the table starts when it is absent.
  Position keyPos(std::string_view key) const;
  Position tablePos() const { return positionOf(table_.source()); }
  bool has(std::string_view key) const { return table_.contains(key); }

  bool getString(std::string_view key, std::string& out);
  bool getBool(std::string_view key, bool& out);
  bool getInt(std::string_view key, std::int64_t& out);
  /// An integer or a float, as a double.
  bool getNumber(std::string_view key, double& out);
  const toml::table* getTable(std::string_view key);
  const toml::array* getArray(std::string_view key);

  /// getInt, then checks min <= value <= max (reported at the key).
  bool getIntIn(std::string_view key, int& out, std::int64_t min, std::int64_t max);
  bool getSizeIn(std::string_view key, std::size_t& out, std::int64_t min, std::int64_t max);
  bool getInt64In(std::string_view key, std::int64_t& out, std::int64_t min, std::int64_t max);
  /// A string that must be one of `allowed`.
  bool getOneOf(std::string_view key, std::string& out,
                std::initializer_list<std::string_view> allowed);
  /// A string that must be present and non-empty; reports a missing key at the table.
  bool requireString(std::string_view key, std::string& out);

  /// Marks `key` as known but not allowed here and reports it when present; used for keys that
  /// exist for another provider type, and for literal secrets. Known-but-forbidden keys are not
  /// offered as "did you mean" suggestions.
  void forbid(std::string_view key, std::string message);
  /// Reports a problem with `key` at the key's position.
  void error(std::string_view key, std::string message);
  /// Reports a problem with the table as a whole at the table's position.
  void tableError(std::string message);

  /// Reports every key of the table that no getter asked for.
  void finish();

 private:
  const toml::node* lookup(std::string_view key);
  void typeError(std::string_view key, const toml::node& node, std::string_view expected);

  Diagnostics& diags_;
  const toml::table& table_;
  std::string path_;
  std::set<std::string, std::less<>> known_;
  std::set<std::string, std::less<>> forbidden_;
};

/// Calls `fn(TableReader&, index)` for each element of an array of tables at `path`; elements
/// that are not tables are reported. fn must call reader.finish().
template <class Fn>
void forEachTable(Diagnostics& diags, const toml::array& array, const std::string& path, Fn&& fn) {
  for (std::size_t i = 0; i < array.size(); ++i) {
    const std::string element_path = path + "[" + std::to_string(i) + "]";
    const toml::node& node = *array.get(i);
    if (const toml::table* table = node.as_table()) {
      TableReader reader(diags, *table, element_path);
      fn(reader, i);
    } else {
      diags.add(positionOf(node.source()), element_path,
                inQuotes(element_path) + " must be a table, got " + std::string(typeName(node)));
    }
  }
}

}  // namespace basalt::config::detail
