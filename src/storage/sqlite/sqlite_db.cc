#include "sqlite_db.h"

#include <fcntl.h>
#include <unistd.h>

#include <string>

namespace basalt::storage {

Error sqliteError(sqlite3* db, int rc, std::string_view what) {
  const int primary = rc & 0xFF;
  std::string detail = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  std::string message = std::string(what) + ": " + detail;
  Error e;
  e.message = std::move(message);
  switch (primary) {
    case SQLITE_FULL:
      e.kind = ErrorKind::kUpstreamUnavailable;
      e.code = "storage_full";
      break;
    case SQLITE_READONLY:
      e.kind = ErrorKind::kUpstreamUnavailable;
      e.code = "storage_read_only";
      break;
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
      e.kind = ErrorKind::kUpstreamUnavailable;
      e.code = "storage_io_error";
      break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      e.kind = ErrorKind::kUpstreamUnavailable;
      e.code = "storage_busy";
      break;
    case SQLITE_CONSTRAINT:
      if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
        e.kind = ErrorKind::kInvalidRequest;
        e.code = "already_exists";
      } else if (rc == SQLITE_CONSTRAINT_FOREIGNKEY) {
        e.kind = ErrorKind::kNotFound;
        e.code = "not_found";
      } else {
        e.kind = ErrorKind::kInvalidRequest;
        e.code = "constraint_violation";
      }
      break;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      e.kind = ErrorKind::kInternal;
      e.code = "storage_corrupt";
      break;
    default:
      e.kind = ErrorKind::kInternal;
      e.code = "storage_error";
  }
  return e;
}

Stmt& Stmt::operator=(Stmt&& o) noexcept {
  if (this != &o) {
    sqlite3_finalize(stmt_);
    db_ = o.db_;
    stmt_ = o.stmt_;
    o.stmt_ = nullptr;
  }
  return *this;
}

Stmt::~Stmt() {
  sqlite3_finalize(stmt_);
}

Stmt& Stmt::bind(int i, std::string_view text) {
  sqlite3_bind_text64(stmt_, i, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  return *this;
}

Stmt& Stmt::bind(int i, std::int64_t v) {
  sqlite3_bind_int64(stmt_, i, v);
  return *this;
}

Stmt& Stmt::bind(int i, std::optional<std::int64_t> v) {
  if (v) {
    sqlite3_bind_int64(stmt_, i, *v);
  } else {
    sqlite3_bind_null(stmt_, i);
  }
  return *this;
}

Stmt& Stmt::bindBlob(int i, const void* data, std::size_t size) {
  sqlite3_bind_blob64(stmt_, i, data, size, SQLITE_TRANSIENT);
  return *this;
}

Stmt& Stmt::bindNull(int i) {
  sqlite3_bind_null(stmt_, i);
  return *this;
}

int Stmt::step() {
  return sqlite3_step(stmt_);
}

Result<void> Stmt::run(std::string_view what) {
  const int rc = sqlite3_step(stmt_);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
    Error e = sqliteError(db_, rc, what);
    sqlite3_reset(stmt_);
    return e;
  }
  sqlite3_reset(stmt_);
  return {};
}

void Stmt::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

bool Stmt::isNull(int c) const {
  return sqlite3_column_type(stmt_, c) == SQLITE_NULL;
}

std::int64_t Stmt::i64(int c) const {
  return sqlite3_column_int64(stmt_, c);
}

std::optional<std::int64_t> Stmt::optI64(int c) const {
  if (isNull(c)) return std::nullopt;
  return sqlite3_column_int64(stmt_, c);
}

std::string_view Stmt::textView(int c) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, c));
  if (p == nullptr) return {};
  return {p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, c))};
}

std::string_view Stmt::blobView(int c) const {
  const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, c));
  if (p == nullptr) return {};
  return {p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, c))};
}

Db& Db::operator=(Db&& o) noexcept {
  if (this != &o) {
    sqlite3_close_v2(db_);
    db_ = o.db_;
    o.db_ = nullptr;
  }
  return *this;
}

Db::~Db() {
  sqlite3_close_v2(db_);
}

Result<void> Db::exec(const char* sql, std::string_view what) {
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return sqliteError(db_, rc, what);
  return {};
}

Result<Stmt> Db::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) return sqliteError(db_, rc, "prepare");
  return Stmt(db_, stmt);
}

namespace {

// Reads the schema version; 0 for a database without one (new).
Result<int> schemaVersion(Db& db) {
  auto has = db.prepare(
      "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'");
  if (!has) return has.error();
  if (has->step() != SQLITE_ROW) return sqliteError(db.get(), SQLITE_ERROR, "read schema");
  if (has->i64(0) == 0) return 0;
  auto st = db.prepare("SELECT max(version) FROM schema_version");
  if (!st) return st.error();
  const int rc = st->step();
  if (rc != SQLITE_ROW) return sqliteError(db.get(), rc, "read schema version");
  return static_cast<int>(st->i64(0));
}

Error tooNew(const std::string& path, int version, int latest) {
  return Error::internal(path + ": database schema version " + std::to_string(version) +
                         " is newer than this binary supports (" + std::to_string(latest) +
                         "); upgrade Basalt");
}

Result<void> migrate(Db& db, const std::string& path, std::span<const Migration> migrations) {
  const int latest = migrations.empty() ? 0 : migrations.back().version;
  // A current schema needs no write lock, so a database that has become read-only still
  // opens (and its writers then fail closed on each write rather than at start-up).
  auto seen = schemaVersion(db);
  if (!seen) return seen.error();
  if (*seen > latest) return tooNew(path, *seen, latest);
  if (*seen == latest) return {};

  Transaction txn(db);
  if (auto r = txn.begin(); !r) return r.error();
  auto current = schemaVersion(db);  // again, under the lock: another process may have won
  if (!current) return current.error();
  if (*current > latest) return tooNew(path, *current, latest);
  if (*current == latest) return {};
  if (*current == 0) {
    if (auto r = db.exec("CREATE TABLE schema_version (version INTEGER NOT NULL)",
                         "create schema_version");
        !r) {
      return r.error();
    }
  }
  int last = *current;
  for (const Migration& m : migrations) {
    if (m.version <= last) {
      if (m.version <= *current) continue;
      return Error::internal("migrations are not in increasing order");
    }
    const std::string sql(m.sql);
    if (auto r = db.exec(sql.c_str(), "migration " + std::to_string(m.version)); !r) {
      return r.error();
    }
    last = m.version;
  }
  auto set = db.prepare("DELETE FROM schema_version; ");
  if (!set) return set.error();
  if (auto r = set->run("update schema_version"); !r) return r.error();
  auto ins = db.prepare("INSERT INTO schema_version (version) VALUES (?)");
  if (!ins) return ins.error();
  ins->bind(1, static_cast<std::int64_t>(last));
  if (auto r = ins->run("update schema_version"); !r) return r.error();
  return txn.commit();
}

}  // namespace

Result<Db> Db::open(const std::string& path, const OpenOptions& options,
                    std::span<const Migration> migrations) {
  if (options.mode == OpenMode::kReadWrite) {
    // The database holds key digests and SigV4 secrets: create it private. SQLite gives its
    // -wal and -shm files the mode of the database file.
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) ::close(fd);
  }
  sqlite3* raw = nullptr;
  const int flags =
      (options.mode == OpenMode::kReadOnly ? SQLITE_OPEN_READONLY
                                           : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
      SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  Db db(raw);  // owns the handle even when opening failed
  if (rc != SQLITE_OK) return sqliteError(raw, rc, "open " + path);
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, options.busy_timeout_ms);

  // Durability: WAL with synchronous=FULL syncs the WAL on every commit, so a commit that
  // returned survives power loss, not just a process crash.
  if (options.mode == OpenMode::kReadWrite) {
    auto wal = db.prepare("PRAGMA journal_mode = WAL");
    if (!wal) return wal.error();
    const int step = wal->step();
    if (step != SQLITE_ROW) return sqliteError(raw, step, "set WAL mode on " + path);
    if (wal->textView(0) != "wal") {
      return Error::internal(path + ": cannot switch to WAL mode (" + wal->text(0) + ")");
    }
  }
  if (auto r = db.exec("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;", "configure " + path);
      !r) {
    return r.error();
  }
  if (options.max_page_count > 0) {
    const std::string pragma = "PRAGMA max_page_count = " + std::to_string(options.max_page_count);
    if (auto r = db.exec(pragma.c_str(), "set max_page_count"); !r) return r.error();
  }

  if (options.mode == OpenMode::kReadWrite) {
    if (auto r = migrate(db, path, migrations); !r) return r.error();
  } else {
    auto v = schemaVersion(db);
    if (!v) return v.error();
    const int latest = migrations.empty() ? 0 : migrations.back().version;
    if (*v == 0) return Error::notFound(path + ": not a Basalt database (no schema)");
    if (*v > latest) return tooNew(path, *v, latest);
  }
  return db;
}

Transaction::~Transaction() {
  rollback();
}

Result<void> Transaction::begin() {
  if (auto r = db_.exec("BEGIN IMMEDIATE", "begin transaction"); !r) return r.error();
  open_ = true;
  return {};
}

Result<void> Transaction::commit() {
  if (auto r = db_.exec("COMMIT", "commit"); !r) {
    rollback();
    return r.error();
  }
  open_ = false;
  return {};
}

void Transaction::rollback() {
  if (!open_) return;
  open_ = false;
  // After some errors (SQLITE_FULL, I/O) SQLite has already rolled back; then this fails
  // harmlessly.
  if (sqlite3_get_autocommit(db_.get()) == 0) {
    sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

}  // namespace basalt::storage
