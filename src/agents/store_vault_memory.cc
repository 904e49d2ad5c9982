// AgentStore: vault credentials (secrets sealed with VaultCipher) and memories with their
// immutable versions.

#include "basalt/agents/agent_store.h"

#include "store_impl.h"

#include "basalt/core/ids.h"

#include <algorithm>
#include <set>
#include <utility>

namespace basalt::agents {

using storage::Db;
using storage::Stmt;
using storage::Transaction;

namespace {

constexpr std::size_t kMaxPathBytes = 1024;
constexpr std::size_t kMaxMemoryBytes = 102400;  // the SDK documents 100 kB
constexpr int kMaxSegments = 20;

Error notFound(std::string_view what, std::string_view id) {
  return Error::notFound("No " + std::string(what) + " with id '" + std::string(id) + "'",
                         "not_found");
}

constexpr const char* kCredCols =
    "c.rowid, c.id, c.vault_id, v.owner_id, c.mcp_server_url, c.body, c.created_at, "
    "c.updated_at, c.archived_at";

Credential readCredential(const Stmt& st) {
  Credential c;
  c.id = st.text(1);
  c.vault_id = st.text(2);
  c.owner_id = st.text(3);
  if (!st.isNull(4)) c.mcp_server_url = st.text(4);
  c.body = st.text(5);
  c.created_at_ms = st.i64(6);
  c.updated_at_ms = st.i64(7);
  c.archived_at_ms = st.optI64(8);
  return c;
}

Result<Credential> credentialLocked(Db& db, const Access& access, std::string_view vault_id,
                                    std::string_view id) {
  Args args;
  args.add(id).add(vault_id);
  const std::string sql = std::string("SELECT ") + kCredCols +
                          " FROM agent_vault_credentials c JOIN agent_vaults v ON v.id = "
                          "c.vault_id WHERE c.id = ? AND c.vault_id = ?" +
                          ownerClause(access, args, "v.owner_id");
  Result<Stmt> st = db.prepare(sql);
  if (!st) return st.error();
  args.bindTo(*st);
  const int rc = st->step();
  if (rc == SQLITE_DONE) return notFound("credential", id);
  if (rc != SQLITE_ROW) return storage::sqliteError(db.get(), rc, "read credential");
  return readCredential(*st);
}

bool isUniqueViolation(const Error& e) {
  return e.message.find("UNIQUE") != std::string::npos ||
         e.message.find("constraint") != std::string::npos;
}

Error duplicateUrl(std::string_view url) {
  return conflict(
      "The vault already has a credential for mcp_server_url '" + std::string(url) + "'",
      "auth.mcp_server_url");
}

constexpr const char* kMemoryCols =
    "rowid, id, store_id, path, content, content_sha256, length(CAST(content AS BLOB)), "
    "version_id, created_at, updated_at";

Memory readMemory(const Stmt& st) {
  Memory m;
  m.id = st.text(1);
  m.store_id = st.text(2);
  m.path = st.text(3);
  m.content = st.text(4);
  m.content_sha256 = st.text(5);
  m.content_size = st.i64(6);
  m.version_id = st.text(7);
  m.created_at_ms = st.i64(8);
  m.updated_at_ms = st.i64(9);
  return m;
}

constexpr const char* kVersionCols =
    "rowid, id, store_id, memory_id, operation, path, content, content_sha256, content_size, "
    "actor, created_at, redacted_at";

MemoryVersion readVersion(const Stmt& st) {
  MemoryVersion v;
  v.id = st.text(1);
  v.store_id = st.text(2);
  v.memory_id = st.text(3);
  v.operation = st.text(4);
  v.path = st.text(5);
  if (!st.isNull(6)) v.content = st.text(6);
  if (!st.isNull(7)) v.content_sha256 = st.text(7);
  v.content_size = st.optI64(8);
  v.actor = st.text(9);
  v.created_at_ms = st.i64(10);
  v.redacted_at_ms = st.optI64(11);
  return v;
}

/// As the SDK documents: starts with '/', 1 to 20 segments, none empty, "." or "..", no
/// control characters, at most 1,024 bytes.
Result<void> validatePath(std::string_view path, std::string_view param) {
  const auto bad = [&](std::string why) {
    return Error::invalid("'" + std::string(param) + "' " + why, std::string(param));
  };
  if (path.empty()) return bad("must not be empty");
  if (path.size() > kMaxPathBytes) return bad("is longer than 1024 bytes");
  for (char c : path) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return bad("must not contain control characters");
    }
  }
  if (path.front() != '/') return bad("must start with '/'");
  std::string_view rest = path.substr(1);
  int segments = 0;
  while (true) {
    if (++segments > kMaxSegments) return bad("has more than 20 segments");
    const std::size_t slash = rest.find('/');
    const std::string_view seg = rest.substr(0, slash);
    if (seg.empty() || seg == "." || seg == "..") {
      return bad("must be '/'-separated names (no empty, '.' or '..' segment)");
    }
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  return {};
}

Result<void> validateContent(std::string_view content) {
  if (content.size() > kMaxMemoryBytes) {
    return Error::invalid("'content' is larger than 100 kB (102,400 bytes)", "content");
  }
  return {};
}

/// The memory store if `access` may see it (404 otherwise); writes also need it live.
Result<Document> storeFor(AgentStore::Impl& impl, const Access& access, std::string_view id,
                          bool write) {
  Result<Document> d = impl.documentLocked(DocKind::kMemoryStore, access, id);
  if (!d) return d;
  if (write && d->archived_at_ms) {
    return Error::invalid("Memory store '" + std::string(id) + "' is archived", "memory_store_id");
  }
  return d;
}

Result<Memory> memoryWhere(Db& db, std::string_view store_id, std::string_view col,
                           std::string_view value) {
  Result<Stmt> st =
      db.prepare(std::string("SELECT ") + kMemoryCols +
                 " FROM agent_memories WHERE store_id = ? AND " + std::string(col) + " = ?");
  if (!st) return st.error();
  st->bind(1, store_id).bind(2, value);
  const int rc = st->step();
  if (rc == SQLITE_DONE) {
    return Error::notFound(
        "No memory with " + std::string(col) + " '" + std::string(value) + "' in this memory store",
        "not_found");
  }
  if (rc != SQLITE_ROW) return storage::sqliteError(db.get(), rc, "read memory");
  return readMemory(*st);
}

/// Adds a version row; returns its id.
Result<std::string> addVersion(Db& db, std::string_view store_id, std::string_view memory_id,
                               std::string_view operation, std::string_view path,
                               std::optional<std::string_view> content, std::string_view actor,
                               std::int64_t now) {
  std::string id = randomId("memver_");
  Result<Stmt> st = db.prepare(
      "INSERT INTO agent_memory_versions (id, store_id, memory_id, operation, path, content, "
      "content_sha256, content_size, actor, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  if (!st) return st.error();
  st->bind(1, id).bind(2, store_id).bind(3, memory_id).bind(4, operation).bind(5, path);
  if (content) {
    st->bind(6, *content)
        .bind(7, sha256Hex(*content))
        .bind(8, static_cast<std::int64_t>(content->size()));
  } else {
    st->bindNull(6).bindNull(7).bindNull(8);
  }
  st->bind(9, actor.empty() ? std::string_view("{}") : actor).bind(10, now);
  if (Result<void> r = st->run("add memory version"); !r) return r.error();
  return id;
}

Error pathTaken(std::string_view path) {
  return conflict("A memory already exists at path '" + std::string(path) + "'", "path");
}

Result<bool> pathExists(Db& db, std::string_view store_id, std::string_view path) {
  Result<Stmt> st =
      db.prepare("SELECT count(*) FROM agent_memories WHERE store_id = ? AND path = ?");
  if (!st) return st.error();
  st->bind(1, store_id).bind(2, path);
  if (st->step() != SQLITE_ROW) return storage::sqliteError(db.get(), SQLITE_ERROR, "read");
  return st->i64(0) > 0;
}

Result<Memory> insertMemory(Db& db, std::string id, std::string_view store_id,
                            std::string_view path, std::string_view content,
                            std::string_view actor) {
  Result<bool> taken = pathExists(db, store_id, path);
  if (!taken) return taken.error();
  if (*taken) return pathTaken(path);
  const std::int64_t now = nowMs();
  Memory m;
  m.id = std::move(id);
  m.store_id = std::string(store_id);
  m.path = std::string(path);
  m.content = std::string(content);
  m.content_sha256 = sha256Hex(content);
  m.content_size = static_cast<std::int64_t>(content.size());
  m.created_at_ms = m.updated_at_ms = now;
  Result<std::string> ver = addVersion(db, store_id, m.id, "created", path, content, actor, now);
  if (!ver) return ver.error();
  m.version_id = std::move(*ver);
  Result<Stmt> st = db.prepare(
      "INSERT INTO agent_memories (id, store_id, path, content, content_sha256, version_id, "
      "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  if (!st) return st.error();
  st->bind(1, m.id)
      .bind(2, store_id)
      .bind(3, path)
      .bind(4, content)
      .bind(5, m.content_sha256)
      .bind(6, m.version_id)
      .bind(7, now)
      .bind(8, now);
  if (Result<void> r = st->run("create memory"); !r) return r.error();
  return m;
}

Result<Memory> changeMemory(Db& db, Memory m, std::optional<std::string_view> content,
                            std::optional<std::string_view> path, std::string_view actor) {
  const bool content_changes = content && *content != m.content;
  const bool path_changes = path && *path != m.path;
  if (!content_changes && !path_changes) return m;
  if (path_changes) {
    Result<bool> taken = pathExists(db, m.store_id, *path);
    if (!taken) return taken.error();
    if (*taken) return pathTaken(*path);
    m.path = std::string(*path);
  }
  if (content_changes) {
    m.content = std::string(*content);
    m.content_sha256 = sha256Hex(m.content);
    m.content_size = static_cast<std::int64_t>(m.content.size());
  }
  const std::int64_t now = nowMs();
  Result<std::string> ver =
      addVersion(db, m.store_id, m.id, "modified", m.path, m.content, actor, now);
  if (!ver) return ver.error();
  m.version_id = std::move(*ver);
  m.updated_at_ms = now;
  Result<Stmt> st = db.prepare(
      "UPDATE agent_memories SET path = ?, content = ?, content_sha256 = ?, version_id = ?, "
      "updated_at = ? WHERE id = ?");
  if (!st) return st.error();
  st->bind(1, m.path)
      .bind(2, m.content)
      .bind(3, m.content_sha256)
      .bind(4, m.version_id)
      .bind(5, now)
      .bind(6, m.id);
  if (Result<void> r = st->run("update memory"); !r) return r.error();
  return m;
}

Result<MemoryVersion> versionLocked(Db& db, std::string_view store_id, std::string_view id) {
  Result<Stmt> st = db.prepare(std::string("SELECT ") + kVersionCols +
                               " FROM agent_memory_versions WHERE store_id = ? AND id = ?");
  if (!st) return st.error();
  st->bind(1, store_id).bind(2, id);
  const int rc = st->step();
  if (rc == SQLITE_DONE) return notFound("memory version", id);
  if (rc != SQLITE_ROW) return storage::sqliteError(db.get(), rc, "read memory version");
  return readVersion(*st);
}

}  // namespace

// ---- credentials --------------------------------------------------------------------------

Result<Credential> AgentStore::createCredential(const Access& access, std::string_view vault_id,
                                                std::string mcp_server_url, std::string body,
                                                std::string_view secret) {
  std::lock_guard lock(impl_->mu);
  Result<Document> vault = impl_->documentLocked(DocKind::kVault, access, vault_id);
  if (!vault) return vault.error();
  if (vault->archived_at_ms) {
    return Error::invalid("Vault '" + std::string(vault_id) + "' is archived", "vault_id");
  }
  Result<const VaultCipher*> cipher = impl_->vaultCipher();
  if (!cipher) return cipher.error();
  Credential c;
  c.id = randomId("vcrd_");
  c.vault_id = std::string(vault_id);
  c.owner_id = vault->owner_id;
  c.mcp_server_url = std::move(mcp_server_url);
  c.body = std::move(body);
  c.created_at_ms = c.updated_at_ms = nowMs();
  Result<std::string> sealed = (*cipher)->seal(secret, c.id);
  if (!sealed) return sealed.error();
  Result<Stmt> st = impl_->db.prepare(
      "INSERT INTO agent_vault_credentials (id, vault_id, mcp_server_url, body, secret, "
      "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)");
  if (!st) return st.error();
  st->bind(1, c.id).bind(2, vault_id);
  if (c.mcp_server_url.empty()) {
    st->bindNull(3);
  } else {
    st->bind(3, c.mcp_server_url);
  }
  st->bind(4, c.body)
      .bindBlob(5, sealed->data(), sealed->size())
      .bind(6, c.created_at_ms)
      .bind(7, c.updated_at_ms);
  if (Result<void> r = st->run("create credential"); !r) {
    if (isUniqueViolation(r.error())) return duplicateUrl(c.mcp_server_url);
    return r.error();
  }
  return c;
}

Result<Credential> AgentStore::getCredential(const Access& access, std::string_view vault_id,
                                             std::string_view id) {
  std::lock_guard lock(impl_->mu);
  return credentialLocked(impl_->db, access, vault_id, id);
}

Result<Credential> AgentStore::updateCredential(const Access& access, std::string_view vault_id,
                                                std::string_view id, std::string body,
                                                std::optional<std::string_view> secret) {
  std::lock_guard lock(impl_->mu);
  Result<Credential> c = credentialLocked(impl_->db, access, vault_id, id);
  if (!c) return c.error();
  c->body = std::move(body);
  c->updated_at_ms = nowMs();
  std::string sealed;
  if (secret) {
    Result<const VaultCipher*> cipher = impl_->vaultCipher();
    if (!cipher) return cipher.error();
    Result<std::string> s = (*cipher)->seal(*secret, c->id);
    if (!s) return s.error();
    sealed = std::move(*s);
  }
  Result<Stmt> st = impl_->db.prepare(
      secret
          ? "UPDATE agent_vault_credentials SET body = ?, updated_at = ?, secret = ? WHERE id = ?"
          : "UPDATE agent_vault_credentials SET body = ?, updated_at = ? WHERE id = ?");
  if (!st) return st.error();
  int i = 1;
  st->bind(i++, c->body);
  st->bind(i++, c->updated_at_ms);
  if (secret) st->bindBlob(i++, sealed.data(), sealed.size());
  st->bind(i++, id);
  if (Result<void> r = st->run("update credential"); !r) return r.error();
  return c;
}

Result<Credential> AgentStore::archiveCredential(const Access& access, std::string_view vault_id,
                                                 std::string_view id) {
  std::lock_guard lock(impl_->mu);
  Result<Credential> c = credentialLocked(impl_->db, access, vault_id, id);
  if (!c) return c.error();
  if (c->archived_at_ms) return c;
  c->archived_at_ms = c->updated_at_ms = nowMs();
  Result<Stmt> st = impl_->db.prepare(
      "UPDATE agent_vault_credentials SET archived_at = ?, updated_at = ? WHERE id = ?");
  if (!st) return st.error();
  st->bind(1, *c->archived_at_ms).bind(2, c->updated_at_ms).bind(3, id);
  if (Result<void> r = st->run("archive credential"); !r) return r.error();
  return c;
}

Result<void> AgentStore::deleteCredential(const Access& access, std::string_view vault_id,
                                          std::string_view id) {
  std::lock_guard lock(impl_->mu);
  Result<Credential> c = credentialLocked(impl_->db, access, vault_id, id);
  if (!c) return c.error();
  Result<Stmt> st = impl_->db.prepare("DELETE FROM agent_vault_credentials WHERE id = ?");
  if (!st) return st.error();
  st->bind(1, id);
  return st->run("delete credential");
}

Result<Page<Credential>> AgentStore::listCredentials(const Access& access,
                                                     std::string_view vault_id,
                                                     const ListOptions& options) {
  ListOptions o = options;
  o.limit = std::clamp(o.limit, 1, 100);
  std::lock_guard lock(impl_->mu);
  if (Result<Document> v = impl_->documentLocked(DocKind::kVault, access, vault_id); !v) {
    return v.error();
  }
  Args args;
  args.add(vault_id);
  std::string sql = std::string("SELECT ") + kCredCols +
                    " FROM agent_vault_credentials c JOIN agent_vaults v ON v.id = c.vault_id "
                    "WHERE c.vault_id = ?";
  if (!o.include_archived) sql += " AND c.archived_at IS NULL";
  if (!o.page.empty()) {
    Result<std::int64_t> pos = decodeCursor(o.page);
    if (!pos) return pos.error();
    sql += " AND c.rowid < ?";
    args.add(*pos);
  }
  sql += " ORDER BY c.rowid DESC LIMIT " + std::to_string(o.limit + 1);
  Result<Stmt> st = impl_->db.prepare(sql);
  if (!st) return st.error();
  args.bindTo(*st);
  Page<Credential> page;
  std::int64_t last = 0;
  int rc = 0;
  while ((rc = st->step()) == SQLITE_ROW) {
    if (static_cast<int>(page.items.size()) == o.limit) {
      page.next_page = encodeCursor(last);
      break;
    }
    last = st->i64(0);
    page.items.push_back(readCredential(*st));
  }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
    return storage::sqliteError(impl_->db.get(), rc, "list credentials");
  }
  return page;
}

Result<std::string> AgentStore::credentialSecret(const Access& access, std::string_view vault_id,
                                                 std::string_view id) {
  std::lock_guard lock(impl_->mu);
  Result<Credential> c = credentialLocked(impl_->db, access, vault_id, id);
  if (!c) return c.error();
  Result<Stmt> st = impl_->db.prepare("SELECT secret FROM agent_vault_credentials WHERE id = ?");
  if (!st) return st.error();
  st->bind(1, id);
  if (st->step() != SQLITE_ROW) return notFound("credential", id);
  const std::string sealed(st->blobView(0));
  Result<const VaultCipher*> cipher = impl_->vaultCipher();
  if (!cipher) return cipher.error();
  return (*cipher)->open(sealed, id);
}

// ---- memories ---------------------------------------------------------------------------

Result<Memory> AgentStore::createMemory(const Access& access, std::string_view store_id,
                                        std::string_view path, std::string_view content,
                                        std::string_view actor) {
  if (Result<void> r = validatePath(path, "path"); !r) return r.error();
  if (Result<void> r = validateContent(content); !r) return r.error();
  std::lock_guard lock(impl_->mu);
  if (Result<Document> d = storeFor(*impl_, access, store_id, true); !d) return d.error();
  Transaction txn(impl_->db);
  if (Result<void> r = txn.begin(); !r) return r.error();
  Result<Memory> m = insertMemory(impl_->db, randomId("mem_"), store_id, path, content, actor);
  if (!m) return m;
  if (Result<void> r = txn.commit(); !r) return r.error();
  return m;
}

Result<Memory> AgentStore::getMemory(const Access& access, std::string_view store_id,
                                     std::string_view id) {
  std::lock_guard lock(impl_->mu);
  if (Result<Document> d = storeFor(*impl_, access, store_id, false); !d) return d.error();
  return memoryWhere(impl_->db, store_id, "id", id);
}

Result<Memory> AgentStore::getMemoryByPath(const Access& access, std::string_view store_id,
                                           std::string_view path) {
  std::lock_guard lock(impl_->mu);
  if (Result<Document> d = storeFor(*impl_, access, store_id, false); !d) return d.error();
  return memoryWhere(impl_->db, store_id, "path", path);
}

Result<Memory> AgentStore::updateMemory(const Access& access, std::string_view store_id,
                                        std::string_view id,
                                        std::optional<std::string_view> content,
                                        std::optional<std::string_view> path,
                                        std::optional<std::string_view> expected_sha256,
                                        std::string_view actor) {
  if (path) {
    if (Result<void> r = validatePath(*path, "path"); !r) return r.error();
  }
  if (content) {
    if (Result<void> r = validateContent(*content); !r) return r.error();
  }
  std::lock_guard lock(impl_->mu);
  if (Result<Document> d = storeFor(*impl_, access, store_id, true); !d) return d.error();
  Transaction txn(impl_->db);
  if (Result<void> r = txn.begin(); !r) return r.error();
  Result<Memory> m = memoryWhere(impl_->db, store_id, "id", id);
  if (!m) return m;
  if (expected_sha256 && *expected_sha256 != m->content_sha256) {
    return conflict("The memory's content_sha256 is not the expected one (changed since read)",
                    "precondition.content_sha256");
  }
  Result<Memory> out = changeMemory(impl_->db, std::move(*m), content, path, actor);
  if (!out) return out;
  if (Result<void> r = txn.commit(); !r) return r.error();
  return out;
}

Result<void> AgentStore::deleteMemory(const Access& access, std::string_view store_id,
                                      std::string_view id,
                                      std::optional<std::string_view> expected_sha256,
                                      std::string_view actor) {
  std::lock_guard lock(impl_->mu);
  if (Result<Document> d = storeFor(*impl_, access, store_id, true); !d) return d.error();
  Transaction txn(impl_->db);
  if (Result<void> r = txn.begin(); !r) return r.error();
  Result<Memory> m = memoryWhere(impl_->db, store_id, "id", id);
  if (!m) return m.error();
  if (expected_sha256 && *expected_sha256 != m->content_sha256) {
    return conflict("The memory's content_sha256 is not the expected one (changed since read)",
                    "expected_content_sha256");
  }
  Result<std::string> ver =
      addVersion(impl_->db, store_id, id, "deleted", m->path, std::nullopt, actor, nowMs());
  if (!ver) return ver.error();
  Result<Stmt> st = impl_->db.prepare("DELETE FROM agent_memories WHERE id = ?");
  if (!st) return st.error();
  st->bind(1, id);
  if (Result<void> r = st->run("delete memory"); !r) return r.error();
  return txn.commit();
}

Result<Page<MemoryListItem>> AgentStore::listMemories(const Access& access,
                                                      std::string_view store_id,
                                                      const MemoryListOptions& options) {
  const int limit = std::clamp(options.limit, 1, 100);
  std::size_t start = 0;
  if (!options.page.empty()) {
    Result<std::int64_t> pos = decodeCursor(options.page);
    if (!pos) return pos.error();
    start = static_cast<std::size_t>(*pos);
  }
  std::vector<MemoryListItem> all;
  {
    std::lock_guard lock(impl_->mu);
    if (Result<Document> d = storeFor(*impl_, access, store_id, false); !d) return d.error();
    // substr compare instead of LIKE: paths may contain % and _.
    Result<Stmt> st = impl_->db.prepare(std::string("SELECT ") + kMemoryCols +
                                        " FROM agent_memories WHERE store_id = ? AND "
                                        "substr(path, 1, ?) = ? ORDER BY path");
    if (!st) return st.error();
    st->bind(1, store_id)
        .bind(2, static_cast<std::int64_t>(options.path_prefix.size()))
        .bind(3, options.path_prefix);
    std::set<std::string> prefixes;
    int rc = 0;
    while ((rc = st->step()) == SQLITE_ROW) {
      Memory m = readMemory(*st);
      if (options.depth) {
        // A memory k segments below the prefix is listed when k <= depth; deeper ones roll up
        // into one "prefix + first depth segments + /" entry.
        const std::string_view rest = std::string_view(m.path).substr(options.path_prefix.size());
        const std::size_t lead = !rest.empty() && rest.front() == '/' ? 1 : 0;
        const int depth = std::max(*options.depth, 1);
        int segs = 0;
        std::size_t cut = std::string_view::npos;
        for (std::size_t i = lead; i < rest.size(); ++i) {
          if (rest[i] == '/' && ++segs == depth) {
            cut = i;
            break;
          }
        }
        if (cut != std::string_view::npos) {
          std::string prefix = options.path_prefix + std::string(rest.substr(0, cut + 1));
          if (prefixes.insert(prefix).second) {
            MemoryListItem item;
            item.is_prefix = true;
            item.prefix = std::move(prefix);
            all.push_back(std::move(item));
          }
          continue;
        }
      }
      MemoryListItem item;
      item.memory = std::move(m);
      all.push_back(std::move(item));
    }
    if (rc != SQLITE_DONE) return storage::sqliteError(impl_->db.get(), rc, "list memories");
  }
  Page<MemoryListItem> page;
  for (std::size_t i = start; i < all.size(); ++i) {
    if (static_cast<int>(page.items.size()) == limit) {
      page.next_page = encodeCursor(static_cast<std::int64_t>(i));
      break;
    }
    page.items.push_back(std::move(all[i]));
  }
  return page;
}

Result<Page<MemoryVersion>> AgentStore::listMemoryVersions(const Access& access,
                                                           std::string_view store_id,
                                                           const ListOptions& options,
                                                           const VersionFilter& filter) {
  const int limit = std::clamp(options.limit, 1, 100);
  std::lock_guard lock(impl_->mu);
  if (Result<Document> d = storeFor(*impl_, access, store_id, false); !d) return d.error();
  Args args;
  args.add(store_id);
  std::string sql =
      std::string("SELECT ") + kVersionCols + " FROM agent_memory_versions WHERE store_id = ?";
  if (!filter.memory_id.empty()) {
    sql += " AND memory_id = ?";
    args.add(filter.memory_id);
  }
  if (!filter.operation.empty()) {
    sql += " AND operation = ?";
    args.add(filter.operation);
  }
  if (options.created_gte_ms) {
    sql += " AND created_at >= ?";
    args.add(*options.created_gte_ms);
  }
  if (options.created_lte_ms) {
    sql += " AND created_at <= ?";
    args.add(*options.created_lte_ms);
  }
  if (!options.page.empty()) {
    Result<std::int64_t> pos = decodeCursor(options.page);
    if (!pos) return pos.error();
    sql += " AND rowid < ?";
    args.add(*pos);
  }
  sql += " ORDER BY rowid DESC LIMIT " + std::to_string(limit + 1);
  Result<Stmt> st = impl_->db.prepare(sql);
  if (!st) return st.error();
  args.bindTo(*st);
  Page<MemoryVersion> page;
  std::int64_t last = 0;
  int rc = 0;
  while ((rc = st->step()) == SQLITE_ROW) {
    if (static_cast<int>(page.items.size()) == limit) {
      page.next_page = encodeCursor(last);
      break;
    }
    last = st->i64(0);
    page.items.push_back(readVersion(*st));
  }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
    return storage::sqliteError(impl_->db.get(), rc, "list memory versions");
  }
  return page;
}

Result<MemoryVersion> AgentStore::getMemoryVersion(const Access& access, std::string_view store_id,
                                                   std::string_view id) {
  std::lock_guard lock(impl_->mu);
  if (Result<Document> d = storeFor(*impl_, access, store_id, false); !d) return d.error();
  return versionLocked(impl_->db, store_id, id);
}

Result<Memory> AgentStore::restoreMemoryVersion(const Access& access, std::string_view store_id,
                                                std::string_view id, std::string_view actor) {
  std::lock_guard lock(impl_->mu);
  if (Result<Document> d = storeFor(*impl_, access, store_id, true); !d) return d.error();
  Transaction txn(impl_->db);
  if (Result<void> r = txn.begin(); !r) return r.error();
  Result<MemoryVersion> v = versionLocked(impl_->db, store_id, id);
  if (!v) return v.error();
  if (!v->content) {
    return Error::invalid("Memory version '" + std::string(id) + "' has no content to restore (" +
                              (v->redacted_at_ms ? "redacted" : "a deletion") + ")",
                          "memory_version_id");
  }
  Result<Memory> current = memoryWhere(impl_->db, store_id, "id", v->memory_id);
  Result<Memory> out =
      current ? changeMemory(impl_->db, std::move(*current), std::string_view(*v->content),
                             std::nullopt, actor)
              : insertMemory(impl_->db, v->memory_id, store_id, v->path, *v->content, actor);
  if (!out) return out;
  if (Result<void> r = txn.commit(); !r) return r.error();
  return out;
}

Result<MemoryVersion> AgentStore::redactMemoryVersion(const Access& access,
                                                      std::string_view store_id,
                                                      std::string_view id) {
  std::lock_guard lock(impl_->mu);
  if (Result<Document> d = storeFor(*impl_, access, store_id, true); !d) return d.error();
  Result<MemoryVersion> v = versionLocked(impl_->db, store_id, id);
  if (!v) return v;
  if (v->redacted_at_ms) return v;
  const std::int64_t now = nowMs();
  Result<Stmt> st = impl_->db.prepare(
      "UPDATE agent_memory_versions SET content = NULL, redacted_at = ? WHERE id = ?");
  if (!st) return st.error();
  st->bind(1, now).bind(2, id);
  if (Result<void> r = st->run("redact memory version"); !r) return r.error();
  v->content.reset();
  v->redacted_at_ms = now;
  return v;
}

}  // namespace basalt::agents
