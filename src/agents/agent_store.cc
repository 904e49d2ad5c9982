#include "basalt/agents/agent_store.h"

#include "store_impl.h"

#include "basalt/core/ids.h"
#include "basalt/storage/migrations.h"

#include <openssl/sha.h>

#include <chrono>
#include <set>
#include <utility>

namespace basalt::agents {

using storage::Db;
using storage::Stmt;
using storage::Transaction;

// ---- shared helpers (store_impl.h) ------------------------------------------------------

std::int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void Args::bindTo(Stmt& st) const {
  int i = 1;
  for (const auto& v : values) {
    if (const auto* s = std::get_if<std::string>(&v)) {
      st.bind(i++, std::string_view(*s));
    } else {
      st.bind(i++, std::get<std::int64_t>(v));
    }
  }
}

std::string ownerClause(const Access& access, Args& args, std::string_view col) {
  if (access.root) return {};
  args.add(access.principal_id);
  return " AND " + std::string(col) + " = ?";
}

std::string encodeCursor(std::int64_t position) {
  return "page_" + std::to_string(position);
}

Result<std::int64_t> decodeCursor(std::string_view page) {
  constexpr std::string_view kPrefix = "page_";
  if (page.substr(0, kPrefix.size()) != kPrefix || page.size() == kPrefix.size() ||
      page.size() > kPrefix.size() + 18) {
    return Error::invalid("'page' is not a cursor this server issued", "page");
  }
  std::int64_t v = 0;
  for (char c : page.substr(kPrefix.size())) {
    if (c < '0' || c > '9')
      return Error::invalid("'page' is not a cursor this server issued", "page");
    v = v * 10 + (c - '0');
  }
  return v;
}

Error conflict(std::string message, std::string param) {
  return Error{ErrorKind::kInvalidRequest, std::move(message), std::move(param),
               std::string(kConflictCode)};
}

std::string sha256Hex(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return hexEncode(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

std::string_view statusName(SessionStatus status) {
  switch (status) {
    case SessionStatus::kIdle:
      return "idle";
    case SessionStatus::kRunning:
      return "running";
    case SessionStatus::kRescheduling:
      return "rescheduling";
    case SessionStatus::kTerminated:
      return "terminated";
  }
  return "idle";
}

std::optional<SessionStatus> parseStatus(std::string_view name) {
  if (name == "idle") return SessionStatus::kIdle;
  if (name == "running") return SessionStatus::kRunning;
  if (name == "rescheduling") return SessionStatus::kRescheduling;
  if (name == "terminated") return SessionStatus::kTerminated;
  return std::nullopt;
}

Result<const VaultCipher*> AgentStore::Impl::vaultCipher() {
  if (!cipher) {
    Result<VaultCipher> loaded = VaultCipher::load(vault_key_path);
    if (!loaded) return loaded.error();
    cipher.emplace(std::move(*loaded));
  }
  return &*cipher;
}

namespace {

const char* table(DocKind kind) {
  switch (kind) {
    case DocKind::kEnvironment:
      return "agent_environments";
    case DocKind::kVault:
      return "agent_vaults";
    case DocKind::kMemoryStore:
      return "agent_memory_stores";
  }
  return "agent_environments";
}

const char* idPrefix(DocKind kind) {
  switch (kind) {
    case DocKind::kEnvironment:
      return "env_";
    case DocKind::kVault:
      return "vlt_";
    case DocKind::kMemoryStore:
      return "memstore_";
  }
  return "env_";
}

const char* kindLabel(DocKind kind) {
  switch (kind) {
    case DocKind::kEnvironment:
      return "environment";
    case DocKind::kVault:
      return "vault";
    case DocKind::kMemoryStore:
      return "memory store";
  }
  return "resource";
}

Error notFound(std::string_view what, std::string_view id) {
  return Error::notFound("No " + std::string(what) + " with id '" + std::string(id) + "'",
                         "not_found");
}

void clampLimit(int& limit, int max) {
  if (limit < 1) limit = 1;
  if (limit > max) limit = max;
}

/// Appends the created_at range and the cursor to a listing query over a table with rowid.
Result<std::string> listTail(const ListOptions& o, Args& args, std::string_view rowid_col,
                             std::string_view created_col) {
  std::string sql;
  if (o.created_gte_ms) {
    sql += " AND " + std::string(created_col) + " >= ?";
    args.add(*o.created_gte_ms);
  }
  if (o.created_lte_ms) {
    sql += " AND " + std::string(created_col) + " <= ?";
    args.add(*o.created_lte_ms);
  }
  if (!o.page.empty()) {
    Result<std::int64_t> pos = decodeCursor(o.page);
    if (!pos) return pos.error();
    sql += " AND " + std::string(rowid_col) + (o.ascending ? " > ?" : " < ?");
    args.add(*pos);
  }
  sql += " ORDER BY " + std::string(rowid_col) + (o.ascending ? " ASC" : " DESC");
  sql += " LIMIT " + std::to_string(o.limit + 1);
  return sql;
}

constexpr const char* kDocCols = "rowid, id, owner_id, body, created_at, updated_at, archived_at";

Document readDocument(DocKind kind, const Stmt& st) {
  Document d;
  d.kind = kind;
  d.id = st.text(1);
  d.owner_id = st.text(2);
  d.body = st.text(3);
  d.created_at_ms = st.i64(4);
  d.updated_at_ms = st.i64(5);
  d.archived_at_ms = st.optI64(6);
  return d;
}

constexpr const char* kAgentCols =
    "a.rowid, a.id, a.owner_id, v.version, a.latest_version, v.body, a.created_at, "
    "v.created_at, a.archived_at";

AgentVersion readAgent(const Stmt& st) {
  AgentVersion a;
  a.id = st.text(1);
  a.owner_id = st.text(2);
  a.version = static_cast<int>(st.i64(3));
  a.latest_version = static_cast<int>(st.i64(4));
  a.body = st.text(5);
  a.created_at_ms = st.i64(6);
  a.updated_at_ms = st.i64(7);
  a.archived_at_ms = st.optI64(8);
  return a;
}

constexpr const char* kSessionCols =
    "rowid, id, owner_id, run_as, agent_id, agent_version, environment_id, status, stop_reason, "
    "body, usage, stats, last_seq, lease_holder, lease_expires_at, created_at, updated_at, "
    "archived_at";

Session readSession(const Stmt& st) {
  Session s;
  s.id = st.text(1);
  s.owner_id = st.text(2);
  s.run_as = st.text(3);
  s.agent_id = st.text(4);
  s.agent_version = static_cast<int>(st.i64(5));
  s.environment_id = st.text(6);
  s.status = parseStatus(st.textView(7)).value_or(SessionStatus::kIdle);
  if (!st.isNull(8)) s.stop_reason = st.text(8);
  s.body = st.text(9);
  s.usage = st.text(10);
  s.stats = st.text(11);
  s.last_seq = st.i64(12);
  if (!st.isNull(13)) s.lease_holder = st.text(13);
  s.lease_expires_at_ms = st.optI64(14);
  s.created_at_ms = st.i64(15);
  s.updated_at_ms = st.i64(16);
  s.archived_at_ms = st.optI64(17);
  return s;
}

constexpr const char* kEventCols =
    "session_id, seq, id, type, ref_id, payload, created_at, processed_at";

SessionEvent readEvent(const Stmt& st) {
  SessionEvent e;
  e.session_id = st.text(0);
  e.seq = st.i64(1);
  e.id = st.text(2);
  e.type = st.text(3);
  if (!st.isNull(4)) e.ref_id = st.text(4);
  e.payload = st.text(5);
  e.created_at_ms = st.i64(6);
  e.processed_at_ms = st.optI64(7);
  return e;
}

/// Runs a listing query whose first column is the cursor position; fills next_page.
template <class T, class Read>
Result<Page<T>> runPage(Db& db, const std::string& sql, const Args& args, int limit, Read read) {
  Result<Stmt> st = db.prepare(sql);
  if (!st) return st.error();
  args.bindTo(*st);
  Page<T> page;
  std::int64_t last_pos = 0;
  int rc = 0;
  while ((rc = st->step()) == SQLITE_ROW) {
    if (static_cast<int>(page.items.size()) == limit) {
      page.next_page = encodeCursor(last_pos);
      break;
    }
    last_pos = st->i64(0);
    page.items.push_back(read(*st));
  }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return storage::sqliteError(db.get(), rc, "list");
  return page;
}

Result<Session> sessionLocked(Db& db, const Access& access, std::string_view id) {
  Args args;
  args.add(id);
  const std::string sql = std::string("SELECT ") + kSessionCols +
                          " FROM agent_sessions WHERE id = ?" + ownerClause(access, args);
  Result<Stmt> st = db.prepare(sql);
  if (!st) return st.error();
  args.bindTo(*st);
  const int rc = st->step();
  if (rc == SQLITE_DONE) return notFound("session", id);
  if (rc != SQLITE_ROW) return storage::sqliteError(db.get(), rc, "read session");
  return readSession(*st);
}

Result<AgentVersion> agentLocked(Db& db, const Access& access, std::string_view id,
                                 std::optional<int> version) {
  Args args;
  args.add(id);
  std::string sql = std::string("SELECT ") + kAgentCols +
                    " FROM agent_agents a JOIN agent_agent_versions v ON v.agent_id = a.id "
                    "WHERE a.id = ?" +
                    ownerClause(access, args, "a.owner_id");
  if (version) {
    sql += " AND v.version = ?";
    args.add(static_cast<std::int64_t>(*version));
  } else {
    sql += " AND v.version = a.latest_version";
  }
  Result<Stmt> st = db.prepare(sql);
  if (!st) return st.error();
  args.bindTo(*st);
  const int rc = st->step();
  if (rc == SQLITE_DONE) {
    if (version) {
      return Error::notFound(
          "Agent '" + std::string(id) + "' has no version " + std::to_string(*version),
          "not_found");
    }
    return notFound("agent", id);
  }
  if (rc != SQLITE_ROW) return storage::sqliteError(db.get(), rc, "read agent");
  return readAgent(*st);
}

/// Appends events (and a status change) to a session inside the caller's transaction.
Result<std::vector<SessionEvent>> appendLocked(Db& db, std::string_view session_id,
                                               const std::vector<NewEvent>& events,
                                               const std::optional<StatusChange>& status) {
  Result<Stmt> cur = db.prepare("SELECT last_seq FROM agent_sessions WHERE id = ?");
  if (!cur) return cur.error();
  cur->bind(1, session_id);
  const int rc = cur->step();
  if (rc == SQLITE_DONE) return notFound("session", session_id);
  if (rc != SQLITE_ROW) return storage::sqliteError(db.get(), rc, "read session");
  std::int64_t seq = cur->i64(0);

  const std::int64_t now = nowMs();
  std::vector<SessionEvent> out;
  out.reserve(events.size());
  Result<Stmt> ins = db.prepare(
      "INSERT INTO agent_session_events (session_id, seq, id, type, ref_id, payload, created_at, "
      "processed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  if (!ins) return ins.error();
  for (const NewEvent& ev : events) {
    SessionEvent e;
    e.session_id = std::string(session_id);
    e.seq = ++seq;
    e.id = randomId("sevt_");
    e.type = ev.type;
    e.ref_id = ev.ref_id;
    e.payload = ev.payload.empty() ? "{}" : ev.payload;
    e.created_at_ms = now;
    if (ev.processed) e.processed_at_ms = now;
    ins->reset();
    ins->bind(1, session_id).bind(2, e.seq).bind(3, e.id).bind(4, e.type);
    if (e.ref_id.empty()) {
      ins->bindNull(5);
    } else {
      ins->bind(5, e.ref_id);
    }
    ins->bind(6, e.payload).bind(7, now).bind(8, e.processed_at_ms);
    if (Result<void> r = ins->run("append event"); !r) return r.error();
    out.push_back(std::move(e));
  }

  std::string sql = "UPDATE agent_sessions SET last_seq = ?, updated_at = ?";
  if (status) sql += ", status = ?, stop_reason = ?";
  sql += " WHERE id = ?";
  Result<Stmt> up = db.prepare(sql);
  if (!up) return up.error();
  int i = 1;
  up->bind(i++, seq);
  up->bind(i++, now);
  if (status) {
    up->bind(i++, statusName(status->status));
    if (status->stop_reason.empty()) {
      up->bindNull(i++);
    } else {
      up->bind(i++, std::string_view(status->stop_reason));
    }
  }
  up->bind(i++, session_id);
  if (Result<void> r = up->run("update session"); !r) return r.error();
  return out;
}

}  // namespace

Result<Document> AgentStore::Impl::documentLocked(DocKind kind, const Access& access,
                                                  std::string_view id) {
  Args args;
  args.add(id);
  const std::string sql = std::string("SELECT ") + kDocCols + " FROM " + table(kind) +
                          " WHERE id = ?" + ownerClause(access, args);
  Result<Stmt> st = db.prepare(sql);
  if (!st) return st.error();
  args.bindTo(*st);
  const int rc = st->step();
  if (rc == SQLITE_DONE) return notFound(kindLabel(kind), id);
  if (rc != SQLITE_ROW) return storage::sqliteError(db.get(), rc, "read");
  return readDocument(kind, *st);
}

// ---- lifecycle ----------------------------------------------------------------------------

AgentStore::AgentStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AgentStore::~AgentStore() = default;

Result<std::unique_ptr<AgentStore>> AgentStore::open(const std::string& db_path,
                                                     const std::string& vault_key_path) {
  Result<Db> db = Db::open(db_path, storage::OpenOptions{}, storage::builtinMigrations());
  if (!db) return db.error();
  auto impl = std::make_unique<Impl>();
  impl->db = std::move(*db);
  impl->vault_key_path = vault_key_path;
  return std::unique_ptr<AgentStore>(new AgentStore(std::move(impl)));
}

void AgentStore::setAppendListener(std::function<void(const std::string&, std::int64_t)> listener) {
  std::lock_guard lock(impl_->mu);
  impl_->on_append = std::move(listener);
}

// ---- documents ----------------------------------------------------------------------------

Result<Document> AgentStore::createDocument(DocKind kind, const std::string& owner_id,
                                            std::string body) {
  std::lock_guard lock(impl_->mu);
  Document d;
  d.kind = kind;
  d.id = randomId(idPrefix(kind));
  d.owner_id = owner_id;
  d.body = std::move(body);
  d.created_at_ms = d.updated_at_ms = nowMs();
  const std::string sql = std::string("INSERT INTO ") + table(kind) +
                          " (id, owner_id, body, created_at, updated_at) VALUES (?, ?, ?, ?, ?)";
  Result<Stmt> st = impl_->db.prepare(sql);
  if (!st) return st.error();
  st->bind(1, d.id)
      .bind(2, d.owner_id)
      .bind(3, d.body)
      .bind(4, d.created_at_ms)
      .bind(5, d.updated_at_ms);
  if (Result<void> r = st->run("create"); !r) return r.error();
  return d;
}

Result<Document> AgentStore::getDocument(DocKind kind, const Access& access, std::string_view id) {
  std::lock_guard lock(impl_->mu);
  return impl_->documentLocked(kind, access, id);
}

Result<Document> AgentStore::updateDocument(DocKind kind, const Access& access, std::string_view id,
                                            std::string body) {
  std::lock_guard lock(impl_->mu);
  Result<Document> d = impl_->documentLocked(kind, access, id);
  if (!d) return d.error();
  d->body = std::move(body);
  d->updated_at_ms = nowMs();
  Result<Stmt> st = impl_->db.prepare(std::string("UPDATE ") + table(kind) +
                                      " SET body = ?, updated_at = ? WHERE id = ?");
  if (!st) return st.error();
  st->bind(1, d->body).bind(2, d->updated_at_ms).bind(3, id);
  if (Result<void> r = st->run("update"); !r) return r.error();
  return d;
}

Result<Document> AgentStore::archiveDocument(DocKind kind, const Access& access,
                                             std::string_view id) {
  std::lock_guard lock(impl_->mu);
  Result<Document> d = impl_->documentLocked(kind, access, id);
  if (!d) return d.error();
  if (d->archived_at_ms) return d;
  d->archived_at_ms = d->updated_at_ms = nowMs();
  Result<Stmt> st = impl_->db.prepare(std::string("UPDATE ") + table(kind) +
                                      " SET archived_at = ?, updated_at = ? WHERE id = ?");
  if (!st) return st.error();
  st->bind(1, *d->archived_at_ms).bind(2, d->updated_at_ms).bind(3, id);
  if (Result<void> r = st->run("archive"); !r) return r.error();
  return d;
}

Result<void> AgentStore::deleteDocument(DocKind kind, const Access& access, std::string_view id) {
  std::lock_guard lock(impl_->mu);
  Result<Document> d = impl_->documentLocked(kind, access, id);
  if (!d) return d.error();
  Result<Stmt> st = impl_->db.prepare(std::string("DELETE FROM ") + table(kind) + " WHERE id = ?");
  if (!st) return st.error();
  st->bind(1, id);
  return st->run("delete");
}

Result<Page<Document>> AgentStore::listDocuments(DocKind kind, const Access& access,
                                                 const ListOptions& options) {
  ListOptions o = options;
  clampLimit(o.limit, 100);
  Args args;
  std::string sql = std::string("SELECT ") + kDocCols + " FROM " + table(kind) + " WHERE 1" +
                    ownerClause(access, args);
  if (!o.include_archived) sql += " AND archived_at IS NULL";
  Result<std::string> tail = listTail(o, args, "rowid", "created_at");
  if (!tail) return tail.error();
  sql += *tail;
  std::lock_guard lock(impl_->mu);
  return runPage<Document>(impl_->db, sql, args, o.limit,
                           [kind](const Stmt& st) { return readDocument(kind, st); });
}

// ---- agents -------------------------------------------------------------------------------

Result<AgentVersion> AgentStore::createAgent(const std::string& owner_id, std::string body) {
  std::lock_guard lock(impl_->mu);
  Transaction txn(impl_->db);
  if (Result<void> r = txn.begin(); !r) return r.error();
  AgentVersion a;
  a.id = randomId("agent_");
  a.owner_id = owner_id;
  a.body = std::move(body);
  a.created_at_ms = a.updated_at_ms = nowMs();
  Result<Stmt> st = impl_->db.prepare(
      "INSERT INTO agent_agents (id, owner_id, latest_version, created_at, updated_at) "
      "VALUES (?, ?, 1, ?, ?)");
  if (!st) return st.error();
  st->bind(1, a.id).bind(2, a.owner_id).bind(3, a.created_at_ms).bind(4, a.updated_at_ms);
  if (Result<void> r = st->run("create agent"); !r) return r.error();
  Result<Stmt> v = impl_->db.prepare(
      "INSERT INTO agent_agent_versions (agent_id, version, body, created_at) VALUES (?, 1, ?, ?)");
  if (!v) return v.error();
  v->bind(1, a.id).bind(2, a.body).bind(3, a.created_at_ms);
  if (Result<void> r = v->run("create agent version"); !r) return r.error();
  if (Result<void> r = txn.commit(); !r) return r.error();
  return a;
}

Result<AgentVersion> AgentStore::getAgent(const Access& access, std::string_view id,
                                          std::optional<int> version) {
  std::lock_guard lock(impl_->mu);
  return agentLocked(impl_->db, access, id, version);
}

Result<AgentVersion> AgentStore::updateAgent(const Access& access, std::string_view id,
                                             std::optional<int> expected_version,
                                             std::string body) {
  std::lock_guard lock(impl_->mu);
  Transaction txn(impl_->db);
  if (Result<void> r = txn.begin(); !r) return r.error();
  Result<AgentVersion> cur = agentLocked(impl_->db, access, id, std::nullopt);
  if (!cur) return cur.error();
  if (expected_version && *expected_version != cur->latest_version) {
    return conflict("'version' " + std::to_string(*expected_version) +
                        " is not the agent's latest version (" +
                        std::to_string(cur->latest_version) + "); fetch it and retry",
                    "version");
  }
  if (cur->archived_at_ms) return Error::invalid("Agent '" + std::string(id) + "' is archived");
  if (body == cur->body) return cur;  // nothing changed: no new version
  AgentVersion next = *cur;
  next.version = next.latest_version = cur->latest_version + 1;
  next.body = std::move(body);
  next.updated_at_ms = nowMs();
  Result<Stmt> v = impl_->db.prepare(
      "INSERT INTO agent_agent_versions (agent_id, version, body, created_at) VALUES (?, ?, ?, ?)");
  if (!v) return v.error();
  v->bind(1, id)
      .bind(2, static_cast<std::int64_t>(next.version))
      .bind(3, next.body)
      .bind(4, next.updated_at_ms);
  if (Result<void> r = v->run("add agent version"); !r) return r.error();
  Result<Stmt> a =
      impl_->db.prepare("UPDATE agent_agents SET latest_version = ?, updated_at = ? WHERE id = ?");
  if (!a) return a.error();
  a->bind(1, static_cast<std::int64_t>(next.version)).bind(2, next.updated_at_ms).bind(3, id);
  if (Result<void> r = a->run("update agent"); !r) return r.error();
  if (Result<void> r = txn.commit(); !r) return r.error();
  return next;
}

Result<AgentVersion> AgentStore::archiveAgent(const Access& access, std::string_view id) {
  std::lock_guard lock(impl_->mu);
  Result<AgentVersion> cur = agentLocked(impl_->db, access, id, std::nullopt);
  if (!cur) return cur.error();
  if (cur->archived_at_ms) return cur;
  cur->archived_at_ms = nowMs();
  Result<Stmt> st = impl_->db.prepare("UPDATE agent_agents SET archived_at = ? WHERE id = ?");
  if (!st) return st.error();
  st->bind(1, *cur->archived_at_ms).bind(2, id);
  if (Result<void> r = st->run("archive agent"); !r) return r.error();
  return cur;
}

Result<Page<AgentVersion>> AgentStore::listAgents(const Access& access,
                                                  const ListOptions& options) {
  ListOptions o = options;
  clampLimit(o.limit, 100);
  Args args;
  std::string sql = std::string("SELECT ") + kAgentCols +
                    " FROM agent_agents a JOIN agent_agent_versions v ON v.agent_id = a.id AND "
                    "v.version = a.latest_version WHERE 1" +
                    ownerClause(access, args, "a.owner_id");
  if (!o.include_archived) sql += " AND a.archived_at IS NULL";
  Result<std::string> tail = listTail(o, args, "a.rowid", "a.created_at");
  if (!tail) return tail.error();
  sql += *tail;
  std::lock_guard lock(impl_->mu);
  return runPage<AgentVersion>(impl_->db, sql, args, o.limit, readAgent);
}

Result<Page<AgentVersion>> AgentStore::listAgentVersions(const Access& access, std::string_view id,
                                                         const ListOptions& options) {
  ListOptions o = options;
  clampLimit(o.limit, 100);
  std::lock_guard lock(impl_->mu);
  if (Result<AgentVersion> a = agentLocked(impl_->db, access, id, std::nullopt); !a) {
    return a.error();
  }
  Args args;
  args.add(id);
  // The cursor position is the version number (kAgentCols' first column is replaced).
  std::string sql = std::string("SELECT v.version") + std::string(kAgentCols).substr(7) +
                    " FROM agent_agents a JOIN agent_agent_versions v ON v.agent_id = a.id "
                    "WHERE a.id = ?";
  o.created_gte_ms.reset();
  o.created_lte_ms.reset();
  Result<std::string> tail = listTail(o, args, "v.version", "v.created_at");
  if (!tail) return tail.error();
  sql += *tail;
  return runPage<AgentVersion>(impl_->db, sql, args, o.limit, readAgent);
}

// ---- sessions -----------------------------------------------------------------------------

Result<Session> AgentStore::createSession(const NewSession& ns,
                                          const std::vector<NewEvent>& initial_events) {
  std::vector<SessionEvent> appended;
  Session s;
  {
    std::lock_guard lock(impl_->mu);
    Transaction txn(impl_->db);
    if (Result<void> r = txn.begin(); !r) return r.error();
    s.id = randomId("sesn_");
    s.owner_id = ns.owner_id;
    s.run_as = ns.run_as.empty() ? ns.owner_id : ns.run_as;
    s.agent_id = ns.agent_id;
    s.agent_version = ns.agent_version;
    s.environment_id = ns.environment_id;
    s.body = ns.body.empty() ? "{}" : ns.body;
    s.created_at_ms = s.updated_at_ms = nowMs();
    Result<Stmt> st = impl_->db.prepare(
        "INSERT INTO agent_sessions (id, owner_id, run_as, agent_id, agent_version, "
        "environment_id, status, body, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, 'idle', ?, ?, ?)");
    if (!st) return st.error();
    st->bind(1, s.id)
        .bind(2, s.owner_id)
        .bind(3, s.run_as)
        .bind(4, s.agent_id)
        .bind(5, static_cast<std::int64_t>(s.agent_version))
        .bind(6, s.environment_id)
        .bind(7, s.body)
        .bind(8, s.created_at_ms)
        .bind(9, s.updated_at_ms);
    if (Result<void> r = st->run("create session"); !r) return r.error();
    if (!initial_events.empty()) {
      Result<std::vector<SessionEvent>> r =
          appendLocked(impl_->db, s.id, initial_events, std::nullopt);
      if (!r) return r.error();
      appended = std::move(*r);
      s.last_seq = appended.back().seq;
    }
    if (Result<void> r = txn.commit(); !r) return r.error();
  }
  if (!appended.empty() && impl_->on_append) impl_->on_append(s.id, s.last_seq);
  return s;
}

Result<Session> AgentStore::getSession(const Access& access, std::string_view id) {
  std::lock_guard lock(impl_->mu);
  return sessionLocked(impl_->db, access, id);
}

Result<Session> AgentStore::updateSessionBody(const Access& access, std::string_view id,
                                              std::string body) {
  std::lock_guard lock(impl_->mu);
  Result<Session> s = sessionLocked(impl_->db, access, id);
  if (!s) return s.error();
  s->body = std::move(body);
  s->updated_at_ms = nowMs();
  Result<Stmt> st =
      impl_->db.prepare("UPDATE agent_sessions SET body = ?, updated_at = ? WHERE id = ?");
  if (!st) return st.error();
  st->bind(1, s->body).bind(2, s->updated_at_ms).bind(3, id);
  if (Result<void> r = st->run("update session"); !r) return r.error();
  return s;
}

Result<Session> AgentStore::archiveSession(const Access& access, std::string_view id) {
  std::lock_guard lock(impl_->mu);
  Result<Session> s = sessionLocked(impl_->db, access, id);
  if (!s) return s.error();
  if (s->archived_at_ms) return s;
  s->archived_at_ms = s->updated_at_ms = nowMs();
  Result<Stmt> st =
      impl_->db.prepare("UPDATE agent_sessions SET archived_at = ?, updated_at = ? WHERE id = ?");
  if (!st) return st.error();
  st->bind(1, *s->archived_at_ms).bind(2, s->updated_at_ms).bind(3, id);
  if (Result<void> r = st->run("archive session"); !r) return r.error();
  return s;
}

Result<void> AgentStore::deleteSession(const Access& access, std::string_view id) {
  std::lock_guard lock(impl_->mu);
  Result<Session> s = sessionLocked(impl_->db, access, id);
  if (!s) return s.error();
  Result<Stmt> st = impl_->db.prepare("DELETE FROM agent_sessions WHERE id = ?");
  if (!st) return st.error();
  st->bind(1, id);
  return st->run("delete session");
}

Result<Page<Session>> AgentStore::listSessions(const Access& access, const ListOptions& options,
                                               const SessionFilter& filter) {
  ListOptions o = options;
  clampLimit(o.limit, 100);
  Args args;
  std::string sql = std::string("SELECT ") + kSessionCols + " FROM agent_sessions WHERE 1" +
                    ownerClause(access, args);
  if (!o.include_archived) sql += " AND archived_at IS NULL";
  if (!filter.agent_id.empty()) {
    sql += " AND agent_id = ?";
    args.add(filter.agent_id);
  }
  if (filter.agent_version) {
    sql += " AND agent_version = ?";
    args.add(static_cast<std::int64_t>(*filter.agent_version));
  }
  if (!filter.statuses.empty()) {
    sql += " AND status IN (";
    for (std::size_t i = 0; i < filter.statuses.size(); ++i) {
      sql += i == 0 ? "?" : ", ?";
      args.add(statusName(filter.statuses[i]));
    }
    sql += ")";
  }
  Result<std::string> tail = listTail(o, args, "rowid", "created_at");
  if (!tail) return tail.error();
  sql += *tail;
  std::lock_guard lock(impl_->mu);
  return runPage<Session>(impl_->db, sql, args, o.limit, readSession);
}

// ---- events -------------------------------------------------------------------------------

Result<std::vector<SessionEvent>> AgentStore::sendUserEvents(const Access& access,
                                                             std::string_view id,
                                                             const std::vector<NewEvent>& events) {
  std::vector<SessionEvent> appended;
  {
    std::lock_guard lock(impl_->mu);
    Db& db = impl_->db;
    Transaction txn(db);
    if (Result<void> r = txn.begin(); !r) return r.error();
    Result<Session> s = sessionLocked(db, access, id);
    if (!s) return s.error();
    if (s->archived_at_ms) {
      return Error::invalid("Session '" + std::string(id) + "' is archived", "session_id");
    }
    if (s->status == SessionStatus::kTerminated) {
      return Error::invalid("Session '" + std::string(id) + "' is terminated", "session_id");
    }
    std::set<std::string> answered_in_batch;
    for (std::size_t i = 0; i < events.size(); ++i) {
      const NewEvent& ev = events[i];
      const bool result = ev.type == "user.custom_tool_result";
      const bool confirmation = ev.type == "user.tool_confirmation";
      if (!result && !confirmation) continue;
      const std::string field = result ? "custom_tool_use_id" : "tool_use_id";
      const std::string param = "events[" + std::to_string(i) + "]." + field;
      if (ev.ref_id.empty()) return Error::invalid("'" + param + "' is required", param);
      Result<Stmt> st = db.prepare(
          "SELECT type, coalesce(json_extract(payload, '$.evaluated_permission'), '') "
          "FROM agent_session_events WHERE session_id = ? AND id = ?");
      if (!st) return st.error();
      st->bind(1, id).bind(2, ev.ref_id);
      const int rc = st->step();
      if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        return storage::sqliteError(db.get(), rc, "read event");
      }
      const std::string type = rc == SQLITE_ROW ? st->text(0) : std::string();
      const bool ok = result ? type == "agent.custom_tool_use"
                             : (type == "agent.tool_use" || type == "agent.mcp_tool_use") &&
                                   st->textView(1) == "ask";
      if (!ok) {
        return Error::invalid(
            "'" + param + "': " +
                (result ? "no agent.custom_tool_use event '" + ev.ref_id + "' in this session"
                        : "no tool use '" + ev.ref_id +
                              "' is awaiting confirmation in this "
                              "session"),
            param);
      }
      Result<Stmt> prior = db.prepare(
          "SELECT count(*) FROM agent_session_events WHERE session_id = ? AND ref_id = ? AND "
          "type = ?");
      if (!prior) return prior.error();
      prior->bind(1, id).bind(2, ev.ref_id).bind(3, ev.type);
      if (prior->step() != SQLITE_ROW) return storage::sqliteError(db.get(), SQLITE_ERROR, "read");
      if (prior->i64(0) > 0 || !answered_in_batch.insert(ev.type + "\n" + ev.ref_id).second) {
        return Error::invalid("'" + param + "': tool use '" + ev.ref_id + "' was already " +
                                  (result ? "answered" : "confirmed or denied"),
                              param);
      }
    }
    Result<std::vector<SessionEvent>> r = appendLocked(db, id, events, std::nullopt);
    if (!r) return r.error();
    if (Result<void> c = txn.commit(); !c) return c.error();
    appended = std::move(*r);
  }
  if (!appended.empty() && impl_->on_append) {
    impl_->on_append(std::string(id), appended.back().seq);
  }
  return appended;
}

Result<std::vector<SessionEvent>> AgentStore::appendEvents(
    std::string_view session_id, const std::vector<NewEvent>& events,
    const std::optional<StatusChange>& status) {
  std::vector<SessionEvent> appended;
  {
    std::lock_guard lock(impl_->mu);
    Transaction txn(impl_->db);
    if (Result<void> r = txn.begin(); !r) return r.error();
    Result<std::vector<SessionEvent>> r = appendLocked(impl_->db, session_id, events, status);
    if (!r) return r.error();
    if (Result<void> c = txn.commit(); !c) return c.error();
    appended = std::move(*r);
  }
  if (!appended.empty() && impl_->on_append) {
    impl_->on_append(std::string(session_id), appended.back().seq);
  }
  return appended;
}

Result<void> AgentStore::setSessionUsage(std::string_view session_id, std::string usage,
                                         std::string stats) {
  std::lock_guard lock(impl_->mu);
  Result<Stmt> st = impl_->db.prepare(
      "UPDATE agent_sessions SET usage = ?, stats = ?, updated_at = ? WHERE id = ?");
  if (!st) return st.error();
  st->bind(1, usage).bind(2, stats).bind(3, nowMs()).bind(4, session_id);
  return st->run("set session usage");
}

Result<Page<SessionEvent>> AgentStore::listEvents(const Access& access, std::string_view session_id,
                                                  const EventListOptions& options) {
  EventListOptions o = options;
  clampLimit(o.limit, 1000);
  std::lock_guard lock(impl_->mu);
  if (Result<Session> s = sessionLocked(impl_->db, access, session_id); !s) return s.error();
  Args args;
  args.add(session_id);
  std::string sql =
      std::string("SELECT seq, ") + kEventCols + " FROM agent_session_events WHERE session_id = ?";
  if (!o.types.empty()) {
    sql += " AND type IN (";
    for (std::size_t i = 0; i < o.types.size(); ++i) {
      sql += i == 0 ? "?" : ", ?";
      args.add(o.types[i]);
    }
    sql += ")";
  }
  const std::pair<const std::optional<std::int64_t>*, const char*> ranges[] = {
      {&o.created_gt_ms, " > ?"},
      {&o.created_gte_ms, " >= ?"},
      {&o.created_lt_ms, " < ?"},
      {&o.created_lte_ms, " <= ?"}};
  for (const auto& [value, op] : ranges) {
    if (*value) {
      sql += std::string(" AND created_at") + op;
      args.add(**value);
    }
  }
  if (!o.page.empty()) {
    Result<std::int64_t> pos = decodeCursor(o.page);
    if (!pos) return pos.error();
    sql += o.ascending ? " AND seq > ?" : " AND seq < ?";
    args.add(*pos);
  }
  sql += o.ascending ? " ORDER BY seq ASC" : " ORDER BY seq DESC";
  sql += " LIMIT " + std::to_string(o.limit + 1);
  return runPage<SessionEvent>(impl_->db, sql, args, o.limit, [](const Stmt& st) {
    // Columns shift by one: the cursor position comes first.
    SessionEvent e;
    e.session_id = st.text(1);
    e.seq = st.i64(2);
    e.id = st.text(3);
    e.type = st.text(4);
    if (!st.isNull(5)) e.ref_id = st.text(5);
    e.payload = st.text(6);
    e.created_at_ms = st.i64(7);
    e.processed_at_ms = st.optI64(8);
    return e;
  });
}

Result<std::vector<SessionEvent>> AgentStore::eventsAfter(std::string_view session_id,
                                                          std::int64_t after_seq, int limit) {
  std::lock_guard lock(impl_->mu);
  Result<Stmt> st = impl_->db.prepare(std::string("SELECT ") + kEventCols +
                                      " FROM agent_session_events WHERE session_id = ? AND "
                                      "seq > ? ORDER BY seq LIMIT ?");
  if (!st) return st.error();
  st->bind(1, session_id).bind(2, after_seq).bind(3, static_cast<std::int64_t>(limit));
  std::vector<SessionEvent> out;
  int rc = 0;
  while ((rc = st->step()) == SQLITE_ROW) out.push_back(readEvent(*st));
  if (rc != SQLITE_DONE) return storage::sqliteError(impl_->db.get(), rc, "read events");
  return out;
}

Result<std::int64_t> AgentStore::eventSeq(std::string_view session_id, std::string_view event_id) {
  std::lock_guard lock(impl_->mu);
  Result<Stmt> st =
      impl_->db.prepare("SELECT seq FROM agent_session_events WHERE session_id = ? AND id = ?");
  if (!st) return st.error();
  st->bind(1, session_id).bind(2, event_id);
  const int rc = st->step();
  if (rc == SQLITE_DONE) return notFound("event in this session", event_id);
  if (rc != SQLITE_ROW) return storage::sqliteError(impl_->db.get(), rc, "read event");
  return st->i64(0);
}

Result<std::vector<SessionEvent>> AgentStore::queuedEvents(std::string_view session_id) {
  std::lock_guard lock(impl_->mu);
  Result<Stmt> st = impl_->db.prepare(std::string("SELECT ") + kEventCols +
                                      " FROM agent_session_events WHERE session_id = ? AND "
                                      "processed_at IS NULL ORDER BY seq");
  if (!st) return st.error();
  st->bind(1, session_id);
  std::vector<SessionEvent> out;
  int rc = 0;
  while ((rc = st->step()) == SQLITE_ROW) out.push_back(readEvent(*st));
  if (rc != SQLITE_DONE) return storage::sqliteError(impl_->db.get(), rc, "read events");
  return out;
}

Result<void> AgentStore::markProcessed(std::string_view session_id, std::int64_t up_to_seq) {
  std::lock_guard lock(impl_->mu);
  Result<Stmt> st = impl_->db.prepare(
      "UPDATE agent_session_events SET processed_at = ? WHERE session_id = ? AND seq <= ? AND "
      "processed_at IS NULL");
  if (!st) return st.error();
  st->bind(1, nowMs()).bind(2, session_id).bind(3, up_to_seq);
  return st->run("mark events processed");
}

// ---- leases -------------------------------------------------------------------------------

Result<bool> AgentStore::claimLease(std::string_view session_id, std::string_view holder,
                                    std::chrono::milliseconds ttl) {
  std::lock_guard lock(impl_->mu);
  const std::int64_t now = nowMs();
  Result<Stmt> st = impl_->db.prepare(
      "UPDATE agent_sessions SET lease_holder = ?, lease_expires_at = ? WHERE id = ? AND "
      "(lease_holder IS NULL OR lease_holder = ? OR lease_expires_at IS NULL OR "
      "lease_expires_at <= ?)");
  if (!st) return st.error();
  st->bind(1, holder).bind(2, now + ttl.count()).bind(3, session_id).bind(4, holder).bind(5, now);
  if (Result<void> r = st->run("claim lease"); !r) return r.error();
  if (sqlite3_changes(impl_->db.get()) == 1) return true;
  if (Result<Session> s = sessionLocked(impl_->db, Access::rootAccess(), session_id); !s) {
    return s.error();
  }
  return false;
}

Result<bool> AgentStore::renewLease(std::string_view session_id, std::string_view holder,
                                    std::chrono::milliseconds ttl) {
  std::lock_guard lock(impl_->mu);
  const std::int64_t now = nowMs();
  Result<Stmt> st = impl_->db.prepare(
      "UPDATE agent_sessions SET lease_expires_at = ? WHERE id = ? AND lease_holder = ? AND "
      "lease_expires_at > ?");
  if (!st) return st.error();
  st->bind(1, now + ttl.count()).bind(2, session_id).bind(3, holder).bind(4, now);
  if (Result<void> r = st->run("renew lease"); !r) return r.error();
  return sqlite3_changes(impl_->db.get()) == 1;
}

Result<void> AgentStore::releaseLease(std::string_view session_id, std::string_view holder) {
  std::lock_guard lock(impl_->mu);
  Result<Stmt> st = impl_->db.prepare(
      "UPDATE agent_sessions SET lease_holder = NULL, lease_expires_at = NULL WHERE id = ? AND "
      "lease_holder = ?");
  if (!st) return st.error();
  st->bind(1, session_id).bind(2, holder);
  return st->run("release lease");
}

Result<std::vector<std::string>> AgentStore::sessionsWithExpiredLease() {
  std::lock_guard lock(impl_->mu);
  Result<Stmt> st = impl_->db.prepare(
      "SELECT id FROM agent_sessions WHERE status IN ('running', 'rescheduling') AND "
      "(lease_expires_at IS NULL OR lease_expires_at <= ?) ORDER BY updated_at");
  if (!st) return st.error();
  st->bind(1, nowMs());
  std::vector<std::string> out;
  int rc = 0;
  while ((rc = st->step()) == SQLITE_ROW) out.push_back(st->text(0));
  if (rc != SQLITE_DONE) return storage::sqliteError(impl_->db.get(), rc, "read sessions");
  return out;
}

}  // namespace basalt::agents
