#pragma once
// Private to basalt_agents: the AgentStore's connection, lock and SQL helpers shared by the
// store's .cc files (agent_store.cc: documents, agents, sessions, events, leases;
// store_vault_memory.cc: credentials, memories).

#include "basalt/agents/agent_store.h"
#include "basalt/agents/vault_cipher.h"

#include "sqlite_db.h"  // storage/sqlite's private RAII layer (same database file)

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace basalt::agents {

std::int64_t nowMs();

/// Positional arguments collected while a query is built.
struct Args {
  std::vector<std::variant<std::string, std::int64_t>> values;
  Args& add(std::string_view s) {
    values.emplace_back(std::string(s));
    return *this;
  }
  Args& add(std::int64_t v) {
    values.emplace_back(v);
    return *this;
  }
  void bindTo(storage::Stmt& st) const;
};

/// `AND (owner_id = ?)` for non-root callers (column prefix `col`), nothing for root.
std::string ownerClause(const Access& access, Args& args, std::string_view col = "owner_id");

/// Opaque list cursors: a row position (rowid or seq) behind a prefix.
std::string encodeCursor(std::int64_t position);
Result<std::int64_t> decodeCursor(std::string_view page);

Error conflict(std::string message, std::string param = {});

struct AgentStore::Impl {
  storage::Db db;
  std::mutex mu;
  std::string vault_key_path;
  std::optional<VaultCipher> cipher;  ///< loaded on first use
  std::function<void(const std::string&, std::int64_t)> on_append;

  Result<const VaultCipher*> vaultCipher();
  /// The owner of a document if `access` may see it; 404 otherwise.
  Result<Document> documentLocked(DocKind kind, const Access& access, std::string_view id);
};

}  // namespace basalt::agents
