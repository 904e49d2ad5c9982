#pragma once
/// O(1) key lookups over a Snapshot, exposed as identity's ApiKeyLookup and AccessKeyLookup
/// ports. Immutable once built, so every server thread may use it without locks; when
/// Store::changeCounter() moves, build a new one from a new snapshot and swap the shared_ptr
/// (a revocation then takes effect on every thread at the next swap).

#include "basalt/identity/api_key.h"
#include "basalt/identity/sigv4_verifier.h"
#include "basalt/storage/records.h"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace basalt::storage {

class KeyIndex {
 public:
  /// Indexes the keys of `snapshot` (and keeps it alive). A key with revoked_at set is
  /// revoked, whatever time it names.
  explicit KeyIndex(std::shared_ptr<const Snapshot> snapshot);
  KeyIndex(const KeyIndex&) = delete;
  KeyIndex& operator=(const KeyIndex&) = delete;

  std::optional<identity::ApiKeyRecord> findApiKey(std::string_view key_id) const;
  std::optional<identity::AccessKeyRecord> findAccessKey(std::string_view access_key_id) const;

  /// The identity::ApiKeyLookup port over this index (lives as long as the index).
  const identity::ApiKeyLookup& apiKeys() const { return api_port_; }
  /// The identity::AccessKeyLookup port over this index (lives as long as the index).
  const identity::AccessKeyLookup& accessKeys() const { return access_port_; }

  const Snapshot& snapshot() const { return *snapshot_; }

 private:
  struct ApiPort final : identity::ApiKeyLookup {
    const KeyIndex* self = nullptr;
    std::optional<identity::ApiKeyRecord> find(std::string_view id) const override {
      return self->findApiKey(id);
    }
  };
  struct AccessPort final : identity::AccessKeyLookup {
    const KeyIndex* self = nullptr;
    std::optional<identity::AccessKeyRecord> find(std::string_view id) const override {
      return self->findAccessKey(id);
    }
  };
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  std::shared_ptr<const Snapshot> snapshot_;
  std::unordered_map<std::string_view, const ApiKey*, Hash, std::equal_to<>> api_keys_;
  std::unordered_map<std::string_view, const AccessKey*, Hash, std::equal_to<>> access_keys_;
  ApiPort api_port_;
  AccessPort access_port_;
};

}  // namespace basalt::storage
