#include "basalt/storage/store.h"

#include "basalt/core/ids.h"
#include "sqlite_db.h"

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <map>
#include <unordered_map>

namespace basalt::storage {
namespace {

std::int64_t toMs(Timestamp t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

Timestamp fromMs(std::int64_t ms) {
  return Timestamp(std::chrono::milliseconds(ms));
}

std::optional<std::int64_t> toMs(const std::optional<Timestamp>& t) {
  if (!t) return std::nullopt;
  return toMs(*t);
}

std::optional<Timestamp> fromMs(std::optional<std::int64_t> ms) {
  if (!ms) return std::nullopt;
  return fromMs(*ms);
}

Timestamp now() {
  // Millisecond precision, like what is stored, so a returned record equals a re-read one.
  return fromMs(toMs(std::chrono::system_clock::now()));
}

constexpr std::size_t kMaxNameLength = 128;
constexpr std::size_t kMaxTags = 50;
constexpr std::size_t kMaxTagKey = 128;
constexpr std::size_t kMaxTagValue = 256;
constexpr std::size_t kMaxModelLength = 256;

Result<void> checkName(std::string_view what, std::string_view name) {
  const auto ok_char = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '=' || c == ',' || c == '.' || c == '@' || c == '_' || c == '-';
  };
  if (name.empty() || name.size() > kMaxNameLength ||
      !std::all_of(name.begin(), name.end(), ok_char)) {
    return Error::invalid(
        std::string(what) + " name must be 1-128 characters of " + "[A-Za-z0-9+=,.@_-]",
        std::string(what), "invalid_name");
  }
  return {};
}

Result<void> checkTags(const Tags& tags) {
  if (tags.size() > kMaxTags) return Error::invalid("at most 50 tags", "tags", "invalid_tags");
  for (std::size_t i = 0; i < tags.size(); ++i) {
    const auto& [k, v] = tags[i];
    if (k.empty() || k.size() > kMaxTagKey || v.size() > kMaxTagValue) {
      return Error::invalid("tag keys must be 1-128 bytes and values at most 256", "tags",
                            "invalid_tags");
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (tags[j].first == k)
        return Error::invalid("duplicate tag key " + k, "tags", "invalid_tags");
    }
  }
  return {};
}

std::string tagsToJson(const Tags& tags) {
  boost::json::object obj;
  for (const auto& [k, v] : tags) obj[k] = v;
  return boost::json::serialize(obj);
}

Tags tagsFromJson(std::string_view text) {
  Tags tags;
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(text, ec);
  if (ec || !v.is_object()) return tags;
  for (const auto& kv : v.get_object()) {
    if (kv.value().is_string()) {
      tags.emplace_back(std::string(kv.key()), std::string(kv.value().get_string()));
    }
  }
  std::sort(tags.begin(), tags.end());
  return tags;
}

std::string_view subjectKindName(SubjectKind k) {
  return k == SubjectKind::kGroup ? "group" : "principal";
}

SubjectKind parseSubjectKind(std::string_view s) {
  return s == "group" ? SubjectKind::kGroup : SubjectKind::kPrincipal;
}

Result<void> checkLimit(std::string_view name, const std::optional<std::int64_t>& v) {
  if (v && *v < 0) {
    return Error::invalid(std::string(name) + " must be >= 0", std::string(name), "invalid_quota");
  }
  return {};
}

Error notFound(std::string_view what, std::string_view name) {
  return Error::notFound(std::string(what) + " " + std::string(name) + " does not exist",
                         "not_found");
}

template <class T>
Result<T> noRow(Stmt& st, int rc, std::string_view what, std::string_view name) {
  if (rc == SQLITE_DONE) return notFound(what, name);
  return sqliteError(st.db(), rc, "read " + std::string(what));
}

constexpr std::string_view kPrincipalColumns = "id, name, kind, tags, created_at";

Principal principalFromRow(const Stmt& st) {
  Principal p;
  p.id = st.text(0);
  p.name = st.text(1);
  p.kind = parsePrincipalKind(st.textView(2)).value_or(PrincipalKind::kUser);
  p.tags = tagsFromJson(st.textView(3));
  p.created_at = fromMs(st.i64(4));
  return p;
}

ApiKey apiKeyFromRow(const Stmt& st) {
  ApiKey k;
  k.key_id = st.text(0);
  const std::string_view digest = st.blobView(1);
  std::copy_n(digest.begin(), std::min(digest.size(), k.digest.size()), k.digest.begin());
  k.principal_id = st.text(2);
  k.created_at = fromMs(st.i64(3));
  k.expires_at = fromMs(st.optI64(4));
  k.revoked_at = fromMs(st.optI64(5));
  return k;
}

AccessKey accessKeyFromRow(const Stmt& st) {
  AccessKey k;
  k.access_key_id = st.text(0);
  k.secret = st.text(1);
  k.principal_id = st.text(2);
  k.created_at = fromMs(st.i64(3));
  k.expires_at = fromMs(st.optI64(4));
  k.revoked_at = fromMs(st.optI64(5));
  return k;
}

// Reads every row of `sql` with `fn(stmt)`.
template <class Fn>
Result<void> forEachRow(Db& db, std::string_view sql, Fn&& fn) {
  auto st = db.prepare(sql);
  if (!st) return st.error();
  for (;;) {
    const int rc = st->step();
    if (rc == SQLITE_DONE) return {};
    if (rc != SQLITE_ROW) return sqliteError(db.get(), rc, "read");
    fn(*st);
  }
}

// The unlocked readers shared by the list calls and loadSnapshot.
Result<std::vector<Principal>> readPrincipals(Db& db) {
  std::vector<Principal> out;
  std::unordered_map<std::string, std::size_t> by_id;
  auto r = forEachRow(db, "SELECT id, name, kind, tags, created_at FROM principals ORDER BY name",
                      [&](const Stmt& st) {
                        out.push_back(principalFromRow(st));
                        by_id.emplace(out.back().id, out.size() - 1);
                      });
  if (!r) return r.error();
  r = forEachRow(db, "SELECT group_name, principal_id FROM group_members ORDER BY group_name",
                 [&](const Stmt& st) {
                   auto it = by_id.find(std::string(st.textView(1)));
                   if (it != by_id.end()) out[it->second].groups.push_back(st.text(0));
                 });
  if (!r) return r.error();
  return out;
}

Result<std::vector<Group>> readGroups(Db& db) {
  std::vector<Group> out;
  std::map<std::string, std::size_t, std::less<>> by_name;
  auto r = forEachRow(db, "SELECT name, created_at FROM groups ORDER BY name", [&](const Stmt& st) {
    out.push_back(Group{st.text(0), fromMs(st.i64(1)), {}});
    by_name.emplace(out.back().name, out.size() - 1);
  });
  if (!r) return r.error();
  r = forEachRow(db, "SELECT group_name, principal_id FROM group_members ORDER BY principal_id",
                 [&](const Stmt& st) {
                   auto it = by_name.find(st.textView(0));
                   if (it != by_name.end()) out[it->second].member_ids.push_back(st.text(1));
                 });
  if (!r) return r.error();
  return out;
}

Result<std::vector<ApiKey>> readApiKeys(Db& db) {
  std::vector<ApiKey> out;
  auto r = forEachRow(db,
                      "SELECT key_id, digest, principal_id, created_at, expires_at, revoked_at "
                      "FROM api_keys ORDER BY key_id",
                      [&](const Stmt& st) { out.push_back(apiKeyFromRow(st)); });
  if (!r) return r.error();
  return out;
}

Result<std::vector<AccessKey>> readAccessKeys(Db& db) {
  std::vector<AccessKey> out;
  auto r = forEachRow(db,
                      "SELECT access_key_id, secret, principal_id, created_at, expires_at, "
                      "revoked_at FROM access_keys ORDER BY access_key_id",
                      [&](const Stmt& st) { out.push_back(accessKeyFromRow(st)); });
  if (!r) return r.error();
  return out;
}

Result<std::vector<Policy>> readPolicies(Db& db) {
  std::vector<Policy> out;
  auto r = forEachRow(db, "SELECT name, document, updated_at FROM policies ORDER BY name",
                      [&](const Stmt& st) {
                        out.push_back(Policy{st.text(0), st.text(1), fromMs(st.i64(2))});
                      });
  if (!r) return r.error();
  return out;
}

Result<std::vector<Attachment>> readAttachments(Db& db) {
  std::vector<Attachment> out;
  auto r = forEachRow(db,
                      "SELECT policy_name, subject_kind, subject FROM attachments "
                      "ORDER BY policy_name, subject_kind, subject",
                      [&](const Stmt& st) {
                        out.push_back(Attachment{
                            st.text(0), Subject{parseSubjectKind(st.textView(1)), st.text(2)}});
                      });
  if (!r) return r.error();
  return out;
}

Result<std::vector<Quota>> readQuotas(Db& db) {
  std::vector<Quota> out;
  auto r = forEachRow(db,
                      "SELECT subject_kind, subject, model, rpm, tpm, concurrency FROM quotas "
                      "ORDER BY subject_kind, subject, model",
                      [&](const Stmt& st) {
                        out.push_back(Quota{Subject{parseSubjectKind(st.textView(0)), st.text(1)},
                                            st.text(2), st.optI64(3), st.optI64(4), st.optI64(5)});
                      });
  if (!r) return r.error();
  return out;
}

Result<std::uint64_t> readCounter(Db& db) {
  auto st = db.prepare("SELECT value FROM meta WHERE key = 'change_counter'");
  if (!st) return st.error();
  const int rc = st->step();
  if (rc == SQLITE_DONE) return std::uint64_t{0};
  if (rc != SQLITE_ROW) return sqliteError(db.get(), rc, "read change counter");
  return static_cast<std::uint64_t>(st->i64(0));
}

// Runs one statement with text parameters; `changed` (when given) receives the row count.
Result<void> execute(Db& db, std::string_view sql, std::initializer_list<std::string_view> args,
                     int* changed = nullptr) {
  auto st = db.prepare(sql);
  if (!st) return st.error();
  int i = 1;
  for (std::string_view a : args) st->bind(i++, a);
  if (auto r = st->run("write"); !r) return r.error();
  if (changed != nullptr) *changed = sqlite3_changes(db.get());
  return {};
}

}  // namespace

std::string_view principalKindName(PrincipalKind kind) {
  switch (kind) {
    case PrincipalKind::kUser:
      return "user";
    case PrincipalKind::kService:
      return "service";
    case PrincipalKind::kAgent:
      return "agent";
  }
  return "user";
}

std::optional<PrincipalKind> parsePrincipalKind(std::string_view name) {
  if (name == "user") return PrincipalKind::kUser;
  if (name == "service") return PrincipalKind::kService;
  if (name == "agent") return PrincipalKind::kAgent;
  return std::nullopt;
}

Result<std::string> sqlitePathFromUrl(std::string_view url, std::string_view data_dir) {
  if (url.empty()) {
    std::string path(data_dir.empty() ? std::string_view(".") : data_dir);
    if (path.back() != '/') path += '/';
    return path + "basalt.db";
  }
  constexpr std::string_view kScheme = "sqlite:";
  if (url.substr(0, kScheme.size()) == kScheme && url.size() > kScheme.size()) {
    std::string_view path = url.substr(kScheme.size());
    // Accept the URI-ish spelling sqlite://PATH as well.
    if (path.substr(0, 2) == "//") path.remove_prefix(2);
    if (!path.empty()) return std::string(path);
  }
  return Error::invalid(
      "storage.url: unsupported url \"" + std::string(url) + "\" (expected sqlite:PATH)",
      "storage.url", "invalid_storage_url");
}

Store::Store(std::unique_ptr<Db> db) : db_(std::move(db)) {}
Store::~Store() = default;

Result<std::unique_ptr<Store>> Store::open(const std::string& path) {
  auto db = Db::open(path, OpenOptions{}, builtinMigrations());
  if (!db) return db.error();
  return std::unique_ptr<Store>(new Store(std::make_unique<Db>(std::move(*db))));
}

template <class Fn>
Result<void> Store::mutate(Fn&& fn) {
  Transaction txn(*db_);
  if (auto r = txn.begin(); !r) return r.error();
  if (Result<void> r = fn(); !r) return r.error();
  if (auto r = db_->exec("UPDATE meta SET value = value + 1 WHERE key = 'change_counter'",
                         "bump change counter");
      !r) {
    return r.error();
  }
  return txn.commit();
}

Result<std::string> Store::principalIdLocked(std::string_view name) {
  auto st = db_->prepare("SELECT id FROM principals WHERE name = ?");
  if (!st) return st.error();
  st->bind(1, name);
  const int rc = st->step();
  if (rc == SQLITE_ROW) return st->text(0);
  return noRow<std::string>(*st, rc, "principal", name);
}

Result<Principal> Store::readPrincipal(std::string_view column, std::string_view value) {
  auto st = db_->prepare("SELECT " + std::string(kPrincipalColumns) + " FROM principals WHERE " +
                         std::string(column) + " = ?");
  if (!st) return st.error();
  st->bind(1, value);
  const int rc = st->step();
  if (rc != SQLITE_ROW) return noRow<Principal>(*st, rc, "principal", value);
  Principal p = principalFromRow(*st);
  auto groups = db_->prepare(
      "SELECT group_name FROM group_members WHERE principal_id = ? ORDER BY group_name");
  if (!groups) return groups.error();
  groups->bind(1, p.id);
  for (int g = groups->step(); g != SQLITE_DONE; g = groups->step()) {
    if (g != SQLITE_ROW) return sqliteError(db_->get(), g, "read groups");
    p.groups.push_back(groups->text(0));
  }
  return p;
}

Result<Principal> Store::createPrincipal(std::string_view name, PrincipalKind kind, Tags tags) {
  if (auto r = checkName("principal", name); !r) return r.error();
  if (auto r = checkTags(tags); !r) return r.error();
  std::sort(tags.begin(), tags.end());
  Principal p{randomId("prn_", 20), std::string(name), kind, std::move(tags), now(), {}};
  std::lock_guard lock(mu_);
  auto r = mutate([&]() -> Result<void> {
    auto st = db_->prepare(
        "INSERT INTO principals (id, name, kind, tags, created_at) VALUES (?, ?, ?, ?, ?)");
    if (!st) return st.error();
    st->bind(1, p.id).bind(2, p.name).bind(3, principalKindName(kind)).bind(4, tagsToJson(p.tags));
    st->bind(5, toMs(p.created_at));
    return st->run("create principal " + p.name);
  });
  if (!r) return r.error();
  return p;
}

Result<Principal> Store::principal(std::string_view name) {
  std::lock_guard lock(mu_);
  return readPrincipal("name", name);
}

Result<Principal> Store::principalById(std::string_view id) {
  std::lock_guard lock(mu_);
  return readPrincipal("id", id);
}

Result<std::vector<Principal>> Store::listPrincipals() {
  std::lock_guard lock(mu_);
  return readPrincipals(*db_);
}

Result<void> Store::setPrincipalTags(std::string_view name, Tags tags) {
  if (auto r = checkTags(tags); !r) return r.error();
  std::sort(tags.begin(), tags.end());
  std::lock_guard lock(mu_);
  return mutate([&]() -> Result<void> {
    int changed = 0;
    if (auto r = execute(*db_, "UPDATE principals SET tags = ? WHERE name = ?",
                         {tagsToJson(tags), name}, &changed);
        !r) {
      return r;
    }
    if (changed == 0) return notFound("principal", name);
    return {};
  });
}

Result<void> Store::deletePrincipal(std::string_view name) {
  std::lock_guard lock(mu_);
  return mutate([&]() -> Result<void> {
    auto id = principalIdLocked(name);
    if (!id) return id.error();
    for (const char* sql :
         {"DELETE FROM attachments WHERE subject_kind = 'principal' AND subject = ?",
          "DELETE FROM quotas WHERE subject_kind = 'principal' AND subject = ?",
          "DELETE FROM principals WHERE id = ?"}) {
      if (auto r = execute(*db_, sql, {*id}); !r) return r;
    }
    return {};
  });
}

Result<Group> Store::createGroup(std::string_view name) {
  if (auto r = checkName("group", name); !r) return r.error();
  Group g{std::string(name), now(), {}};
  std::lock_guard lock(mu_);
  auto r = mutate([&]() -> Result<void> {
    auto st = db_->prepare("INSERT INTO groups (name, created_at) VALUES (?, ?)");
    if (!st) return st.error();
    st->bind(1, g.name).bind(2, toMs(g.created_at));
    return st->run("create group " + g.name);
  });
  if (!r) return r.error();
  return g;
}

Result<std::vector<Group>> Store::listGroups() {
  std::lock_guard lock(mu_);
  return readGroups(*db_);
}

Result<void> Store::deleteGroup(std::string_view name) {
  std::lock_guard lock(mu_);
  return mutate([&]() -> Result<void> {
    int changed = 0;
    for (const char* sql : {"DELETE FROM attachments WHERE subject_kind = 'group' AND subject = ?",
                            "DELETE FROM quotas WHERE subject_kind = 'group' AND subject = ?",
                            "DELETE FROM groups WHERE name = ?"}) {
      if (auto r = execute(*db_, sql, {name}, &changed); !r) return r;
    }
    if (changed == 0) return notFound("group", name);
    return {};
  });
}

Result<void> Store::addToGroup(std::string_view group, std::string_view principal_name) {
  if (auto r = checkName("group", group); !r) return r.error();
  std::lock_guard lock(mu_);
  return mutate([&]() -> Result<void> {
    auto id = principalIdLocked(principal_name);
    if (!id) return id.error();
    auto st = db_->prepare("INSERT OR IGNORE INTO groups (name, created_at) VALUES (?, ?)");
    if (!st) return st.error();
    st->bind(1, group).bind(2, toMs(now()));
    if (auto r = st->run("create group"); !r) return r;
    return execute(*db_,
                   "INSERT OR IGNORE INTO group_members (group_name, principal_id) VALUES (?, ?)",
                   {group, *id});
  });
}

Result<void> Store::removeFromGroup(std::string_view group, std::string_view principal_name) {
  std::lock_guard lock(mu_);
  return mutate([&]() -> Result<void> {
    auto id = principalIdLocked(principal_name);
    if (!id) return id.error();
    int changed = 0;
    if (auto r =
            execute(*db_, "DELETE FROM group_members WHERE group_name = ? AND principal_id = ?",
                    {group, *id}, &changed);
        !r) {
      return r;
    }
    if (changed == 0) {
      return notFound("membership of " + std::string(principal_name) + " in group", group);
    }
    return {};
  });
}

Result<void> Store::addApiKey(ApiKey key) {
  if (key.key_id.empty()) return Error::invalid("empty key id", "key_id");
  if (key.created_at == Timestamp{}) key.created_at = now();
  std::lock_guard lock(mu_);
  return mutate([&]() -> Result<void> {
    int clash = 0;
    // A no-op update that reports whether the id is taken by the other kind.
    if (auto r = execute(*db_, "UPDATE access_keys SET secret = secret WHERE access_key_id = ?",
                         {key.key_id}, &clash);
        !r) {
      return r;
    }
    if (clash != 0) {
      return Error::invalid("key id " + key.key_id + " already exists", "key_id", "already_exists");
    }
    auto st = db_->prepare(
        "INSERT INTO api_keys (key_id, digest, principal_id, created_at, expires_at, revoked_at) "
        "VALUES (?, ?, ?, ?, ?, ?)");
    if (!st) return st.error();
    st->bind(1, key.key_id).bindBlob(2, key.digest.data(), key.digest.size());
    st->bind(3, key.principal_id).bind(4, toMs(key.created_at)).bind(5, toMs(key.expires_at));
    st->bind(6, toMs(key.revoked_at));
    return st->run("create api key");
  });
}

Result<void> Store::addAccessKey(AccessKey key) {
  if (key.access_key_id.empty() || key.secret.empty()) {
    return Error::invalid("empty access key id or secret", "access_key_id");
  }
  if (key.created_at == Timestamp{}) key.created_at = now();
  std::lock_guard lock(mu_);
  return mutate([&]() -> Result<void> {
    int clash = 0;
    if (auto r = execute(*db_, "UPDATE api_keys SET key_id = key_id WHERE key_id = ?",
                         {key.access_key_id}, &clash);
        !r) {
      return r;
    }
    if (clash != 0) {
      return Error::invalid("key id " + key.access_key_id + " already exists", "key_id",
                            "already_exists");
    }
    auto st = db_->prepare(
        "INSERT INTO access_keys (access_key_id, secret, principal_id, created_at, expires_at, "
        "revoked_at) VALUES (?, ?, ?, ?, ?, ?)");
    if (!st) return st.error();
    st->bind(1, key.access_key_id).bind(2, key.secret).bind(3, key.principal_id);
    st->bind(4, toMs(key.created_at)).bind(5, toMs(key.expires_at)).bind(6, toMs(key.revoked_at));
    return st->run("create access key");
  });
}

Result<void> Store::revokeKey(std::string_view key_id) {
  std::lock_guard lock(mu_);
  const std::string at = std::to_string(toMs(now()));
  return mutate([&]() -> Result<void> {
    int api = 0;
    int access = 0;
    if (auto r =
            execute(*db_,
                    "UPDATE api_keys SET revoked_at = coalesce(revoked_at, CAST(? AS INTEGER)) "
                    "WHERE key_id = ?",
                    {at, key_id}, &api);
        !r) {
      return r;
    }
    if (auto r = execute(*db_,
                         "UPDATE access_keys SET revoked_at = coalesce(revoked_at, "
                         "CAST(? AS INTEGER)) WHERE access_key_id = ?",
                         {at, key_id}, &access);
        !r) {
      return r;
    }
    if (api + access == 0) return notFound("key", key_id);
    return {};
  });
}

Result<std::vector<ApiKey>> Store::listApiKeys() {
  std::lock_guard lock(mu_);
  return readApiKeys(*db_);
}

Result<std::vector<AccessKey>> Store::listAccessKeys() {
  std::lock_guard lock(mu_);
  return readAccessKeys(*db_);
}

Result<void> Store::putPolicy(std::string_view name, std::string_view document) {
  if (auto r = checkName("policy", name); !r) return r.error();
  std::lock_guard lock(mu_);
  return mutate([&]() -> Result<void> {
    auto st = db_->prepare(
        "INSERT INTO policies (name, document, updated_at) VALUES (?, ?, ?) "
        "ON CONFLICT (name) DO UPDATE SET document = excluded.document, "
        "updated_at = excluded.updated_at");
    if (!st) return st.error();
    st->bind(1, name).bind(2, document).bind(3, toMs(now()));
    return st->run("put policy");
  });
}

Result<Policy> Store::policy(std::string_view name) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare("SELECT name, document, updated_at FROM policies WHERE name = ?");
  if (!st) return st.error();
  st->bind(1, name);
  const int rc = st->step();
  if (rc != SQLITE_ROW) return noRow<Policy>(*st, rc, "policy", name);
  return Policy{st->text(0), st->text(1), fromMs(st->i64(2))};
}

Result<std::vector<Policy>> Store::listPolicies() {
  std::lock_guard lock(mu_);
  return readPolicies(*db_);
}

Result<void> Store::deletePolicy(std::string_view name) {
  std::lock_guard lock(mu_);
  return mutate([&]() -> Result<void> {
    int changed = 0;
    if (auto r = execute(*db_, "DELETE FROM policies WHERE name = ?", {name}, &changed); !r) {
      return r;
    }
    if (changed == 0) return notFound("policy", name);
    return {};
  });
}

Result<Subject> Store::resolveSubject(std::string_view name) {
  std::lock_guard lock(mu_);
  auto id = principalIdLocked(name);
  if (!id && id.error().kind != ErrorKind::kNotFound) return id.error();
  auto st = db_->prepare("SELECT 1 FROM groups WHERE name = ?");
  if (!st) return st.error();
  st->bind(1, name);
  const int rc = st->step();
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return sqliteError(db_->get(), rc, "read group");
  const bool is_group = rc == SQLITE_ROW;
  if (id && is_group) {
    return Error::invalid(std::string(name) + " names both a principal and a group", "name",
                          "ambiguous_name");
  }
  if (id) return Subject{SubjectKind::kPrincipal, *id};
  if (is_group) return Subject{SubjectKind::kGroup, std::string(name)};
  return notFound("principal or group", name);
}

Result<void> Store::attachPolicy(std::string_view policy, const Subject& subject) {
  std::lock_guard lock(mu_);
  return mutate([&]() -> Result<void> {
    // The subject must exist: no foreign key can point at either table.
    const char* exists = subject.kind == SubjectKind::kGroup
                             ? "SELECT 1 FROM groups WHERE name = ?"
                             : "SELECT 1 FROM principals WHERE id = ?";
    auto st = db_->prepare(exists);
    if (!st) return st.error();
    st->bind(1, subject.id);
    const int rc = st->step();
    if (rc != SQLITE_ROW) return noRow<void>(*st, rc, subjectKindName(subject.kind), subject.id);
    auto pol = db_->prepare("SELECT 1 FROM policies WHERE name = ?");
    if (!pol) return pol.error();
    pol->bind(1, policy);
    const int prc = pol->step();
    if (prc != SQLITE_ROW) return noRow<void>(*pol, prc, "policy", policy);
    return execute(*db_,
                   "INSERT OR IGNORE INTO attachments (policy_name, subject_kind, subject) "
                   "VALUES (?, ?, ?)",
                   {policy, subjectKindName(subject.kind), subject.id});
  });
}

Result<void> Store::detachPolicy(std::string_view policy, const Subject& subject) {
  std::lock_guard lock(mu_);
  return mutate([&]() -> Result<void> {
    int changed = 0;
    if (auto r = execute(*db_,
                         "DELETE FROM attachments WHERE policy_name = ? AND subject_kind = ? "
                         "AND subject = ?",
                         {policy, subjectKindName(subject.kind), subject.id}, &changed);
        !r) {
      return r;
    }
    if (changed == 0) return notFound("attachment of policy", policy);
    return {};
  });
}

Result<std::vector<Attachment>> Store::listAttachments() {
  std::lock_guard lock(mu_);
  return readAttachments(*db_);
}

Result<void> Store::setQuota(const Quota& q) {
  for (const auto& [name, v] : {std::pair{"rpm", q.rpm}, std::pair{"tpm", q.tpm},
                                std::pair{"concurrency", q.concurrency}}) {
    if (auto r = checkLimit(name, v); !r) return r;
  }
  if (q.model.size() > kMaxModelLength) return Error::invalid("model name too long", "model");
  std::lock_guard lock(mu_);
  return mutate([&]() -> Result<void> {
    auto st = db_->prepare(
        "INSERT INTO quotas (subject_kind, subject, model, rpm, tpm, concurrency) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (subject_kind, subject, model) DO UPDATE SET "
        "rpm = excluded.rpm, tpm = excluded.tpm, concurrency = excluded.concurrency");
    if (!st) return st.error();
    st->bind(1, subjectKindName(q.subject.kind)).bind(2, q.subject.id).bind(3, q.model);
    st->bind(4, q.rpm).bind(5, q.tpm).bind(6, q.concurrency);
    return st->run("set quota");
  });
}

Result<void> Store::deleteQuota(const Subject& subject, std::string_view model) {
  std::lock_guard lock(mu_);
  return mutate([&]() -> Result<void> {
    int changed = 0;
    if (auto r =
            execute(*db_, "DELETE FROM quotas WHERE subject_kind = ? AND subject = ? AND model = ?",
                    {subjectKindName(subject.kind), subject.id, model}, &changed);
        !r) {
      return r;
    }
    if (changed == 0) return notFound("quota for", subject.id);
    return {};
  });
}

Result<std::vector<Quota>> Store::listQuotas() {
  std::lock_guard lock(mu_);
  return readQuotas(*db_);
}

Result<std::shared_ptr<const Snapshot>> Store::loadSnapshot() {
  std::lock_guard lock(mu_);
  // A read transaction: every table is read as of the same commit.
  if (auto r = db_->exec("BEGIN", "begin snapshot"); !r) return r.error();
  struct EndRead {
    Db& db;
    ~EndRead() { sqlite3_exec(db.get(), "COMMIT", nullptr, nullptr, nullptr); }
  } end_read{*db_};

  auto snap = std::make_shared<Snapshot>();
  auto counter = readCounter(*db_);
  if (!counter) return counter.error();
  snap->change_counter = *counter;
  auto principals = readPrincipals(*db_);
  if (!principals) return principals.error();
  snap->principals = std::move(*principals);
  auto groups = readGroups(*db_);
  if (!groups) return groups.error();
  snap->groups = std::move(*groups);
  auto api_keys = readApiKeys(*db_);
  if (!api_keys) return api_keys.error();
  snap->api_keys = std::move(*api_keys);
  auto access_keys = readAccessKeys(*db_);
  if (!access_keys) return access_keys.error();
  snap->access_keys = std::move(*access_keys);
  auto policies = readPolicies(*db_);
  if (!policies) return policies.error();
  snap->policies = std::move(*policies);
  auto attachments = readAttachments(*db_);
  if (!attachments) return attachments.error();
  snap->attachments = std::move(*attachments);
  auto quotas = readQuotas(*db_);
  if (!quotas) return quotas.error();
  snap->quotas = std::move(*quotas);
  return std::shared_ptr<const Snapshot>(std::move(snap));
}

Result<std::uint64_t> Store::changeCounter() {
  std::lock_guard lock(mu_);
  return readCounter(*db_);
}

}  // namespace basalt::storage
