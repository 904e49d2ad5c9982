#include "basalt/storage/response_store.h"

#include "sqlite_db.h"

namespace basalt::storage {
namespace {

std::int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

struct ResponseStore::Impl {
  Db db;
  std::chrono::hours ttl;
  std::mutex mu;
};

ResponseStore::ResponseStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ResponseStore::~ResponseStore() = default;

Result<std::unique_ptr<ResponseStore>> ResponseStore::open(const std::string& db_path,
                                                           std::chrono::hours ttl) {
  Result<Db> db = Db::open(db_path, OpenOptions{}, builtinMigrations());
  if (!db) return db.error();
  if (Result<void> r = db->exec("PRAGMA synchronous = NORMAL", "set synchronous"); !r) {
    return r.error();
  }
  auto impl = std::make_unique<Impl>();
  impl->db = std::move(*db);
  impl->ttl = ttl;
  return std::unique_ptr<ResponseStore>(new ResponseStore(std::move(impl)));
}

Result<void> ResponseStore::put(const StoredResponse& response) {
  if (response.response.size() + response.conversation.size() > kMaxRowBytes) {
    return Error::invalid("the response is too large to store (limit " +
                          std::to_string(kMaxRowBytes >> 20U) + " MiB)");
  }
  std::lock_guard lock(impl_->mu);
  const std::int64_t now = nowMs();
  Result<Stmt> sweep = impl_->db.prepare("DELETE FROM responses WHERE expires_at <= ?");
  if (!sweep) return sweep.error();
  sweep->bind(1, now);
  if (Result<void> r = sweep->run("sweep expired responses"); !r) return r.error();

  Result<Stmt> st = impl_->db.prepare(
      "INSERT OR REPLACE INTO responses (id, principal_id, created_at, expires_at, response, "
      "conversation) VALUES (?, ?, ?, ?, ?, ?)");
  if (!st) return st.error();
  const std::int64_t created = response.created_at_ms > 0 ? response.created_at_ms : now;
  const std::int64_t ttl_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(impl_->ttl).count();
  st->bind(1, response.id)
      .bind(2, response.principal_id)
      .bind(3, created)
      .bind(4, now + ttl_ms)
      .bind(5, response.response)
      .bind(6, response.conversation);
  return st->run("store response");
}

Result<std::optional<StoredResponse>> ResponseStore::get(std::string_view id,
                                                         std::string_view principal_id) {
  std::lock_guard lock(impl_->mu);
  Result<Stmt> st = impl_->db.prepare(
      "SELECT created_at, response, conversation FROM responses "
      "WHERE id = ? AND principal_id = ? AND expires_at > ?");
  if (!st) return st.error();
  st->bind(1, id).bind(2, principal_id).bind(3, nowMs());
  const int rc = st->step();
  if (rc == SQLITE_DONE) return std::optional<StoredResponse>{};
  if (rc != SQLITE_ROW) return sqliteError(st->db(), rc, "read stored response");
  StoredResponse out;
  out.id = std::string(id);
  out.principal_id = std::string(principal_id);
  out.created_at_ms = st->i64(0);
  out.response = st->text(1);
  out.conversation = st->text(2);
  return std::optional<StoredResponse>(std::move(out));
}

Result<bool> ResponseStore::remove(std::string_view id, std::string_view principal_id) {
  std::lock_guard lock(impl_->mu);
  Result<Stmt> st = impl_->db.prepare("DELETE FROM responses WHERE id = ? AND principal_id = ?");
  if (!st) return st.error();
  st->bind(1, id).bind(2, principal_id);
  if (Result<void> r = st->run("delete stored response"); !r) return r.error();
  return sqlite3_changes(impl_->db.get()) > 0;
}

}  // namespace basalt::storage
