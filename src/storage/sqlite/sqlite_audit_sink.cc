#include "basalt/storage/sqlite_audit_sink.h"

#include "basalt/audit/chain.h"
#include "basalt/core/assert.h"
#include "basalt/core/log.h"
#include "sqlite_db.h"

#include <utility>
#include <vector>

namespace basalt::storage {

struct SqliteAuditSink::Pending {
  audit::PreparedRecord record;
  audit::AppendCallback done;
};

namespace {

struct Head {
  std::uint64_t seq = 0;
  std::string hash{audit::kGenesisHash};
  std::uint64_t sealed_seq = 0;
};

constexpr std::string_view kSelectHead = "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1";
constexpr std::string_view kSelectSealed = "SELECT coalesce(max(seq), 0) FROM audit_seals";

// The chain head and the last seal, as of the current transaction. The statements are reset
// before returning: a statement left on a row would hold its read transaction open.
Result<Head> readHead(Db& db, Stmt& head_st, Stmt& seal_st) {
  Head head;
  int rc = head_st.step();
  if (rc == SQLITE_ROW) {
    head.seq = static_cast<std::uint64_t>(head_st.i64(0));
    head.hash = head_st.text(1);
  }
  head_st.reset();
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return sqliteError(db.get(), rc, "read audit head");
  rc = seal_st.step();
  if (rc == SQLITE_ROW) head.sealed_seq = static_cast<std::uint64_t>(seal_st.i64(0));
  seal_st.reset();
  if (rc != SQLITE_ROW) return sqliteError(db.get(), rc, "read audit seals");
  return head;
}

Result<Head> readHead(Db& db) {
  auto head_st = db.prepare(kSelectHead);
  if (!head_st) return head_st.error();
  auto seal_st = db.prepare(kSelectSealed);
  if (!seal_st) return seal_st.error();
  return readHead(db, *head_st, *seal_st);
}

Error unavailable(const Error& cause) {
  Error e;
  e.kind = ErrorKind::kUpstreamUnavailable;
  e.code = "audit_unavailable";
  e.message = "audit log unavailable: " + cause.message;
  return e;
}

std::int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void complete(const audit::AppendCallback& done, Result<std::uint64_t> r) {
  if (!done) return;
  try {
    done(std::move(r));
  } catch (...) {
    BASALT_BUG("audit append callback threw");
  }
}

}  // namespace

struct SqliteAuditSink::Statements {
  Stmt head;
  Stmt sealed;
  Stmt insert;
  Stmt insert_seal;
};

Result<SqliteAuditSink::Statements*> SqliteAuditSink::statements() {
  if (statements_) return statements_.get();
  auto head = db_->prepare(kSelectHead);
  if (!head) return head.error();
  auto sealed = db_->prepare(kSelectSealed);
  if (!sealed) return sealed.error();
  auto insert = db_->prepare(
      "INSERT INTO audit (seq, record, hash, prev_hash, principal, event_time) "
      "VALUES (?, ?, ?, ?, ?, ?)");
  if (!insert) return insert.error();
  auto insert_seal = db_->prepare(
      "INSERT INTO audit_seals (seq, head_hash, key_fingerprint, signature, sealed_at, prev_seq) "
      "VALUES (?, ?, ?, ?, ?, ?)");
  if (!insert_seal) return insert_seal.error();
  statements_ = std::make_unique<Statements>(Statements{
      std::move(*head), std::move(*sealed), std::move(*insert), std::move(*insert_seal)});
  return statements_.get();
}

Result<std::unique_ptr<SqliteAuditSink>> SqliteAuditSink::open(AuditSinkOptions options,
                                                               audit::SigningKey key) {
  OpenOptions open_options;
  open_options.max_page_count = options.max_page_count;
  auto db = Db::open(options.db_path, open_options, builtinMigrations());
  if (!db) return db.error();
  auto owned = std::make_unique<Db>(std::move(*db));
  auto head = readHead(*owned);
  if (!head) return head.error();
  std::unique_ptr<SqliteAuditSink> sink(
      new SqliteAuditSink(std::move(options), std::move(key), std::move(owned)));
  sink->head_seq_ = head->seq;
  sink->sealed_seq_ = head->sealed_seq;
  sink->stats_.head_seq = head->seq;
  if (sqlite3_db_readonly(sink->db_->get(), "main") == 1) {
    // Opened anyway so the gateway can start and answer 503 (and /readyz false) rather than
    // not start at all; every append fails until the file is writable again.
    log::error("audit: {} is read-only; audited calls will fail closed", sink->options_.db_path);
    sink->healthy_ = false;
  }
  sink->writer_ = std::thread([s = sink.get()] { s->run(); });
  return sink;
}

SqliteAuditSink::SqliteAuditSink(AuditSinkOptions options, audit::SigningKey key,
                                 std::unique_ptr<Db> db)
    : options_(std::move(options)),
      key_(std::move(key)),
      db_(std::move(db)),
      last_seal_(std::chrono::steady_clock::now()) {}

SqliteAuditSink::~SqliteAuditSink() {
  close();
}

void SqliteAuditSink::append(audit::AuditEvent event, audit::AppendCallback done) {
  Pending p{audit::prepareRecord(event), std::move(done)};
  std::unique_lock lock(mu_);
  if (closed_) {
    lock.unlock();
    complete(p.done, unavailable(Error::internal("the audit sink is closed")));
    return;
  }
  const bool was_empty = queue_.empty();
  queue_.push_back(std::move(p));
  lock.unlock();
  // The writer only sleeps on an empty queue, so only the first event needs to wake it.
  if (was_empty) cv_.notify_one();
}

bool SqliteAuditSink::healthy() const {
  std::lock_guard lock(mu_);
  return healthy_ && !closed_;
}

void SqliteAuditSink::close() {
  if (std::this_thread::get_id() == writer_.get_id()) {
    BASALT_BUG("SqliteAuditSink::close() called from an append callback");
    return;
  }
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    closed_ = true;
    stopping_ = true;
  }
  cv_.notify_one();
  if (writer_.joinable()) writer_.join();
}

AuditSinkStats SqliteAuditSink::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void SqliteAuditSink::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    while (queue_.empty() && !stopping_) {
      if (head_seq_ > sealed_seq_) {
        const auto deadline = last_seal_ + options_.seal_every;
        if (cv_.wait_until(lock, deadline) == std::cv_status::timeout && queue_.empty() &&
            !stopping_) {
          lock.unlock();
          (void)sealHead();
          lock.lock();
        }
      } else {
        cv_.wait(lock);
      }
    }
    if (queue_.empty()) break;  // stopping, and everything is written
    std::deque<Pending> batch;
    if (queue_.size() <= options_.max_batch) {
      batch.swap(queue_);
    } else {
      const auto end = queue_.begin() + static_cast<std::ptrdiff_t>(options_.max_batch);
      batch.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(end));
      queue_.erase(queue_.begin(), end);
    }
    lock.unlock();
    writeBatch(batch);
    lock.lock();
  }
  lock.unlock();
  // A clean shutdown leaves no unsealed tail.
  if (head_seq_ > sealed_seq_) (void)sealHead();
}

Result<void> SqliteAuditSink::insertSeal(std::uint64_t seq, const std::string& hash,
                                         std::uint64_t prev_seal_seq) {
  auto sig = key_.sign(audit::sealMessage(seq, hash, prev_seal_seq));
  if (!sig) return sig.error();
  auto stmts = statements();
  if (!stmts) return stmts.error();
  Stmt* st = &(*stmts)->insert_seal;
  st->reset();
  st->bind(1, static_cast<std::int64_t>(seq)).bind(2, hash).bind(3, key_.publicKey().fingerprint());
  st->bindBlob(4, sig->data(), sig->size()).bind(5, nowMs());
  st->bind(6, static_cast<std::int64_t>(prev_seal_seq));
  return st->run("insert audit seal");
}

Result<void> SqliteAuditSink::sealHead() {
  last_seal_ = std::chrono::steady_clock::now();
  Transaction txn(*db_);
  auto r = [&]() -> Result<void> {
    if (auto b = txn.begin(); !b) return b;
    auto stmts = statements();
    if (!stmts) return stmts.error();
    auto head = readHead(*db_, (*stmts)->head, (*stmts)->sealed);
    if (!head) return head.error();
    if (head->seq > head->sealed_seq) {
      if (auto s = insertSeal(head->seq, head->hash, head->sealed_seq); !s) return s;
    }
    if (auto c = txn.commit(); !c) return c;
    head_seq_ = head->seq;
    sealed_seq_ = head->seq;
    return {};
  }();
  std::lock_guard lock(mu_);
  if (r) {
    ++stats_.seals;
  } else {
    log::warn("audit: sealing failed: {}", r.error().message);
  }
  return r;
}

void SqliteAuditSink::writeBatch(std::deque<Pending>& batch) {
  std::vector<std::uint64_t> seqs;
  seqs.reserve(batch.size());
  bool sealed = false;
  Head head;
  Transaction txn(*db_);
  const Result<void> r = [&]() -> Result<void> {
    if (auto b = txn.begin(); !b) return b;
    // The head is read inside the write transaction, so seqs stay gap-free even if another
    // process appended since our last batch.
    auto stmts = statements();
    if (!stmts) return stmts.error();
    auto h = readHead(*db_, (*stmts)->head, (*stmts)->sealed);
    if (!h) return h.error();
    head = std::move(*h);
    Stmt* insert = &(*stmts)->insert;
    for (const Pending& p : batch) {
      const std::uint64_t seq = head.seq + 1;
      const std::string text = p.record.withSeq(seq);
      std::string hash = audit::chainHash(head.hash, text);
      insert->reset();
      insert->bind(1, static_cast<std::int64_t>(seq)).bind(2, text).bind(3, hash);
      insert->bind(4, head.hash).bind(5, p.record.user_name).bind(6, p.record.event_time_ms);
      if (auto i = insert->run("append audit record"); !i) return i;
      head.seq = seq;
      head.hash = std::move(hash);
      seqs.push_back(seq);
    }
    if (head.seq - head.sealed_seq >= options_.seal_every_records) {
      if (auto s = insertSeal(head.seq, head.hash, head.sealed_seq); !s) return s;
      sealed = true;
    }
    return txn.commit();
  }();

  if (r) {
    head_seq_ = head.seq;
    if (sealed) {
      sealed_seq_ = head.seq;
      last_seal_ = std::chrono::steady_clock::now();
    } else {
      sealed_seq_ = head.sealed_seq;
    }
    {
      std::lock_guard lock(mu_);
      healthy_ = true;
      stats_.events += batch.size();
      ++stats_.transactions;
      if (sealed) ++stats_.seals;
      stats_.head_seq = head.seq;
    }
    for (std::size_t i = 0; i < batch.size(); ++i) complete(batch[i].done, seqs[i]);
    return;
  }

  txn.rollback();
  const Error e = unavailable(r.error());
  {
    std::lock_guard lock(mu_);
    if (healthy_) log::error("audit: {} (failing calls closed until it recovers)", e.message);
    healthy_ = false;
    stats_.failed_events += batch.size();
  }
  for (Pending& p : batch) complete(p.done, e);
}

}  // namespace basalt::storage
