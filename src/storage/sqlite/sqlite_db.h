#pragma once
// Private to basalt_storage_sqlite: a thin RAII layer over the sqlite3 C API (connection,
// statement, transaction) that turns every failure into a basalt::Error.

#include "basalt/core/error.h"
#include "basalt/storage/migrations.h"

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace basalt::storage {

/// An Error for SQLite result code `rc` on `db` while doing `what`. Disk trouble (full,
/// read-only, I/O, busy) becomes kUpstreamUnavailable so callers fail closed with 503.
Error sqliteError(sqlite3* db, int rc, std::string_view what);

class Stmt {
 public:
  Stmt() = default;
  Stmt(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Stmt(Stmt&& o) noexcept : db_(o.db_), stmt_(o.stmt_) { o.stmt_ = nullptr; }
  Stmt& operator=(Stmt&& o) noexcept;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt();

  // Parameters are 1-based, as in SQL.
  Stmt& bind(int i, std::string_view text);
  Stmt& bind(int i, std::int64_t v);
  Stmt& bind(int i, std::optional<std::int64_t> v);
  Stmt& bindBlob(int i, const void* data, std::size_t size);
  Stmt& bindNull(int i);

  /// SQLITE_ROW, SQLITE_DONE or an error code.
  int step();
  /// Steps to completion; an Error unless it ends with SQLITE_DONE.
  Result<void> run(std::string_view what);
  /// Makes the statement ready for new bindings.
  void reset();

  // Columns are 0-based.
  bool isNull(int c) const;
  std::int64_t i64(int c) const;
  std::optional<std::int64_t> optI64(int c) const;
  std::string_view textView(int c) const;
  std::string text(int c) const { return std::string(textView(c)); }
  std::string_view blobView(int c) const;

  sqlite3* db() const { return db_; }

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

enum class OpenMode : std::uint8_t {
  kReadWrite,  ///< create if missing, apply migrations
  kReadOnly,   ///< never writes; refuses a database without a schema or with a newer one
};

struct OpenOptions {
  OpenMode mode = OpenMode::kReadWrite;
  int busy_timeout_ms = 5000;
  std::int64_t max_page_count = 0;  ///< > 0: PRAGMA max_page_count (caps the file size)
};

/// One SQLite connection. Not thread-safe: each owner serializes its own use.
class Db {
 public:
  Db() = default;
  Db(Db&& o) noexcept : db_(o.db_) { o.db_ = nullptr; }
  Db& operator=(Db&& o) noexcept;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  ~Db();

  /// Opens `path`, sets WAL, synchronous=FULL, foreign keys and the busy timeout, and brings
  /// the schema up to date with `migrations` (kReadWrite) or checks it (kReadOnly).
  static Result<Db> open(const std::string& path, const OpenOptions& options,
                         std::span<const Migration> migrations);

  Result<void> exec(const char* sql, std::string_view what);
  Result<Stmt> prepare(std::string_view sql);
  sqlite3* get() const { return db_; }

 private:
  explicit Db(sqlite3* db) : db_(db) {}
  sqlite3* db_ = nullptr;
};

/// BEGIN IMMEDIATE ... COMMIT; rolls back when destroyed uncommitted.
class Transaction {
 public:
  explicit Transaction(Db& db) : db_(db) {}
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();
  Result<void> begin();
  Result<void> commit();
  void rollback();

 private:
  Db& db_;
  bool open_ = false;
};

}  // namespace basalt::storage
