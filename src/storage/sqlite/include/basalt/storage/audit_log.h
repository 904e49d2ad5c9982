#pragma once
/// The read side of the audit chain in SQLite: verify, query, export. Opens the database
/// read-only, so it runs beside a live gateway (WAL readers never block the writer).

#include "basalt/audit/chain.h"
#include "basalt/audit/signing_key.h"
#include "basalt/core/error.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace basalt::storage {

class Db;

struct AuditQuery {
  std::string principal;  ///< userIdentity.userName; empty = everyone
  std::optional<std::chrono::system_clock::time_point> since;  ///< eventTime >= since
  std::size_t limit = 100;                                     ///< 0 = no limit
};

class AuditLog {
 public:
  /// Opens `db_path` read-only; kNotFound when there is no Basalt database there.
  static Result<std::unique_ptr<AuditLog>> open(const std::string& db_path);
  ~AuditLog();

  /// Walks the whole chain in seq order (see audit::ChainVerifier): hashes, links, seq
  /// continuity, seal signatures by `key` and sealed heads. Reads one consistent snapshot even
  /// while the gateway appends. Result.ok false = tampering, with the first bad seq; an Error
  /// only when the database cannot be read.
  Result<audit::VerifyResult> verify(const audit::PublicKey& key);

  /// Matching records, oldest first, at most `limit`: the stored canonical JSON texts.
  Result<std::vector<std::string>> query(const AuditQuery& q);

  /// Calls `line` with every record in seq order (stop early by returning false); returns how
  /// many records were passed.
  Result<std::uint64_t> exportAll(const std::function<bool(std::string_view)>& line);

  /// The seals, oldest first (for `basalt audit seals` and tests).
  Result<std::vector<audit::StoredSeal>> seals();

 private:
  explicit AuditLog(std::unique_ptr<Db> db);
  std::unique_ptr<Db> db_;
};

}  // namespace basalt::storage
