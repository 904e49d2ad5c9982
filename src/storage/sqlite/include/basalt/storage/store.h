#pragma once
/// SQLite-backed store of principals, groups, keys, policies, attachments and quotas: the
/// typed CRUD the admin API calls, and `loadSnapshot()` for the request path. The audit chain
/// shares the database file but has its own writer (`SqliteAuditSink`) and reader (`AuditLog`).
///
/// Thread-safe (one connection behind a mutex: admin traffic is rare, and the request path
/// reads snapshots, never the store). Every call returns a Result; a full, read-only or
/// failing disk is an Error of kind kUpstreamUnavailable (code "storage_full",
/// "storage_read_only", "storage_io_error", "storage_busy") so callers fail closed with 503.
/// Names are validated like AWS IAM names (1-128 of [A-Za-z0-9+=,.@_-]); a duplicate is
/// kInvalidRequest with code "already_exists", an unknown name kNotFound.

#include "basalt/core/error.h"
#include "basalt/storage/records.h"

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace basalt::storage {

class Db;

/// The database path for a `storage.url`: "sqlite:PATH" gives PATH; an empty url gives
/// DATA_DIR/basalt.db. Any other scheme is an error naming the url (postgresql is not
/// implemented yet).
Result<std::string> sqlitePathFromUrl(std::string_view url, std::string_view data_dir);

class Store {
 public:
  /// Opens (creating if missing) the database at `path` and migrates it to the latest schema;
  /// refuses a database with a newer schema than this binary knows.
  static Result<std::unique_ptr<Store>> open(const std::string& path);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Principals and groups.
  Result<Principal> createPrincipal(std::string_view name, PrincipalKind kind, Tags tags = {});
  Result<Principal> principal(std::string_view name);
  Result<Principal> principalById(std::string_view id);
  Result<std::vector<Principal>> listPrincipals();
  Result<void> setPrincipalTags(std::string_view name, Tags tags);
  /// Also deletes its keys, memberships, attachments and quotas.
  Result<void> deletePrincipal(std::string_view name);

  Result<Group> createGroup(std::string_view name);
  Result<std::vector<Group>> listGroups();
  /// Also deletes its memberships, attachments and quotas.
  Result<void> deleteGroup(std::string_view name);
  /// Adds a principal to a group, creating the group when it does not exist yet.
  Result<void> addToGroup(std::string_view group, std::string_view principal_name);
  Result<void> removeFromGroup(std::string_view group, std::string_view principal_name);

  // Keys (the principal must exist; key ids are unique across both kinds).
  Result<void> addApiKey(ApiKey key);
  Result<void> addAccessKey(AccessKey key);
  /// Revokes an API key or access key by id; revoking twice keeps the first time. kNotFound
  /// when neither kind has that id.
  Result<void> revokeKey(std::string_view key_id);
  Result<std::vector<ApiKey>> listApiKeys();
  Result<std::vector<AccessKey>> listAccessKeys();

  // Policies and attachments.
  /// Creates or replaces (attachments survive a replace).
  Result<void> putPolicy(std::string_view name, std::string_view document);
  Result<Policy> policy(std::string_view name);
  Result<std::vector<Policy>> listPolicies();
  /// Also detaches it everywhere.
  Result<void> deletePolicy(std::string_view name);
  /// A principal or group by name (as `basalt policy attach POLICY NAME` takes it). kNotFound
  /// when neither exists; kInvalidRequest (code "ambiguous_name") when both do.
  Result<Subject> resolveSubject(std::string_view name);
  /// Attaching twice is not an error.
  Result<void> attachPolicy(std::string_view policy, const Subject& subject);
  Result<void> detachPolicy(std::string_view policy, const Subject& subject);
  Result<std::vector<Attachment>> listAttachments();

  // Quotas.
  /// Creates or replaces the quota for (subject, model). Limits must be >= 0.
  Result<void> setQuota(const Quota& quota);
  Result<void> deleteQuota(const Subject& subject, std::string_view model);
  Result<std::vector<Quota>> listQuotas();

  /// Everything the request path needs, consistent as of one moment.
  Result<std::shared_ptr<const Snapshot>> loadSnapshot();
  /// Moves (persistently, across processes) on every change made through any Store on this
  /// database. Cheap (one indexed read): poll it and reload the snapshot when it moved.
  Result<std::uint64_t> changeCounter();

 private:
  explicit Store(std::unique_ptr<Db> db);
  template <class Fn>
  Result<void> mutate(Fn&& fn);
  Result<Principal> readPrincipal(std::string_view column, std::string_view value);
  Result<std::string> principalIdLocked(std::string_view name);

  std::mutex mu_;
  std::unique_ptr<Db> db_;
};

}  // namespace basalt::storage
