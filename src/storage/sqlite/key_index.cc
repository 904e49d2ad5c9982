#include "basalt/storage/key_index.h"

namespace basalt::storage {

KeyIndex::KeyIndex(std::shared_ptr<const Snapshot> snapshot) : snapshot_(std::move(snapshot)) {
  api_port_.self = this;
  access_port_.self = this;
  // Keys are string_views into the snapshot, which this index keeps alive.
  api_keys_.reserve(snapshot_->api_keys.size());
  for (const ApiKey& k : snapshot_->api_keys) api_keys_.emplace(k.key_id, &k);
  access_keys_.reserve(snapshot_->access_keys.size());
  for (const AccessKey& k : snapshot_->access_keys) access_keys_.emplace(k.access_key_id, &k);
}

std::optional<identity::ApiKeyRecord> KeyIndex::findApiKey(std::string_view key_id) const {
  const auto it = api_keys_.find(key_id);
  if (it == api_keys_.end()) return std::nullopt;
  const ApiKey& k = *it->second;
  return identity::ApiKeyRecord{k.key_id, k.digest, k.principal_id, k.expires_at,
                                k.revoked_at.has_value()};
}

std::optional<identity::AccessKeyRecord> KeyIndex::findAccessKey(
    std::string_view access_key_id) const {
  const auto it = access_keys_.find(access_key_id);
  if (it == access_keys_.end()) return std::nullopt;
  const AccessKey& k = *it->second;
  return identity::AccessKeyRecord{k.access_key_id, k.secret, k.principal_id, k.expires_at,
                                   k.revoked_at.has_value()};
}

}  // namespace basalt::storage
