#pragma once
/// The SQLite implementation of audit::AuditSink: one writer thread, group commit, the hash
/// chain, and periodic Ed25519 seals.
///
/// append() only serializes the event (on the caller's thread) and queues it. The writer takes
/// everything queued, and in ONE transaction reads the chain head, assigns consecutive seqs,
/// inserts the records (and a seal when due), and commits with synchronous=FULL; only then are
/// the callbacks run with their seqs. While one commit syncs, new events pile up for the next,
/// so the cost of the fsync is shared by everyone waiting. A crash can lose only events whose
/// callbacks never ran, and since seqs are assigned inside the transaction that makes them
/// durable, it never leaves a gap. See docs/adr/0007-audit-chain.md.

#include "basalt/audit/audit_sink.h"
#include "basalt/audit/signing_key.h"
#include "basalt/core/error.h"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace basalt::storage {

class Db;

struct AuditSinkOptions {
  std::string db_path;  ///< the Basalt database (DATA/basalt.db)
  /// Seal when this many records were written since the last seal...
  std::uint64_t seal_every_records = 1000;
  /// ...or when this much time passed since the last seal and records are unsealed.
  std::chrono::milliseconds seal_every{std::chrono::seconds(60)};
  /// The largest group committed in one transaction.
  std::size_t max_batch = 4096;
  /// > 0 caps the database at this many pages (PRAGMA max_page_count): an operator's hard
  /// size limit, and how tests provoke SQLITE_FULL.
  std::int64_t max_page_count = 0;
};

struct AuditSinkStats {
  std::uint64_t events = 0;        ///< records committed
  std::uint64_t transactions = 0;  ///< successful commits that carried records
  std::uint64_t seals = 0;
  std::uint64_t failed_events = 0;  ///< events answered with an Error
  std::uint64_t head_seq = 0;
};

class SqliteAuditSink final : public audit::AuditSink {
 public:
  /// Opens the database (creating and migrating it if needed) and starts the writer thread.
  /// `key` signs the seals (SigningKey::loadOrCreate(DATA/audit-ed25519.pem) in the app).
  static Result<std::unique_ptr<SqliteAuditSink>> open(AuditSinkOptions options,
                                                       audit::SigningKey key);
  /// close(), then releases the database.
  ~SqliteAuditSink() override;

  void append(audit::AuditEvent event, audit::AppendCallback done) override;
  bool healthy() const override;

  /// Writes everything queued, seals the head, and stops the writer. Appends after close()
  /// fail with "audit_unavailable". Idempotent. Not from inside an append callback.
  void close();

  AuditSinkStats stats() const;
  const audit::PublicKey& publicKey() const { return key_.publicKey(); }

 private:
  struct Pending;
  struct Statements;
  SqliteAuditSink(AuditSinkOptions options, audit::SigningKey key, std::unique_ptr<Db> db);
  void run();
  void writeBatch(std::deque<Pending>& batch);
  Result<void> sealHead();
  Result<void> insertSeal(std::uint64_t seq, const std::string& hash, std::uint64_t prev_seal_seq);
  /// The writer's prepared statements, prepared on first use (a batch used to re-parse its
  /// SQL every time: most of the writer's CPU at small batch sizes).
  Result<Statements*> statements();

  const AuditSinkOptions options_;
  const audit::SigningKey key_;
  std::unique_ptr<Db> db_;  // used only by the writer thread (and by open/close around it)
  std::unique_ptr<Statements> statements_;  // declared after db_: finalized before it closes

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;
  bool stopping_ = false;
  bool closed_ = false;
  bool healthy_ = true;
  AuditSinkStats stats_;

  // Writer-thread state.
  std::uint64_t sealed_seq_ = 0;
  std::uint64_t head_seq_ = 0;
  std::chrono::steady_clock::time_point last_seal_;

  std::thread writer_;
};

}  // namespace basalt::storage
