#pragma once
/// The plain records Basalt keeps about who may do what: principals, groups, keys, policies,
/// attachments, quotas. No JSON or SQL types; `Store` reads and writes them.

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace basalt::storage {

using Timestamp = std::chrono::system_clock::time_point;

enum class PrincipalKind : std::uint8_t { kUser, kService, kAgent };

/// "user" | "service" | "agent".
std::string_view principalKindName(PrincipalKind kind);
std::optional<PrincipalKind> parsePrincipalKind(std::string_view name);

/// Principal tags (`aws:PrincipalTag/KEY`), sorted by key, keys unique.
using Tags = std::vector<std::pair<std::string, std::string>>;

struct Principal {
  std::string id;    ///< "prn_" + 20 random characters; stable across renames
  std::string name;  ///< unique; `aws:username`
  PrincipalKind kind = PrincipalKind::kUser;
  Tags tags;
  Timestamp created_at{};
  std::vector<std::string> groups;  ///< names of the groups it belongs to, sorted
};

struct Group {
  std::string name;
  Timestamp created_at{};
  std::vector<std::string> member_ids;  ///< principal ids, sorted
};

/// An API key as stored: never the key, only HMAC-SHA256(pepper, key) (identity::hashApiKey).
struct ApiKey {
  std::string key_id;
  std::array<unsigned char, 32> digest{};
  std::string principal_id;
  Timestamp created_at{};  ///< set by the store when left at the epoch
  std::optional<Timestamp> expires_at;
  std::optional<Timestamp> revoked_at;
};

/// A SigV4 access key. The secret is stored as is: SigV4 verification needs it.
struct AccessKey {
  std::string access_key_id;
  std::string secret;
  std::string principal_id;
  Timestamp created_at{};
  std::optional<Timestamp> expires_at;
  std::optional<Timestamp> revoked_at;
};

struct Policy {
  std::string name;
  std::string document;  ///< the IAM JSON document as submitted (validated by the caller)
  Timestamp updated_at{};
};

enum class SubjectKind : std::uint8_t { kPrincipal, kGroup };

/// Who a policy or quota applies to.
struct Subject {
  SubjectKind kind = SubjectKind::kPrincipal;
  std::string id;  ///< a principal id, or a group name

  friend bool operator==(const Subject&, const Subject&) = default;
};

struct Attachment {
  std::string policy;
  Subject subject;
};

/// Limits for a subject, on one model or (model empty) on all. Unset = unlimited.
struct Quota {
  Subject subject;
  std::string model;
  std::optional<std::int64_t> rpm;
  std::optional<std::int64_t> tpm;
  std::optional<std::int64_t> concurrency;
};

/// Everything the request path needs, read in one transaction: an immutable, consistent view.
/// Vectors are sorted by their natural key (principal name, group name, key id, policy name,
/// (policy, subject), (subject, model)).
struct Snapshot {
  std::uint64_t change_counter = 0;  ///< the Store::changeCounter() this view reflects
  std::vector<Principal> principals;
  std::vector<Group> groups;
  std::vector<ApiKey> api_keys;
  std::vector<AccessKey> access_keys;
  std::vector<Policy> policies;
  std::vector<Attachment> attachments;
  std::vector<Quota> quotas;
};

}  // namespace basalt::storage
