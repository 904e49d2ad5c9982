#pragma once
/// The perimeter: who is calling (identity), may they (IAM policy), how much (quota), and what
/// they did (audit). It composes the identity, policy, quota, audit and storage modules behind
/// two questions the pipeline and the admin API ask of every request:
///
///   authenticate(request)            -> Caller or 401
///   authorize(caller, action, resource, request) -> Decision (403 on deny)
///
/// State lives in an immutable `DirectoryState` (keys, principals, compiled policies, quota
/// rules) built from a storage snapshot and swapped atomically by `refresh()`, so a revocation
/// takes effect on every thread at once and the request path never touches SQLite.

#include "basalt/core/error.h"
#include "basalt/core/exchange.h"
#include "basalt/policy/evaluator.h"

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace basalt::storage {
class Store;
struct Snapshot;
}

namespace basalt::perimeter {

/// An authenticated caller.
struct Caller {
  std::string principal_id;  ///< "root" for the bootstrap admin
  std::string name;          ///< aws:username
  std::string kind;          ///< user | service | agent | root
  std::vector<std::string> groups;
  std::vector<std::pair<std::string, std::string>> tags;
  std::string key_id;        ///< API key id or SigV4 access key id (never a secret)
  std::string auth;          ///< "api_key" | "bearer" | "sigv4"
  bool root = false;         ///< the bootstrap admin: every action is allowed
};

/// The outcome of authorize(): the decision and what decided it, for the audit record.
struct AuthzResult {
  bool allowed = false;
  std::string effect;     ///< "Allow" | "ExplicitDeny" | "ImplicitDeny" | "Root"
  std::string policy;     ///< deciding policy name (empty for implicit deny / root)
  int statement = -1;     ///< deciding statement index
};

struct DirectoryState;

class Perimeter {
 public:
  /// `pepper` keys the API-key digests; `root_key_digest` is hashApiKey(pepper, root key) of
  /// the bootstrap admin key (which may be any string); `region` names model ARNs.
  Perimeter(storage::Store& store, std::string pepper, std::string root_key_digest,
            std::string region);
  ~Perimeter();

  /// Reloads keys, principals, policies and quota rules from the store and swaps them in.
  /// Call after every admin change. Fails (keeping the old state) when the store fails.
  Result<void> refresh();

  /// Called by refresh() with each new snapshot (the composition root configures the quota
  /// ledger from it). Set before serving.
  void setRefreshListener(std::function<void(const storage::Snapshot&)> listener);

  /// Identifies the caller from `Authorization: Bearer`, `x-api-key` or SigV4.
  /// Errors: kUnauthenticated (401) with an OpenAI-style code ("invalid_api_key"), or, for
  /// SigV4, kPermissionDenied/kUnauthenticated with `code` set to AWS's error code.
  Result<Caller> authenticate(const HttpRequest& request) const;

  /// The caller a principal acts as when no request carries its credential (a managed-agent
  /// session running as its creator): name, kind, groups and tags from the current directory,
  /// `auth` = "session". "root" is the bootstrap admin. kNotFound when the principal is gone
  /// (deleted since), so its sessions stop acting for it.
  Result<Caller> callerFor(std::string_view principal_id) const;

  /// IAM evaluation of `action` on `resource` for `caller` with the request's condition keys
  /// (aws:username, aws:SourceIp, aws:SecureTransport, aws:CurrentTime, aws:PrincipalTag/...).
  AuthzResult authorize(const Caller& caller, std::string_view action, std::string_view resource,
                        const HttpRequest& request) const;

  /// authenticate + authorize in one step for admin endpoints (`basalt:*` actions on
  /// `arn:basalt:::*`-style resources); Error 401/403 in the usual kinds when refused.
  Result<Caller> authorizeAdmin(const HttpRequest& request, std::string_view action) const;

  /// `arn:aws:bedrock:REGION::foundation-model/MODEL`
  std::string modelArn(std::string_view model) const;

  const std::string& region() const { return region_; }

 private:
  std::shared_ptr<const DirectoryState> state() const;

  storage::Store& store_;
  std::string pepper_;
  std::string root_key_digest_;
  std::string region_;
  std::shared_ptr<const DirectoryState> state_;  ///< read/written with std::atomic_load/store
  std::function<void(const storage::Snapshot&)> on_refresh_;
};

}  // namespace basalt::perimeter
