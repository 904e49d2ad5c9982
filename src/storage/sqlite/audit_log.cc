#include "basalt/storage/audit_log.h"

#include "basalt/storage/migrations.h"
#include "sqlite_db.h"

#include <limits>

namespace basalt::storage {
namespace {

// Keeps one read transaction open, so a multi-statement read sees one commit.
struct ReadTxn {
  explicit ReadTxn(Db& db) : db_(db) {}
  ReadTxn(const ReadTxn&) = delete;
  ReadTxn& operator=(const ReadTxn&) = delete;
  Result<void> begin() {
    if (auto r = db_.exec("BEGIN", "begin read"); !r) return r;
    open_ = true;
    return {};
  }
  ~ReadTxn() {
    if (open_) sqlite3_exec(db_.get(), "COMMIT", nullptr, nullptr, nullptr);
  }
  Db& db_;
  bool open_ = false;
};

Result<std::vector<audit::StoredSeal>> readSeals(Db& db) {
  std::vector<audit::StoredSeal> out;
  auto st = db.prepare(
      "SELECT seq, head_hash, key_fingerprint, signature, sealed_at, prev_seq FROM audit_seals "
      "ORDER BY seq");
  if (!st) return st.error();
  for (int rc = st->step(); rc != SQLITE_DONE; rc = st->step()) {
    if (rc != SQLITE_ROW) return sqliteError(db.get(), rc, "read audit seals");
    out.push_back(audit::StoredSeal{static_cast<std::uint64_t>(st->i64(0)), st->text(1),
                                    st->text(2), std::string(st->blobView(3)), st->i64(4),
                                    static_cast<std::uint64_t>(st->i64(5))});
  }
  return out;
}

}  // namespace

AuditLog::AuditLog(std::unique_ptr<Db> db) : db_(std::move(db)) {}
AuditLog::~AuditLog() = default;

Result<std::unique_ptr<AuditLog>> AuditLog::open(const std::string& db_path) {
  OpenOptions options;
  options.mode = OpenMode::kReadOnly;
  auto db = Db::open(db_path, options, builtinMigrations());
  if (!db) return db.error();
  return std::unique_ptr<AuditLog>(new AuditLog(std::make_unique<Db>(std::move(*db))));
}

Result<std::vector<audit::StoredSeal>> AuditLog::seals() {
  return readSeals(*db_);
}

Result<audit::VerifyResult> AuditLog::verify(const audit::PublicKey& key) {
  ReadTxn txn(*db_);
  if (auto r = txn.begin(); !r) return r.error();
  auto seals = readSeals(*db_);
  if (!seals) return seals.error();
  audit::ChainVerifier verifier(key, std::move(*seals));
  auto st = db_->prepare("SELECT seq, record, prev_hash, hash FROM audit ORDER BY seq");
  if (!st) return st.error();
  for (int rc = st->step(); rc != SQLITE_DONE; rc = st->step()) {
    if (rc != SQLITE_ROW) return sqliteError(db_->get(), rc, "read audit records");
    const audit::StoredRecord rec{static_cast<std::uint64_t>(st->i64(0)), st->textView(1),
                                  st->textView(2), st->textView(3)};
    if (!verifier.add(rec)) break;
  }
  audit::VerifyResult result = verifier.finish();

  // A record sitting at a lower seq than it was written at is either a reordering or the
  // result of deleting one and renumbering the rest: tell them apart by looking for the
  // record that was written at the bad seq.
  if (result.defect == audit::Defect::kReordered) {
    auto find = db_->prepare("SELECT count(*) FROM audit WHERE json_extract(record, '$.seq') = ?");
    if (!find) return find.error();
    find->bind(1, static_cast<std::int64_t>(result.bad_seq));
    if (find->step() == SQLITE_ROW && find->i64(0) == 0) {
      result.defect = audit::Defect::kRemoved;
      result.reason = "seq " + std::to_string(result.bad_seq) +
                      " is missing (the records after it were renumbered)";
    }
  }
  return result;
}

Result<std::vector<std::string>> AuditLog::query(const AuditQuery& q) {
  const std::int64_t since =
      q.since ? std::chrono::duration_cast<std::chrono::milliseconds>(q.since->time_since_epoch())
                    .count()
              : std::numeric_limits<std::int64_t>::min();
  auto st = db_->prepare(
      q.principal.empty()
          ? "SELECT record FROM audit WHERE event_time >= ?2 ORDER BY seq LIMIT ?3"
          : "SELECT record FROM audit WHERE principal = ?1 AND event_time >= ?2 ORDER BY seq "
            "LIMIT ?3");
  if (!st) return st.error();
  if (!q.principal.empty()) st->bind(1, q.principal);
  st->bind(2, since).bind(3, q.limit == 0 ? std::int64_t{-1} : static_cast<std::int64_t>(q.limit));
  std::vector<std::string> out;
  for (int rc = st->step(); rc != SQLITE_DONE; rc = st->step()) {
    if (rc != SQLITE_ROW) return sqliteError(db_->get(), rc, "query audit records");
    out.push_back(st->text(0));
  }
  return out;
}

Result<std::uint64_t> AuditLog::exportAll(const std::function<bool(std::string_view)>& line) {
  auto st = db_->prepare("SELECT record FROM audit ORDER BY seq");
  if (!st) return st.error();
  std::uint64_t n = 0;
  for (int rc = st->step(); rc != SQLITE_DONE; rc = st->step()) {
    if (rc != SQLITE_ROW) return sqliteError(db_->get(), rc, "export audit records");
    ++n;
    if (!line(st->textView(0))) break;
  }
  return n;
}

}  // namespace basalt::storage
